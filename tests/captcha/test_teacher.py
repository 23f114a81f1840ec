"""ddddocr as the optional teacher / start solver: same interface, restricted decoding, a clear fallback."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pytest

from gradewatch.captcha.errors import MissingDependency
from gradewatch.captcha.spec import SPECS, CaptchaSpec
from gradewatch.captcha.teacher import GENERIC_TARGET, start_name, start_solver

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"


def test_without_the_ocr_extra_auto_starts_from_generic(monkeypatch):
    monkeypatch.setitem(sys.modules, "ddddocr", None)  # makes `import ddddocr` fail
    assert start_name("auto") == "generic"
    assert start_solver("auto").spec.name == "generic"
    with pytest.raises(MissingDependency, match=r"pip install 'gradewatch\[ocr\]'"):
        start_solver("ddddocr")


def test_teacher_reads_only_the_target_alphabet(rendered_dir):
    pytest.importorskip("ddddocr", reason="the ocr extra (ddddocr) is not installed")
    files = sorted(rendered_dir.glob("*.png"))[:40]
    digits_only = start_solver("ddddocr").for_target(
        CaptchaSpec(name="d", charset=string.digits, length=4, width=68, height=22)
    )
    assert all(set(digits_only.solve(f.read_bytes()).text) <= set(string.digits) for f in files)
    teacher = start_solver("ddddocr", SPECS["ssfw"])
    preds = [(f.stem, teacher.solve(f.read_bytes())) for f in files]
    right = [p for label, p in preds if p.text == label]
    assert len(right) >= 0.6 * len(files)  # ddddocr reads ~88 % of real SSFW captchas zero-shot
    assert all(0.0 < p.confidence <= 1.0 and len(p.char_confidences) == len(p.text) for _, p in preds)
    wrong = [p.confidence for label, p in preds if p.text != label]
    if wrong:  # a wrong reading is, on average, a less confident one
        assert sum(wrong) / len(wrong) < sum(p.confidence for p in right) / len(right)


def test_eval_can_name_the_teacher_and_the_generic_model(rendered_dir):
    pytest.importorskip("ddddocr", reason="the ocr extra (ddddocr) is not installed")
    for model in ("ddddocr", "generic"):
        proc = subprocess.run(
            [str(GRADEWATCH), "captcha", "eval", str(rendered_dir), "--model", model, "--limit", "20", "--json"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout.strip().splitlines()[-1])
        assert report["n"] == 20 and report["solver"] == ("ddddocr" if model == "ddddocr" else "onnx")
        assert 0.0 <= report["accuracy"] <= 1.0
    assert GENERIC_TARGET.normalize_label("AbC1") == "abc1"
