"""bench/campus.py, small (70 students, ten per system): every published grade is queued once in both
modes, and fast detection is faster at fewer requests than fixed 30-minute polling (worker
processes, the real store, all seven systems)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

_spec = importlib.util.spec_from_file_location("bench_campus", Path(__file__).parents[2] / "bench" / "campus.py")
assert _spec is not None and _spec.loader is not None
bench_campus = importlib.util.module_from_spec(_spec)
sys.modules["bench_campus"] = bench_campus
_spec.loader.exec_module(bench_campus)


def test_small_campus_loses_nothing_and_fast_detection_beats_fixed_polling(tmp_path):
    out = tmp_path / "campus.json"
    assert bench_campus.main(["--students", "70", "--days", "1", "--workers", "2", "--step", "180",
                              "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    costs = report["costs"]
    assert set(costs) == set(bench_campus.SYSTEMS) and all(c["login"] > c["reuse"] >= 1 for c in costs.values())
    assert {s for s, c in costs.items() if c["timetable"]} == {"ssfw", "zf", "qiangzhi"}  # the rest: stand-ins
    fixed, fast = report["results"]
    for mode in (fixed, fast):
        assert mode["accounts"] == 70 and mode["published"] > 0
        assert mode["notified"] == mode["published"] and mode["lost"] == 0 and mode["duplicates"] == 0
    assert fixed["expedited"] == 0 < fast["expedited"]
    assert fast["latency_p50_min"] < fixed["latency_p50_min"]
    assert fast["requests_per_student_day"] < fixed["requests_per_student_day"]
    assert fast["clock_steps"] < fixed["clock_steps"]  # quiet nights: the idle steps were skipped
