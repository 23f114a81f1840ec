"""Two and four `gradewatch run` workers on one PostgreSQL, a slow SMTP server, a kill -9 of a worker:
every grade change notified once, and each account checked once per interval (counted at the simulator)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("bench_workers", Path(__file__).parents[2] / "bench" / "workers.py")
assert _spec is not None and _spec.loader is not None
bench_workers = importlib.util.module_from_spec(_spec)
sys.modules["bench_workers"] = bench_workers
_spec.loader.exec_module(bench_workers)


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_share_checks_and_mails(pg_cluster, workers):
    res = bench_workers.run_workers(pg_cluster.new_database(), workers=workers, accounts=8, kills=1,
                                    interval_s=5.0, window_intervals=2.0, smtp_delay=0.3)
    print(res.line())
    assert res.delivered == res.expected == 16 and res.lost == 0
    # At-least-once: a duplicate only from a kill between the server's 250 and the commit of "sent".
    assert res.duplicates == res.duplicates_from_window
    # N workers together check each account once per interval, not N times.
    assert 0.4 <= res.checks_per_interval_mean <= 1.4  # (a busy machine checks a little late, never twice)
    assert res.checks_per_interval_max <= 2.0
