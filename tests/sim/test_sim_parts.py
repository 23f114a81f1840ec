"""Simulator parts: seeded transcripts, captcha sources, the `sim ssfw` command."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gradewatch.sim.captchas import FileCaptchas
from gradewatch.sim.cli import app
from gradewatch.sim.transcripts import DEMO_PASSWORD, DEMO_USERNAME, demo_student, seeded_students

from .helpers import write_captchas


def test_students_are_deterministic_in_the_seed() -> None:
    assert seeded_students(3, 10) == seeded_students(3, 10)
    assert seeded_students(3, 10) != seeded_students(4, 10)
    students = seeded_students(3, 10)
    assert len({s.username for s in students}) == 11
    assert students[0] == demo_student() == seeded_students(99, 0)[0]  # the demo does not depend on the seed


def test_demo_transcript_has_every_kind_of_row() -> None:
    demo = demo_student()
    assert (demo.username, demo.password) == (DEMO_USERNAME, DEMO_PASSWORD) == ("2021010001", "demo-pass-2021")
    scores = {g.score for g in demo.grades}
    assert {"优秀", "良好", "中等"} <= scores and {"合格", "通过"} <= scores
    assert any(g.numeric_score is not None and g.numeric_score < 60 for g in demo.grades)
    makeups = [g for g in demo.grades if g.attempt == "makeup"]
    assert [(g.course_name, g.exam_type) for g in makeups] == [("高等数学A(1)", "补考")]
    assert {g.course_nature for g in demo.grades} == {"必修", "选修"}
    assert len({g.term for g in demo.grades}) == 3
    assert len({g.key for g in demo.grades}) == len(demo.grades)


def test_random_transcripts_are_well_formed() -> None:
    for s in seeded_students(0, 30)[1:]:
        keys = [g.key for g in s.grades]
        assert len(keys) == len(set(keys)) and s.name and len(s.password) == 10
        for g in s.grades:
            if g.attempt != "normal":
                assert any(o.course_code == g.course_code and o.attempt == "normal" for o in s.grades)


def test_captchas_from_a_folder_and_a_tarball(tmp_path: Path) -> None:
    labels = write_captchas(tmp_path / "train", count=5)
    from_dir = FileCaptchas.load(tmp_path / "train")
    assert len(from_dir) == 5
    label, image, media_type = from_dir.next()
    assert labels[image] == label and media_type == "image/png"

    archive = tmp_path / "train.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(tmp_path / "train", arcname="train")
    from_tar = FileCaptchas.load(archive, limit=3)
    assert len(from_tar) == 3
    label, image, _ = from_tar.next()
    assert labels[image] == label


def test_captchas_of_other_formats_are_served_as_what_they_are(tmp_path: Path) -> None:
    from PIL import Image

    folder = tmp_path / "set"
    folder.mkdir()
    img = Image.new("RGB", (60, 20), "white")
    for name, fmt in {"ab3k.webp": "WEBP", "cd4m.tif": "TIFF", "ef5n (2).jpeg": "JPEG"}.items():
        img.save(folder / name, fmt)
    served = FileCaptchas.load(folder)
    assert len(served) == 3
    seen = {}
    for _ in range(60):  # random draws: every file comes up in a few dozen
        label, data, kind = served.next()
        seen[label] = kind
    assert seen == {"ab3k": "image/webp", "cd4m": "image/tiff", "ef5n": "image/jpeg"}


def test_files_that_are_no_readable_image_are_not_served(tmp_path: Path, caplog) -> None:
    """A real server serves images: a text file named .png, a 0-byte file or a truncated download in
    the folder is left out (with a warning), so a harvest never meets it as 'the school's captcha'."""
    import io

    from PIL import Image

    folder = tmp_path / "set"
    folder.mkdir()
    Image.new("RGB", (60, 20), "white").save(folder / "ab3k.png")
    buf = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(buf, "PNG")
    (folder / "cd4m.png").write_bytes(buf.getvalue()[:40])  # truncated
    (folder / "ef5n.png").write_bytes(b"garbage")
    (folder / "gh6p.png").write_bytes(b"")
    served = FileCaptchas.load(folder)
    assert len(served) == 1 and served.next()[0] == "ab3k"
    assert "3 file(s) are not readable images" in caplog.text


@pytest.mark.parametrize("kind", ["missing", "empty", "not-an-archive", "corrupt"])
def test_bad_captcha_source_is_one_clear_error(tmp_path: Path, kind: str) -> None:
    path = {
        "missing": tmp_path / "nope",
        "empty": tmp_path,
        "not-an-archive": tmp_path / "x.txt",
        "corrupt": tmp_path / "x.tar.gz",
    }[kind]
    if kind in ("not-an-archive", "corrupt"):
        path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=str(path)):
        FileCaptchas.load(path)
    result = CliRunner().invoke(app, ["ssfw", "--port", "0", "--captcha-dir", str(path)])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gradewatch: error: captcha source")
    assert "Traceback" not in result.output


def test_bad_encoding_is_one_clear_error() -> None:
    result = CliRunner().invoke(app, ["ssfw", "--port", "0", "--encoding", "latin-1"])
    assert result.exit_code == 2
    assert result.output.strip() == "gradewatch: error: encoding must be utf-8 or gbk, not 'latin-1'"


def test_cli_serves_and_prints_how_to_use_it(tmp_path: Path) -> None:
    write_captchas(tmp_path, count=3)
    code = "import sys; from gradewatch.sim.cli import app; sys.exit(app())"
    cmd = [sys.executable, "-c", code, "ssfw", "--port", "0", "--admin-token", "tok", "--captcha-dir", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout.readline() for _ in range(6)))  # type: ignore[union-attr]
        reader.start()
        reader.join(timeout=20)
        assert not reader.is_alive(), "the simulator printed nothing"
        text = "".join(lines)
        base = next(line.split()[1] for line in lines if line.strip().startswith("base_url"))
        assert "2021010001 / demo-pass-2021" in text and "tok" in text
        assert httpx.get(f"{base}/ssfw/login.jsp", timeout=5).status_code == 200
        assert httpx.get(f"{base}/_admin/stats", headers={"Authorization": "Bearer tok"}, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_captchas_of_published_sets_keep_their_format_and_labels(tmp_path: Path) -> None:
    # Published real sets mix formats (正方's CheckCode.aspx is a GIF; one CAS set stores JPEG bytes in
    # .png files) and use `_2` suffixes for repeated labels: serve the real bytes with their own type.
    from PIL import Image

    def encoded(fmt: str) -> bytes:
        buf = io.BytesIO()
        Image.new("RGB", (72, 27), "white").save(buf, format=fmt)
        return buf.getvalue()

    (tmp_path / "sub").mkdir()
    files = {"ab3k.png": encoded("PNG"), "ab3k_2.gif": encoded("GIF"), "sub/x9zq.png": encoded("JPEG")}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "._ab3k.png").write_bytes(b"\x00\x05\x16\x07 macOS metadata, not an image")
    served = FileCaptchas.load(tmp_path, seed=3)
    seen = {served.next() for _ in range(60)}
    assert seen == {
        ("ab3k", files["ab3k.png"], "image/png"),
        ("ab3k", files["ab3k_2.gif"], "image/gif"),
        ("x9zq", files["sub/x9zq.png"], "image/jpeg"),
    }
