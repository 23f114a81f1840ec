"""`gradewatch doctor`: a broken set-up gets one fix per problem and a non-zero exit; a good one passes."""

from __future__ import annotations

import os
import subprocess
import sys

from gradewatch.notify.sink import SmtpSink
from watch.helpers import PASSWORD_ENV, write_config


def _doctor(cfg, *extra, password="pw"):
    env = {**os.environ, PASSWORD_ENV: password, "COLUMNS": "250"}
    return subprocess.run([sys.executable, "-m", "gradewatch.cli", "doctor", "-c", str(cfg), "--timeout", "3", *extra],
                          env=env, capture_output=True, text=True, timeout=120, check=False)


def test_a_good_setup_passes_with_a_test_message(ssfw_sim, tmp_path):
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [sink.url()])
        res = _doctor(cfg, "--send-test", password=ssfw_sim.password)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "All good." in res.stdout and "test message confirmed" in res.stdout
        assert len(sink.wait_for(1)) == 1


def test_a_broken_setup_gets_one_fix_per_problem(make_school_sim, tmp_path):
    from watch.helpers import free_port

    zf = make_school_sim("zf")
    dead = f"mailto://127.0.0.1:{free_port()}?from=gradewatch@localhost&to=student@example.edu"
    cfg = write_config(tmp_path, zf.base_url, "u", [dead], system="ssfw")
    text = cfg.read_text(encoding="utf-8")
    text += f"""
[schools.gone]
system = "qiangzhi"
base_url = "http://127.0.0.1:{free_port()}"

[accounts.other]
school = "gone"
username = "x"
password_env = "NOT_SET_ANYWHERE"
notify = []
"""
    cfg.write_text(text, encoding="utf-8")
    key = tmp_path / "state" / "gradewatch.key"
    key.parent.mkdir(parents=True)
    key.write_bytes(b"k")
    key.chmod(0o644)
    res = _doctor(cfg, "--send-test")
    out = res.stdout
    assert res.returncode == 1, out + res.stderr
    fixes = [line for line in out.splitlines() if line.startswith("FIX")]
    assert any("key file" in f and "chmod 600" in f for f in fixes)
    assert any("school uni" in f and 'system = "zf"' in f for f in fixes)  # wrong system, with the right one
    assert any("school gone" in f and "cannot reach" in f for f in fixes)  # unreachable
    assert any("account other password" in f and "NOT_SET_ANYWHERE" in f for f in fixes)
    assert any("account other notify" in f and "no channel" in f for f in fixes)
    assert any("account student notify[0]" in f for f in fixes)  # the failing channel
    assert f"{len(fixes)} problem(s) to fix." in out
    assert "Traceback" not in out + res.stderr


def test_a_missing_captcha_model_is_one_fix(ssfw_sim, tmp_path):
    missing = tmp_path / "models" / "our-school.onnx"
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [],
                       extra_school=f'options = {{ captcha_model = "{missing}" }}')
    res = _doctor(cfg)
    fixes = [line for line in res.stdout.splitlines() if line.startswith("FIX")]
    assert res.returncode == 1 and any("captcha model" in f and "our-school.onnx" in f for f in fixes), res.stdout
    assert "Traceback" not in res.stdout + res.stderr


def test_an_invalid_config_is_one_line(tmp_path):
    cfg = tmp_path / "gradewatch.toml"
    cfg.write_text("[schools.x]\nsystem = 'nope'\nbase_url = 'http://x'\n", encoding="utf-8")
    res = _doctor(cfg)
    assert res.returncode == 1 and "FIX  config" in res.stdout and "unknown system" in res.stdout
