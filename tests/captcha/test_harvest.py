"""The login-oracle harvest against the SSFW simulator: what is saved, what is queued, when it stops, how fast."""

from __future__ import annotations

import random
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from gradewatch.captcha.harvest import (
    STOP_DONE,
    STOP_LOCKED,
    STOP_UNAVAILABLE,
    STOP_WRONG_PASSWORD,
    Harvester,
    ImageFolder,
    RateLimiter,
    TargetReader,
)
from gradewatch.captcha.render_generic import GENERIC_SPEC
from gradewatch.captcha.spec import SPECS
from gradewatch.schools.base import Credentials
from gradewatch.schools.ssfw import SsfwAdapter
from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.server import RunningSim

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"

CHARSET = "0123456789abcdefghijklmnopqrstuvwxyz"


def write_labelled(folder: Path, count: int = 30, seed: int = 3) -> dict[bytes, str]:
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    labels: dict[bytes, str] = {}
    while len(labels) < count:
        label = "".join(rng.choices(CHARSET, k=4))
        if (folder / f"{label}.png").exists():
            continue
        img = Image.new("RGB", (68, 22), "white")
        ImageDraw.Draw(img).text((4, 4), label, fill=(20, 40, 120))
        img.save(folder / f"{label}.png")
        labels[(folder / f"{label}.png").read_bytes()] = label
    return labels


@dataclass
class Pred:
    text: str
    confidence: float = 1.0


class OracleSolver:
    """Knows every served image's answer; ``wrong(n)`` decides which readings (1-based) come out wrong."""

    def __init__(self, labels: dict[bytes, str], wrong: Callable[[int], str | None] = lambda n: None) -> None:
        self.labels = labels
        self.wrong = wrong
        self.calls = 0

    def solve(self, image: bytes) -> Pred:
        self.calls += 1
        bad = self.wrong(self.calls)
        return Pred(bad if bad is not None else self.labels[image])


@pytest.fixture
def served(tmp_path: Path) -> tuple[Path, dict[bytes, str]]:
    folder = tmp_path / "served"
    return folder, write_labelled(folder)


@pytest.fixture
def sim(make_ssfw_sim, served) -> RunningSim:
    return make_ssfw_sim(captchas=FileCaptchas.load(served[0], seed=5))


def harvester(
    sim: RunningSim, solver, tmp_path: Path, *, password: str | None = None, rate: float = 1000.0, **kw
) -> Harvester:
    creds = Credentials(sim.username, sim.password if password is None else password)
    reader = TargetReader(solver, SPECS["ssfw"])
    return Harvester(
        lambda: SsfwAdapter(sim.base_url), creds, reader, tmp_path / "out", tmp_path / "out-review", rate=rate, **kw
    )


def test_accepted_saved_verbatim_under_their_text_and_rejected_queued(sim, served, tmp_path):
    _, labels = served
    solver = OracleSolver(labels, wrong=lambda n: "zzzz" if n % 3 == 0 else None)
    result = harvester(sim, solver, tmp_path).run(9)
    assert result.stop == STOP_DONE and result.ok
    st = result.stats
    assert (st.attempts, st.accepted, st.rejected) == (9, 6, 3)
    assert st.acceptance_rate == pytest.approx(6 / 9)
    stats = sim.admin.stats(sim.username)
    assert stats["login_posts"] == 9 and stats["outcomes"]["ok"] == 6 and stats["outcomes"]["wrong_captcha"] == 3
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) + st.duplicates == 6
    for p in saved:  # the exact bytes the server sent, under the text the server accepted
        assert labels[p.read_bytes()] == p.stem.split("_")[0]
    queued = sorted((tmp_path / "out-review").iterdir())
    assert queued and all(p.name.startswith("zzzz") for p in queued)
    assert all(p.read_bytes() in labels for p in queued)


def test_wrong_length_readings_are_not_submitted(sim, served, tmp_path):
    _, labels = served
    solver = OracleSolver(labels, wrong=lambda n: "abcde" if n % 2 == 0 else None)
    result = harvester(sim, solver, tmp_path).run(4)
    assert result.ok
    assert result.stats.attempts == 4 and result.stats.accepted == 4
    assert result.stats.skipped == 3  # readings 2, 4, 6 were 5 characters: fetched another captcha instead
    assert sim.admin.stats(sim.username)["login_posts"] == 4


def test_stops_at_the_first_wrong_password(sim, served, tmp_path):
    _, labels = served
    result = harvester(sim, OracleSolver(labels), tmp_path, password="not-the-password").run(20)
    assert result.stop == STOP_WRONG_PASSWORD and not result.ok
    assert result.stats.attempts == 1
    assert sim.admin.stats(sim.username)["login_posts"] == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_stops_at_the_first_lock_signal(sim, served, tmp_path):
    _, labels = served
    for _ in range(5):  # five wrong passwords lock the account (each harvest stops after one)
        r = harvester(sim, OracleSolver(labels), tmp_path, password="wrong").run(3)
        assert r.stop in (STOP_WRONG_PASSWORD, STOP_LOCKED)
    assert sim.admin.stats(sim.username)["locked"] is True
    before = sim.admin.stats(sim.username)["login_posts"]
    result = harvester(sim, OracleSolver(labels), tmp_path).run(20)
    assert result.stop == STOP_LOCKED
    assert result.stats.attempts == 1
    assert sim.admin.stats(sim.username)["login_posts"] == before + 1


def test_unreachable_school_stops_with_a_reason(tmp_path):
    reader = TargetReader(OracleSolver({}), SPECS["ssfw"])
    h = Harvester(
        lambda: SsfwAdapter("http://127.0.0.1:9", backoff=0.0),
        Credentials("u", "p"),
        reader,
        tmp_path / "out",
        tmp_path / "out-review",
    )
    result = h.run(3)
    assert result.stop == STOP_UNAVAILABLE and "cannot reach" in result.message


def test_rate_limit_holds_counted_at_the_server(sim, served, tmp_path):
    """Count the simulator's login POSTs over time while a harvest runs at 5 logins per second."""
    _, labels = served
    rate, count = 5.0, 8
    h = harvester(sim, OracleSolver(labels), tmp_path, rate=rate)
    samples: list[tuple[float, int]] = []
    done = threading.Event()
    t0 = time.monotonic()
    worker = threading.Thread(target=lambda: (h.run(count), done.set()))
    worker.start()
    while not done.is_set():
        samples.append((time.monotonic() - t0, sim.admin.stats(sim.username)["login_posts"]))
        time.sleep(0.05)
    worker.join()
    elapsed = time.monotonic() - t0
    assert sim.admin.stats(sim.username)["login_posts"] == count
    assert elapsed >= (count - 1) / rate  # 8 logins at 5/s cannot take less than 1.4 s
    for t, posts in samples:  # at no moment more than 1 + rate * t logins
        assert posts <= 1 + rate * t + 1e-9, (t, posts)


def test_rate_limiter_spacing_with_a_fake_clock():
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    lim = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(5):
        lim.wait()
        times.append(now[0])
    assert np.allclose(np.diff(times), 0.5)
    now[0] += 10  # an idle pause does not bank extra logins
    lim.wait()
    t = now[0]
    lim.wait()
    assert now[0] - t == pytest.approx(0.5)
    with pytest.raises(ValueError):
        RateLimiter(0)


def test_image_folder_never_overwrites_and_skips_identical_bytes(tmp_path):
    f = ImageFolder(tmp_path / "d")
    a = f.add("ab12", b"\x89PNG one")
    b = f.add("ab12", b"\x89PNG two")
    assert a is not None and b is not None and a.name == "ab12.png" and b.name == "ab12_2.png"
    assert f.add("ab12", b"\x89PNG one") is None
    assert f.add("cd34", b"\xff\xd8 jpeg").name == "cd34.jpg"
    assert ImageFolder(tmp_path / "d").add("zz99", b"\x89PNG two") is None  # knows what is on disk


class FakeOnnx:
    """Shaped like the ONNX solver: a spec, prepare() and probabilities()."""

    def __init__(self, spec, texts: list[str]) -> None:
        self.spec = spec
        self.texts = texts

    def prepare(self, image):
        return np.zeros((1, 2, 2), np.float32)

    def probabilities(self, batch):
        text = self.texts.pop(0)
        k = self.spec.num_classes
        p = np.full((1, self.spec.length, k), 0.01, np.float32)
        for i in range(self.spec.length):
            c = text[i] if i < len(text) else None
            p[0, i, self.spec.charset.index(c) if c else k - 1] = 1.0
        return p


def test_generic_model_read_through_the_school_spec():
    reader = TargetReader(FakeOnnx(GENERIC_SPEC, ["ab3k", "ab3kx", "q9z"]), SPECS["ssfw"])
    first, second, third = reader.read(b""), reader.read(b""), reader.read(b"")
    assert first.submittable and first.text == "ab3k"
    assert not second.submittable and second.text == "ab3kx"  # 5 characters: never submitted
    assert not third.submittable


def test_case_folding_onto_a_case_insensitive_target():
    from gradewatch.captcha.spec import CaptchaSpec

    mixed = CaptchaSpec(name="mixed", charset="abAB01", length=4, width=8, height=8)
    reader = TargetReader(FakeOnnx(mixed, ["AbB0"]), CaptchaSpec(name="t", charset="ab01", length=4, width=8, height=8))
    r = reader.read(b"")
    assert r.submittable and r.text == "abb0"


# ---- the command line ------------------------------------------------------------------------


def write_config(path: Path, base_url: str, username: str, password: str) -> Path:
    path.write_text(
        f'[schools.uni]\nsystem = "ssfw"\nbase_url = "{base_url}"\n\n'
        f'[accounts.me]\nschool = "uni"\nusername = "{username}"\npassword = "{password}"\n',
        encoding="utf-8",
    )
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADEWATCH), "captcha", *args], capture_output=True, text=True, timeout=120)


def test_cli_unknown_account_is_one_clean_line(tmp_path):
    cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", "u", "p")
    proc = run_cli("harvest", "--config", str(cfg), "--account", "nobody", "--out", str(tmp_path / "o"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("gradewatch: error:")
    assert "no account named 'nobody'" in proc.stderr


def test_cli_unreachable_school_exits_with_the_unreachable_code(tmp_path):
    cfg = write_config(tmp_path / "c.toml", "http://127.0.0.1:9", "u", "p")
    proc = run_cli(
        "harvest", "-c", str(cfg), "-a", "me", "--out", str(tmp_path / "o"), "--count", "2", "--model", "generic"
    )
    assert proc.returncode == 4 and "Traceback" not in proc.stderr  # docs/errors.md: school unreachable
    assert "cannot reach" in proc.stderr.strip().splitlines()[-1]


def test_cli_harvest_with_the_generic_model_stops_on_wrong_password(ssfw_sim, tmp_path):
    sim = ssfw_sim  # rendered SSFW captchas
    cfg = write_config(tmp_path / "c.toml", sim.base_url, sim.username, "wrong-password")
    proc = run_cli(
        "harvest",
        "-c",
        str(cfg),
        "-a",
        "me",
        "--out",
        str(tmp_path / "o"),
        "--count",
        "200",
        "--rate",
        "200",
        "--model",
        "generic",
    )
    assert proc.returncode == 1, proc.stderr
    assert "username or password is wrong" in proc.stderr
    stats = sim.admin.stats(sim.username)
    assert stats["outcomes"]["wrong_password"] == 1  # the first accepted captcha revealed it; nothing after
    assert stats["login_posts"] == stats["outcomes"]["wrong_captcha"] + 1
