"""The shipped model, the solver API, the CLI contract and its error handling."""

from __future__ import annotations

import io
import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from gradewatch.captcha.errors import CaptchaError, InvalidImage, ModelError
from gradewatch.captcha.render import random_text, render_ssfw
from gradewatch.captcha.solver import MODELS_DIR, Prediction, load_solver
from gradewatch.captcha.spec import SPECS

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADEWATCH), "captcha", *args], capture_output=True, text=True, timeout=120)


def assert_clean_error(proc: subprocess.CompletedProcess, fragment: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("gradewatch: error: ") and fragment in lines[0], lines[0]


# ----- the shipped model ----------------------------------------------------


def test_shipped_model_is_small_and_described():
    onnx = MODELS_DIR / "ssfw.onnx"
    meta = json.loads((MODELS_DIR / "ssfw.json").read_text())
    assert onnx.stat().st_size <= 1_000_000
    assert meta["spec"]["charset"] == SPECS["ssfw"].charset and meta["spec"]["threshold"] == 173
    assert meta["validation"]["source"] == "real" and meta["validation"]["accuracy"] >= 0.9995
    assert meta["parity"]["agreement"] == 1.0
    solver = load_solver("ssfw")
    assert solver.spec == SPECS["ssfw"]
    assert load_solver("ssfw") is solver  # cached
    assert load_solver(onnx) is solver


def test_shipped_model_reads_rendered_captchas():
    """The simulator serves render_ssfw output (re-encoded as JPEG 95): the shipped model must read >= 99 %."""
    solver = load_solver("ssfw")
    rng = random.Random(2024)
    n, right = 400, 0
    for _ in range(n):
        text = random_text(SPECS["ssfw"], rng)
        buf = io.BytesIO()
        render_ssfw(text, rng).save(buf, "JPEG", quality=95)
        right += solver.solve(buf.getvalue()).text == text
    assert right / n >= 0.99


def test_solve_accepts_bytes_paths_and_images(tmp_path):
    solver = load_solver()
    img = render_ssfw("m3x7", random.Random(3))
    path = tmp_path / "c.png"
    img.save(path)
    preds = [solver.solve(img), solver.solve(path), solver.solve(str(path)), solver.solve(path.read_bytes())]
    assert all(isinstance(p, Prediction) and p.text == "m3x7" for p in preds)
    assert all(0.0 < p.confidence <= 1.0 for p in preds)
    assert [p.text for p in solver.solve_many([img, path])] == ["m3x7", "m3x7"]
    binarized = Image.fromarray(solver.spec.prepare(img)[0], "L")
    assert solver.solve(binarized).text == "m3x7"


def test_solver_errors_are_captcha_errors(tmp_path):
    solver = load_solver()
    with pytest.raises(InvalidImage):
        solver.solve(b"GIF89a but not really")
    with pytest.raises(InvalidImage):
        solver.solve(Image.new("RGB", (120, 40), "white"))
    with pytest.raises(ModelError):
        load_solver("no-such-model")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00garbage" * 50)
    shutil.copy(MODELS_DIR / "ssfw.json", tmp_path / "bad.json")
    with pytest.raises(ModelError, match="not a loadable ONNX model"):
        load_solver(bad)
    nometa = tmp_path / "nometa.onnx"
    shutil.copy(MODELS_DIR / "ssfw.onnx", nometa)
    with pytest.raises(ModelError, match="sidecar"):
        load_solver(nometa)
    assert issubclass(InvalidImage, CaptchaError) and issubclass(ModelError, CaptchaError)


def test_solver_threads_follow_the_environment(tmp_path, monkeypatch):
    import os

    from gradewatch.captcha.solver import THREADS_ENV, solver_threads

    def copy(name: str) -> Path:  # a file of its own, so the solver cache never answers
        shutil.copy(MODELS_DIR / "ssfw.json", tmp_path / f"{name}.json")
        return Path(shutil.copy(MODELS_DIR / "ssfw.onnx", tmp_path / f"{name}.onnx"))

    monkeypatch.delenv(THREADS_ENV, raising=False)
    assert solver_threads() == min(2, len(os.sched_getaffinity(0)))
    default = load_solver(copy("default"))
    assert default._session.get_session_options().intra_op_num_threads == solver_threads()
    monkeypatch.setenv(THREADS_ENV, "1")
    one = load_solver(copy("one"))
    assert one._session.get_session_options().intra_op_num_threads == 1
    monkeypatch.setenv(THREADS_ENV, " 3 ")
    assert load_solver(copy("three"))._session.get_session_options().intra_op_num_threads == 3
    monkeypatch.setenv(THREADS_ENV, "64")
    assert solver_threads() == 64
    for i, bad in enumerate(("0", "two", "-1", "1000", "1.5", "²", "٣")):
        monkeypatch.setenv(THREADS_ENV, bad)
        with pytest.raises(ModelError, match=f"{THREADS_ENV}=.*whole number"):
            load_solver(copy(f"bad{i}"))


def test_solving_never_imports_torch(tmp_path):
    img = tmp_path / "c.png"
    render_ssfw("ab12", random.Random(0)).save(img)
    code = (
        "import sys\n"
        "from gradewatch.captcha.solver import load_solver\n"
        "import gradewatch.captcha.cli, gradewatch.captcha.evaluate, gradewatch.captcha.baselines\n"
        f"p = load_solver('ssfw').solve({str(img)!r})\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print(p.text)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ab12"


# ----- real data ------------------------------------------------------------


def test_every_colour_original_is_solved_end_to_end(ssfw_data):
    originals = sorted((ssfw_data / "raw_color").glob("*.png"))
    assert len(originals) == 5
    proc = run_cli("solve", *map(str, originals), "--json")
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in proc.stdout.strip().splitlines()]
    assert [g["text"] for g in got] == [p.stem for p in originals]
    for path in originals:
        assert Image.open(path).mode == "RGB"  # really the colour image, not a binarized copy


def test_real_validation_split(ssfw_data):
    """The shipped model on its whole validation split of the real data, through the CLI's JSON contract."""
    proc = run_cli("eval", str(ssfw_data / "train.tar.gz"), "--validation-split", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["n"] > 2500
    # 99.95 %: at most one miss in ~2,800 (the one known miss is the mislabelled 05g3.png)
    assert report["accuracy"] >= 0.9995, report["errors"]
    assert report["ms_per_image"] < 5


# ----- CLI ------------------------------------------------------------------


def test_cli_solve_prints_text_and_confidence(rendered_dir):
    files = sorted(rendered_dir.glob("*.png"))[:3]
    proc = run_cli("solve", *map(str, files))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split("\t") for line in proc.stdout.strip().splitlines()]
    assert [r[1] for r in rows] == [f.stem for f in files]
    assert all(0 < float(r[2]) <= 1 for r in rows)


def test_cli_eval_json_contract(rendered_dir):
    proc = run_cli("eval", str(rendered_dir), "--json", "--limit", "40")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("n", "accuracy", "char_accuracy", "ms_per_image", "solver"):
        assert key in report
    assert report["n"] == 40 and report["solver"] == "onnx"
    assert report["accuracy"] >= 0.95 and 0 < report["ms_per_image"] < 50
    assert isinstance(report["confusions"], list)


def test_cli_eval_scores_every_image_and_counts_labels_the_model_cannot_produce(tmp_path, rendered_dir):
    """A held-back set is judged on all its images: other formats, copies' names and foreign labels included."""
    files = sorted(rendered_dir.glob("*.png"))[:6]
    folder = tmp_path / "mixed"
    folder.mkdir()
    for f in files[:3]:
        shutil.copy(f, folder / f.name)
    Image.open(files[3]).convert("RGB").save(folder / f"{files[3].stem}.webp")  # read, not skipped
    shutil.copy(files[4], folder / f"{files[4].stem} (2).png")  # a second download's name: same label
    shutil.copy(files[5], folder / f"{files[5].stem}x.png")  # 5 characters: the SSFW model reads 4
    proc = run_cli("eval", str(folder), "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["n"] == 6
    assert (report["outside_spec"], report["outside_spec_examples"]) == (1, [f"{files[5].stem}x.png"])
    assert round(report["accuracy"] * 6) == 5  # the five readable labels read, the foreign one wrong
    human = run_cli("eval", str(folder))
    assert "labels the model cannot produce" in human.stdout and "1, kept in the score" in human.stdout


def test_cli_eval_human_output(rendered_dir):
    proc = run_cli("eval", str(rendered_dir), "--limit", "10")
    assert proc.returncode == 0, proc.stderr
    assert "accuracy" in proc.stdout and "median ms per image" in proc.stdout


def test_cli_bad_inputs_give_one_line_and_nonzero_exit(tmp_path, rendered_dir):
    text = tmp_path / "notes.png"
    text.write_text("this is not an image")
    assert_clean_error(run_cli("solve", str(text)), "not an image")

    good = next(rendered_dir.glob("*.png")).read_bytes()
    truncated = tmp_path / "trunc.png"
    truncated.write_bytes(good[: len(good) // 3])
    assert_clean_error(run_cli("solve", str(truncated)), "damaged")

    big = tmp_path / "big.png"
    Image.new("RGB", (200, 50), "white").save(big)
    assert_clean_error(run_cli("solve", str(big)), "expects 68x22")

    assert_clean_error(run_cli("solve", str(tmp_path / "missing.png")), "cannot read")
    assert_clean_error(run_cli("solve", str(big), "--model", "nonexistent"), "no shipped model")
    assert_clean_error(run_cli("solve", str(big), "--model", str(tmp_path / "gone.onnx")), "not found")

    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x01garbage" * 30)
    shutil.copy(MODELS_DIR / "ssfw.json", tmp_path / "corrupt.json")
    assert_clean_error(run_cli("solve", str(big), "--model", str(corrupt)), "not a loadable ONNX model")

    badjson = tmp_path / "badjson.onnx"
    shutil.copy(MODELS_DIR / "ssfw.onnx", badjson)
    (tmp_path / "badjson.json").write_text("{ not json")
    assert_clean_error(run_cli("solve", str(big), "--model", str(badjson)), "unreadable metadata")

    assert_clean_error(run_cli("eval", str(tmp_path / "nowhere")), "no such file")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_clean_error(run_cli("eval", str(empty)), "no labelled")


def test_missing_ocr_extras_say_how_to_install(monkeypatch):
    from gradewatch.captcha import baselines
    from gradewatch.captcha.errors import MissingDependency

    monkeypatch.setitem(sys.modules, "ddddocr", None)  # makes `import ddddocr` fail
    monkeypatch.setitem(sys.modules, "pytesseract", None)
    with pytest.raises(MissingDependency, match=r"pip install 'gradewatch\[ocr\]'"):
        baselines.make_solver("ddddocr")
    with pytest.raises(MissingDependency, match=r"pip install 'gradewatch\[ocr\]'"):
        baselines.make_solver("tesseract")


def test_cli_eval_says_why_nothing_could_be_read_and_names_the_model(tmp_path, rendered_dir):
    """Captchas of another size than a fixed-size model's: every one unreadable, and the reason shown."""
    folder = tmp_path / "wide"
    folder.mkdir()
    for f in sorted(rendered_dir.glob("*.png"))[:4]:
        Image.open(f).resize((90, 30)).save(folder / f.name)
    human = run_cli("eval", str(folder), "--model", "ssfw")
    assert human.returncode == 2, human.stderr  # measured nothing: a script reading the code must not see success
    assert "image is 90x30, model 'ssfw'" in human.stdout  # the table may wrap the rest
    assert "none of the 4 images could be read" in human.stderr and "Traceback" not in human.stderr
    proc = run_cli("eval", str(folder), "--model", "ssfw", "--json", "--show-errors", "2")
    assert proc.returncode == 2 and "none of the 4 images" in proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["model"] == "ssfw" and report["unreadable"] == 4 and len(report["errors"]) == 2
    assert "image is 90x30, model 'ssfw' expects 68x22" in report["unreadable_examples"][0]
    assert run_cli("eval", str(folder), "--show-errors", "-1").returncode == 2  # a usage error, not [:-1]


def test_cli_eval_refuses_a_validation_split_the_model_does_not_have(rendered_dir):
    """A model trained on rendered captchas only has no real validation files: --validation-split would
    score a random tenth of a folder it never saw. It says so instead."""
    assert_clean_error(run_cli("eval", str(rendered_dir), "--model", "zf_legacy", "--validation-split"),
                       "trained on rendered captchas only")
