"""bench/crash.py, short: SIGKILL during login, during sending and at a random moment, then restart."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_crash", Path(__file__).parents[2] / "bench" / "crash.py")
assert _spec is not None and _spec.loader is not None
bench_crash = importlib.util.module_from_spec(_spec)
sys.modules["bench_crash"] = bench_crash
_spec.loader.exec_module(bench_crash)


def test_kills_lose_nothing_and_never_repeat_a_wrong_password():
    res = bench_crash.run(3, seed=5, wrong_every=3, modes=["login", "send", "time"])
    print(res)
    assert res["kills"].get("login", 0) + res["kills"].get("send", 0) >= 1  # the kills did land
    assert res["lost"] == 0
    assert res["duplicates"] == res["duplicates_from_250_commit_window"]
    assert res["wrong_passwords_used"] == 1 and res["password_posts_beyond_one_per_wrong_password"] == 0
    assert not res["locked_at_simulator"]
