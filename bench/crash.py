"""Crash safety: publish a grade → `gradewatch check`/`run` in a subprocess → SIGKILL at a random point → restart.

    python bench/crash.py --cycles 120            # the README's figures
    python bench/crash.py --cycles 5 --seed 3     # what the test suite runs

Each cycle publishes one new grade at the SSFW simulator, starts gradewatch and kills it with
SIGKILL: at a random moment, right after the school's login answer (the simulator counted the
password POST; sessions are expired first so a login happens), or right after the SMTP server
accepted a mail (inside the window between 250 and the commit of "sent"). Then gradewatch is
started again and runs to completion. Every tenth cycle runs with a new wrong password (the next
cycle restores the right one). When a kill left a password attempt whose answer was never read,
the account is held (that is the point) and the bench does what the user would: `gradewatch
accounts retry` — counted.

Printed at the end: notifications expected / lost / duplicated (by Message-ID at the SMTP sink),
how many duplicates came from kills inside the 250→commit window, password POSTs beyond one per
wrong password (the simulator's own count), and whether the simulator ever locked the account.
"""

from __future__ import annotations

import argparse
import collections
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from gradewatch.grades import Grade
from gradewatch.secrets import Vault
from gradewatch.sim.server import running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import seeded_students
from gradewatch.store.db import Store

SRC = str(Path(__file__).resolve().parents[1] / "src")
PASSWORD_ENV = "GW_CRASH_PASSWORD"


class CountingSink:
    """An SMTP server that keeps (Message-ID, body, arrival time) of every mail and can fire a hook."""

    def __init__(self) -> None:
        self.mails: list[tuple[str, str, float]] = []
        self.lock = threading.Lock()
        self.on_mail: Any = None
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                raw = envelope.original_content or envelope.content or b""
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                m = re.search(r"^Message-ID:\s*(\S+)", text, re.M | re.I)
                with sink.lock:
                    sink.mails.append((m[1] if m else "?", _decoded(raw), time.monotonic()))
                hook = sink.on_mail
                if hook is not None:
                    threading.Thread(target=hook, daemon=True).start()  # the kill lands after our 250
                return "250 OK"

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            free = int(probe.getsockname()[1])
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=free)

    def __enter__(self) -> CountingSink:
        self._controller.start()
        self.port = self._controller.port
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()


def _decoded(raw: Any) -> str:
    import email
    import email.policy

    msg = email.message_from_bytes(raw if isinstance(raw, bytes) else str(raw).encode(), policy=email.policy.default)
    body = msg.get_body(preferencelist=("plain",))  # type: ignore[attr-defined]
    return f"{msg['Subject']}\n{body.get_content() if body is not None else ''}"


@dataclass
class Tally:
    cycles: int = 0
    kills: dict[str, int] = field(default_factory=lambda: collections.Counter())
    finished_before_kill: int = 0
    window_kills: int = 0  # kills while a mail was accepted by the server but not yet marked sent
    window_ids: set[str] = field(default_factory=set)
    retries: int = 0  # `gradewatch accounts retry` after a held login
    wrong_passwords: int = 0


def _config(tmp: Path, db: str, base_url: str, username: str, port: int) -> Path:
    cfg = tmp / "gradewatch.toml"
    cfg.write_text(f"""database = "{db}"
key_file = "gw.key"
interval_minutes = 0.05
jitter_minutes = 0

[schools.uni]
system = "ssfw"
base_url = "{base_url}"
requests_per_minute = 100000

[accounts.student]
school = "uni"
username = "{username}"
password_env = "{PASSWORD_ENV}"
notify = ["mailto://127.0.0.1:{port}?mode=insecure&from=gw@localhost&to=student@example.edu"]
""", encoding="utf-8")
    return cfg


def run(cycles: int, *, seed: int = 0, db: str | None = None, verbose: bool = False, wrong_every: int = 10,
        modes: list[str] | None = None) -> dict[str, Any]:
    """``modes`` fixes the kill point of each cycle in turn (default: random); every
    ``wrong_every``-th cycle runs with a new wrong password."""
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="gw-crash-"))
    db = db or f"sqlite:///{tmp / 'gw.db'}"
    records = seeded_students(seed, 1)
    demo = records[0]
    tally = Tally()
    env_base = {**os.environ, "PYTHONPATH": SRC, "OMP_WAIT_POLICY": "PASSIVE"}
    t0 = time.monotonic()
    with running(SsfwSimulator(records, seed=seed, session_ttl=3600)) as sim, CountingSink() as sink:
        cfg = _config(tmp, db, sim.base_url, demo.username, sink.port)
        student = sim.sim.students[demo.username]
        store = Store.open(db, Vault.open(tmp / "gw.key"))

        def gw(password: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
            return subprocess.run([sys.executable, "-m", "gradewatch.cli", *args, "-c", str(cfg)],
                                  env={**env_base, PASSWORD_ENV: password, "COLUMNS": "200"},
                                  capture_output=True, text=True, timeout=timeout, check=False)

        gw(demo.password, "check")  # the baseline
        duration = 3.0
        password = demo.password
        for i in range(cycles):
            tally.cycles += 1
            wrong = i % wrong_every == wrong_every - 1
            password = f"wrong-{i}-{rng.randrange(10**6)}" if wrong else demo.password
            tally.wrong_passwords += wrong
            sim.admin.publish_grade(demo.username, Grade(term="2099-2100-1", course_code=f"K{i:04d}",
                                                         course_name=f"崩溃课程{i:04d}", score=str(60 + i % 40),
                                                         credits=1.0))
            if modes:
                mode = modes[i % len(modes)]
            else:
                mode = rng.choice(["time", "login"] if wrong else ["time", "time", "login", "send"])
            if mode == "login" or wrong or rng.random() < 0.3:
                sim.admin.expire_sessions()
            command = "run" if rng.random() < 0.3 else "check"
            proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", command, "-c", str(cfg)],
                                    env={**env_base, PASSWORD_ENV: password},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            started = time.monotonic()
            fired = threading.Event()

            def kill(proc: subprocess.Popen[bytes] = proc, fired: threading.Event = fired) -> None:
                if not fired.is_set() and proc.poll() is None:
                    fired.set()
                    proc.send_signal(signal.SIGKILL)

            if mode == "send":
                sink.on_mail = lambda kill=kill: (time.sleep(rng.uniform(0, 0.01)), kill())
            posts = student.stats.login_posts
            deadline = started + (rng.uniform(0.2, duration * 1.1) if mode == "time" else 30)
            while proc.poll() is None and not fired.is_set() and time.monotonic() < deadline:
                if mode == "login" and student.stats.login_posts > posts:
                    kill()
                    break
                time.sleep(0.002)
            if mode != "send" or time.monotonic() >= deadline:
                kill()
            proc.wait(30)
            sink.on_mail = None
            if fired.is_set():
                tally.kills[mode] += 1
                pending = {m.id for m in store.messages(status="pending")}
                with sink.lock:
                    inside = [mid for mid, _, _ in sink.mails if _row_id(mid) in pending]
                if inside:
                    tally.window_kills += 1
                    tally.window_ids.update(inside)
            else:
                tally.finished_before_kill += 1
                duration = 0.8 * duration + 0.2 * (time.monotonic() - started)
            # Restart and finish, as cron or systemd would.
            gw(password, "check")
            state = store.account_state("student")
            if state.login_attempt_fp is not None and not wrong:
                tally.retries += 1  # the user confirms the (right) password once more
                gw(password, "accounts", "retry", "student")
                gw(password, "check")
            if store.messages(status="pending"):
                gw(password, "send")
            if verbose:
                print(f"cycle {i}: {mode}{' wrong' if wrong else ''} {'killed' if fired.is_set() else 'finished'}",
                      flush=True)
        # The last grades, with the right password (a wrong last cycle leaves its grade unfetched).
        gw(demo.password, "check")
        gw(demo.password, "send")
        time.sleep(0.5)
        store.close()
        stats = sim.admin.stats(demo.username)
    with sink.lock:
        ids = collections.Counter(mid for mid, _, _ in sink.mails)
        bodies = "\n".join(b for _, b, _ in sink.mails)
    lost = [i for i in range(cycles) if f"崩溃课程{i:04d}" not in bodies]
    duplicates = {mid: n - 1 for mid, n in ids.items() if n > 1}
    wrong_posts = stats["outcomes"].get("wrong_password", 0)
    return {
        "cycles": cycles,
        "kills": dict(tally.kills),
        "finished_before_kill": tally.finished_before_kill,
        "notifications_expected": cycles,
        "lost": len(lost),
        "duplicates": sum(duplicates.values()),
        "duplicates_from_250_commit_window": sum(n for mid, n in duplicates.items() if mid in tally.window_ids),
        "kills_inside_250_commit_window": tally.window_kills,
        "wrong_passwords_used": tally.wrong_passwords,
        "wrong_password_posts": wrong_posts,
        "password_posts_beyond_one_per_wrong_password": max(0, wrong_posts - tally.wrong_passwords),
        "password_posts_total": stats["login_posts"],
        "successful_logins": stats["successful_logins"],
        "held_logins_released_by_accounts_retry": tally.retries,
        "locked_at_simulator": stats["locked"],
        "seconds": round(time.monotonic() - t0, 1),
    }


def _row_id(message_id: str) -> int:
    m = re.match(r"<gradewatch-(\d+)-", message_id)
    return int(m[1]) if m else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cycles", type=int, default=120)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    result = run(args.cycles, seed=args.seed, db=args.db, verbose=args.verbose)
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
