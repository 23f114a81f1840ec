"""Every school fault ends as a typed error within its deadline; a 300 MB answer cannot blow the memory."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from gradewatch.schools.base import Credentials
from gradewatch.schools.errors import DeadlineExceeded
from gradewatch.schools.http import Limits
from gradewatch.schools.ssfw import SsfwAdapter
from gradewatch.testing.faults import FAULTS
from gradewatch.testing.school_outcomes import TEST_LIMITS, run_fault, school_behind_proxy

ALL = [f for f in FAULTS if f != "static"]
#: For ZF and 强智 the normal suite runs the faults that touch their own code paths (JSON, tables, images);
#: bench/faults.py runs all of them for every system.
SOME = ["drip", "redirect_loop", "huge", "false_gzip", "garbage", "garbage_image", "bad_json", "truncated",
        "wrong_charset", "http_500"]
SCHOOL_KINDS = {"unavailable", "unexpected_page"}


@pytest.mark.parametrize(("system", "faults"), [("ssfw", ALL), ("zf", SOME), ("qiangzhi", SOME)])
def test_every_school_fault_is_a_typed_error_within_the_deadline(system, faults):
    from gradewatch.captcha.solver import load_solver

    solver = load_solver(system)
    with school_behind_proxy(system) as (sim, proxy, base_url):
        outcomes = [run_fault(system, f, sim=sim, proxy=proxy, base_url=base_url, solver=solver) for f in faults]
        clean = run_fault(system, "static", sim=sim, proxy=proxy, base_url=base_url, solver=solver,
                          body="<html><title>x</title></html>")
    bad = [o for o in outcomes if o.kind not in SCHOOL_KINDS]
    assert not bad, bad
    for o in outcomes:
        assert o.seconds < TEST_LIMITS["request_deadline"] + 1.5, o
        assert "\n" not in o.message and o.message
    by = {o.fault: o for o in outcomes}
    assert by["drip"].error == "DeadlineExceeded"
    if "drip_unsized" in by:  # the HTTP layer, the same for every system: run where ALL is
        assert by["drip_unsized"].error == "DeadlineExceeded", by["drip_unsized"]  # not its half page
    assert "redirect loop" in by["redirect_loop"].message
    assert "larger than 5 MB" in by["huge"].message
    assert "cannot be decoded" in by["false_gzip"].message
    assert "captcha is not a readable image" in by["garbage_image"].message
    assert clean.kind == "unexpected_page"  # and a well-formed page of the wrong kind: typed too


def test_a_dripping_school_ends_at_the_check_deadline(fault_proxy, ssfw_sim, ssfw_solver):
    proxy = fault_proxy(ssfw_sim.base_url)
    proxy.inject("/ssfw/jwnavmenu.do", "drip", interval=0.2)
    adapter = SsfwAdapter(proxy.base_url, solver=ssfw_solver, sleep=lambda _s: None,
                          limits=Limits(request_deadline=30, check_deadline=2.5))
    start = time.monotonic()
    with adapter, pytest.raises(DeadlineExceeded, match="check took longer than its deadline of 2.5 s"):
        adapter.check(Credentials(ssfw_sim.username, ssfw_sim.password))
    assert time.monotonic() - start < 3.5


_MEASURE = textwrap.dedent("""
    import json, sys
    from gradewatch.captcha.solver import load_solver
    from gradewatch.testing.school_outcomes import run_fault, school_behind_proxy

    def hwm_mb():
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    solver = load_solver("ssfw")
    with school_behind_proxy("ssfw") as (sim, proxy, base_url):
        ok = run_fault("ssfw", "static", sim=sim, proxy=proxy, base_url=base_url, solver=solver)
        before = hwm_mb()
        huge = run_fault("ssfw", sys.argv[1], size=int(sys.argv[2]), sim=sim, proxy=proxy, base_url=base_url,
                         solver=solver, limits={"request_deadline": 60, "check_deadline": 120})
    print(json.dumps({"before": before, "after": hwm_mb(), "kind": huge.kind, "message": huge.message}))
""")

#: Peak memory a check may add. A 300 MB answer is cut at the 5 MB cap, so what is held is the chunks read
#: so far (measured: +6 MB). The worst a parser can see is a page just under the cap made only of table
#: cells, which lexbor turns into ~40 bytes of tree per byte of page (measured: +195 MB).
BOUNDS_MB = {"huge": 50, "huge_chunked": 50, "under_cap": 300}
MB = 1024 * 1024


@pytest.mark.parametrize(("case", "fault", "size"), [
    ("huge", "huge", 300 * MB), ("under_cap", "huge", 5 * MB - 4096)])
def test_memory_of_a_check_stays_bounded_for_huge_answers(case, fault, size):
    import json

    proc = subprocess.run([sys.executable, "-c", _MEASURE, fault, str(size)], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["kind"] == "unexpected_page"
    if size > 5 * MB:
        assert "larger than 5 MB" in got["message"]
    assert got["after"] - got["before"] < BOUNDS_MB[case], got
