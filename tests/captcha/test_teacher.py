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


def _path_score(logp, path):
    return sum(float(logp[t, k]) for t, k in enumerate(path))


def test_length_constrained_decoding_is_the_best_path_of_an_allowed_length():
    """Brute force over every frame path of a small CTC output: the Viterbi answer is the most
    probable path among those that emit an allowed number of characters."""
    import itertools

    import numpy as np

    from gradewatch.captcha.teacher import _best_path_of_length, _collapsed_length

    rng = np.random.default_rng(3)
    for trial in range(150):
        # blank + 1 letter (only repeats: a blank must separate them) or blank + 3 letters
        frames, classes = (6, 2) if trial % 3 == 0 else (6, 4)
        logits = rng.normal(size=(frames, classes)) * 2
        logits[:, 0] += 1.5  # blank-heavy, as CTC outputs are: the plain best path tends to be short
        logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
        lo, hi = (3, 3) if trial % 2 else (2, 4)
        best = max((p for p in itertools.product(range(classes), repeat=frames) if lo <= _collapsed_length(p) <= hi),
                   key=lambda p: _path_score(logp, p))
        got = _best_path_of_length(logp, lo, hi)
        assert lo <= _collapsed_length(got) <= hi
        assert _path_score(logp, got) == pytest.approx(_path_score(logp, best))
    assert _collapsed_length([0, 1, 1, 0, 1, 2, 2, 0]) == 3  # a repeat needs a blank between


def test_teacher_never_answers_a_length_the_spec_forbids(rendered_dir):
    pytest.importorskip("ddddocr", reason="the ocr extra (ddddocr) is not installed")
    files = sorted(rendered_dir.glob("*.png"))[:40]
    for length in (3, 5):  # SSFW captchas have 4 characters: each reading is forced to another length
        teacher = start_solver("ddddocr", CaptchaSpec(name="x", charset=SPECS["ssfw"].charset, length=length,
                                                      width=68, height=22))
        assert {len(teacher.solve(f.read_bytes()).text) for f in files} == {length}


def test_the_teacher_on_one_thread_reads_as_on_its_default(rendered_dir):
    pytest.importorskip("ddddocr", reason="the ocr extra (ddddocr) is not installed")
    from gradewatch.captcha.teacher import DdddocrTeacher

    files = sorted(rendered_dir.glob("*.png"))[:20]
    default, single = DdddocrTeacher(SPECS["ssfw"]), DdddocrTeacher(SPECS["ssfw"], threads=1)
    assert single._engine.session.get_session_options().intra_op_num_threads == 1
    assert single._engine is not default._engine and DdddocrTeacher(SPECS["ssfw"])._engine is default._engine
    for f in files:
        a, b = default.solve(f.read_bytes()), single.solve(f.read_bytes())
        assert a.text == b.text and a.confidence == pytest.approx(b.confidence, abs=1e-5)


def test_the_teacher_reads_a_transparent_captcha_on_white_as_our_models_do(rendered_dir):
    """Captchas with a transparent background (PNG alpha, GIF transparency) are read on white, the
    way the ONNX solvers flatten them: a plain convert("RGB") turns the background black."""
    pytest.importorskip("ddddocr", reason="the ocr extra (ddddocr) is not installed")
    import io

    import numpy as np
    from PIL import Image

    teacher = start_solver("ddddocr", SPECS["ssfw"])
    files = sorted(rendered_dir.glob("*.png"))[:20]
    same = 0
    for f in files:
        rgb = Image.open(f).convert("RGB")
        px = np.asarray(rgb)
        background = px.min(axis=-1) > 200
        rgba = np.dstack([np.where(background[..., None], 0, px), np.where(background, 0, 255)]).astype(np.uint8)
        buf = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buf, "PNG")  # transparent black where the paper was
        flat = io.BytesIO()
        Image.fromarray(np.where(background[..., None], 255, px).astype(np.uint8), "RGB").save(flat, "PNG")
        same += teacher.solve(buf.getvalue()).text == teacher.solve(flat.getvalue()).text
    assert same == len(files)
