"""`gradewatch run` stops within seconds of SIGTERM/SIGINT, even while a check hangs on a dripping school."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from .helpers import env_with, write_config


@pytest.mark.parametrize(("fault", "sig"), [("drip", signal.SIGTERM)])
def test_run_exits_within_5_s_of_a_signal_while_a_check_hangs(fault_proxy, tmp_path, fault, sig):
    proxy = fault_proxy(None)
    proxy.inject("*", fault, interval=0.5)
    cfg = write_config(tmp_path, proxy.base_url, "2021010001", [])
    env = env_with("pw-not-used")
    proc = subprocess.Popen([sys.executable, "-m", "gradewatch.cli", "run", "-c", str(cfg)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # Wait until the check is inside the school's answer (the proxy saw the request).
        end = time.monotonic() + 30
        while not proxy.requests and time.monotonic() < end and proc.poll() is None:
            time.sleep(0.05)
        assert proxy.requests, "the check never reached the school"
        time.sleep(1.0)  # well inside the drip/hang
        assert proc.poll() is None
        sent = time.monotonic()
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert took < 5, f"took {took:.1f} s"
    assert proc.returncode == 0, err
    assert "Traceback" not in out + err
    assert "stopped" in err
    assert took < 5 and proc.returncode == 0
