"""`gradewatch captcha train --backend tensorflow`: same network, same ONNX contract, the solver cannot tell."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gradewatch.captcha.errors import MissingDependency
from gradewatch.captcha.spec import SPECS

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"


def test_missing_tensorflow_says_how_to_install(monkeypatch, rendered_dir, tmp_path):
    from gradewatch.captcha.train_tf import train_tf

    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    with pytest.raises(MissingDependency, match=r"pip install 'gradewatch\[tensorflow\]'"):
        train_tf([rendered_dir], tmp_path / "m.onnx", SPECS["ssfw"])


def test_tiny_tensorflow_training_exports_the_same_contract(rendered_dir, tmp_path):
    pytest.importorskip("tensorflow", reason="the 'tensorflow' extra (tensorflow-cpu) is not installed")
    pytest.importorskip("tf2onnx", reason="the 'tensorflow' extra (tf2onnx) is not installed")
    out = tmp_path / "tf.onnx"
    proc = subprocess.run(
        [str(GRADEWATCH), "captcha", "train", str(rendered_dir), "--out", str(out), "--backend", "tensorflow",
         "--epochs", "1", "--minutes", "1", "--val-fraction", "0.3", "--no-progress"],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "ONNX/Keras agreement 100.00%" in proc.stdout
    meta = json.loads(out.with_suffix(".json").read_text())
    assert meta["training"]["backend"] == "tensorflow" and meta["spec"] == SPECS["ssfw"].to_dict()
    assert meta["parity"]["agreement"] == 1.0 and meta["parity"]["max_abs_diff"] < 1e-4

    from gradewatch.captcha.solver import load_solver

    solver = load_solver(out)  # the ONNX solver checks input (N,1,22,68) and output (N,4,36) shapes
    pred = solver.solve(sorted(rendered_dir.glob("*.png"))[0].read_bytes())
    assert len(pred.text) == 4 and set(pred.text) <= set(SPECS["ssfw"].charset)
    assert 0.0 < pred.confidence <= 1.0
