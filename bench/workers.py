"""N `gradewatch run` workers on one database, a slow SMTP server, kill -9 of random workers.

    python bench/workers.py --db postgresql://… --workers 2 4 --accounts 200 --kills 3

For each worker count: start the workers against an SSFW simulator with ``--accounts`` students,
wait for every baseline mail, publish one new grade per student, kill -9 a random worker ``--kills``
times (each replaced by a fresh one) while they work, wait for every new-grade mail, then count
each student's grade-page fetches at the simulator over a few intervals. Prints mails expected /
delivered / duplicate (by Message-ID), lost, and checks per account per interval.
The test suite runs a small version (tests/watch/test_workers.py).
"""

from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gradewatch.grades import Grade
from gradewatch.notify.sink import SmtpSink
from gradewatch.secrets import Vault
from gradewatch.sim.server import running
from gradewatch.sim.ssfw import SsfwSimulator
from gradewatch.sim.transcripts import seeded_students
from gradewatch.store.db import Store


class SlowSink(SmtpSink):
    """The SMTP sink, answering each DATA only after ``delay`` seconds (a slow mail server)."""

    def __init__(self, delay: float) -> None:
        super().__init__(answer_delay=delay)


@dataclass
class WorkersResult:
    workers: int
    accounts: int
    kills: int
    expected: int
    delivered: int
    duplicates: int
    duplicates_from_window: int  # duplicates of mails a kill caught between the server's 250 and "sent"
    lost: int
    checks_per_interval_mean: float
    checks_per_interval_max: float
    window_intervals: float
    seconds: float

    def line(self) -> str:
        return (f"{self.workers} workers, {self.accounts} accounts, {self.kills} kill -9: mails expected "
                f"{self.expected}, delivered {self.delivered}, duplicates {self.duplicates} (from kills inside "
                f"the 250→commit window: {self.duplicates_from_window}), lost {self.lost}; "
                f"checks per account per interval mean {self.checks_per_interval_mean:.2f} "
                f"max {self.checks_per_interval_max:.2f} (over {self.window_intervals:g} intervals); "
                f"{self.seconds:.0f} s")


def _config(tmp: Path, db: str, base_url: str, sink: SmtpSink, records: list[Any], interval_min: float) -> Path:
    lines = [f'database = "{db}"', 'key_file = "gw.key"', f"interval_minutes = {interval_min}",
             "jitter_minutes = 0", "", "[schools.uni]", 'system = "ssfw"', f'base_url = "{base_url}"',
             "max_concurrency = 4", "requests_per_minute = 100000", ""]
    for r in records:
        lines += [f"[accounts.a{r.username}]", 'school = "uni"', f'username = "{r.username}"',
                  f'password = "{r.password}"', f'notify = ["{sink.url(to=f"{r.username}@example.edu")}"]', ""]
    cfg = tmp / "gradewatch.toml"
    cfg.write_text("\n".join(lines), encoding="utf-8")
    return cfg


def _wait(pred: Any, timeout: float, step: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return bool(pred())


def run_workers(db: str, *, workers: int, accounts: int, kills: int = 1, interval_s: float = 6.0,
                window_intervals: float = 3.0, smtp_delay: float = 0.3, seed: int = 0,
                timeout: float = 240.0) -> WorkersResult:
    t0 = time.monotonic()
    rng = random.Random(seed)
    records = seeded_students(seed, accounts - 1)  # the demo student and accounts - 1 others
    tmp = Path(tempfile.mkdtemp(prefix="gw-workers-"))
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_WAIT_POLICY": "PASSIVE"}
    procs: list[subprocess.Popen[bytes]] = []
    window_ids: set[str] = set()
    with running(SsfwSimulator(records, seed=seed, session_ttl=3600)) as sim, SlowSink(smtp_delay) as sink:
        cfg = _config(tmp, db, sim.base_url, sink, records, interval_s / 60)

        def start() -> None:
            procs.append(subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "run", "-c", str(cfg)], env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

        try:
            for _ in range(workers):
                start()
            if not _wait(lambda: len(sink.mails) >= accounts, timeout):
                raise RuntimeError(f"only {len(sink.mails)} of {accounts} baseline mails arrived")
            for r in records:
                sim.admin.publish_grade(r.username, Grade(term="2099-2100-1", course_code=f"N{r.username}",
                                                          course_name="新课程", score="90", credits=2.0))
            store = Store(db, Vault.open(tmp / "gw.key"))
            for _ in range(kills):
                time.sleep(rng.uniform(0.2, interval_s))
                live = [p for p in procs if p.poll() is None]
                victim = rng.choice(live)
                victim.send_signal(signal.SIGKILL)
                victim.wait(10)
                # Mails the server accepted whose row is still pending: the kill hit the 250→commit window.
                pending = {m.id for m in store.messages(status="pending")}
                with sink.lock:
                    window_ids.update(str(m.message["Message-ID"]) for m in sink.mails
                                      if _row_id(str(m.message["Message-ID"])) in pending)
                start()
            store.close()
            expected = 2 * accounts
            _wait(lambda: len(sink.mails) >= expected, timeout)
            time.sleep(1.0)  # let a late duplicate arrive, if there is one
            before = {u: s["grade_fetches"] for u, s in sim.admin.stats()["users"].items()}
            time.sleep(window_intervals * interval_s)
            after = {u: s["grade_fetches"] for u, s in sim.admin.stats()["users"].items()}
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
        ids = collections.Counter(str(m.message["Message-ID"]) for m in sink.mails)
        per = [(after[r.username] - before[r.username]) / window_intervals for r in records]
        delivered = len(ids)
        dups = {mid: n - 1 for mid, n in ids.items() if n > 1}
        return WorkersResult(workers, accounts, kills, expected, delivered, sum(dups.values()),
                             sum(n for mid, n in dups.items() if mid in window_ids), max(0, expected - delivered),
                             sum(per) / len(per), max(per), window_intervals, time.monotonic() - t0)


def _row_id(message_id: str) -> int:
    m = re.match(r"<gradewatch-(\d+)-", message_id)
    return int(m[1]) if m else -1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", required=True, help="an empty PostgreSQL database URL (or sqlite:///file)")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--accounts", type=int, default=200)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--interval", type=float, default=20.0, help="check interval in seconds")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for each batch of mails")
    ap.add_argument("--smtp-delay", type=float, default=0.5, help="seconds the SMTP server takes to answer DATA")
    ap.add_argument("--json", type=Path, help="also write the results here as JSON")
    args = ap.parse_args()
    results = []
    for n in args.workers:
        res = run_workers(args.db.replace("{n}", str(n)), workers=n, accounts=args.accounts, kills=args.kills,
                          interval_s=args.interval, smtp_delay=args.smtp_delay, timeout=args.timeout)
        print(res.line(), flush=True)
        results.append({**dataclasses.asdict(res), "smtp_delay_s": args.smtp_delay, "interval_s": args.interval})
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
