"""The review queue round trip: a labelled image lands in the dataset under its label and leaves the queue."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw

from gradewatch.captcha import dataset as ds
from gradewatch.captcha.errors import DatasetError
from gradewatch.captcha.review import ReviewQueue, default_dataset_for, review_app, review_terminal
from gradewatch.captcha.spec import SPECS
from gradewatch.sim.server import serve

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"


def png(text: str, path: Path, shade: int = 0) -> bytes:
    img = Image.new("RGB", (68, 22), "white")
    ImageDraw.Draw(img).text((4, 4), text, fill=(shade, shade, shade))
    img.save(path)
    return path.read_bytes()


@pytest.fixture
def queue_dirs(tmp_path: Path) -> tuple[Path, Path]:
    dataset, queue = tmp_path / "harvest", tmp_path / "harvest-review"
    dataset.mkdir()
    queue.mkdir()
    png("ab3k", dataset / "ab3k.png")  # already labelled: a second ab3k must not overwrite it
    png("ab3k", queue / "ab3x.png", shade=40)  # another ab3k captcha, predicted ab3x
    png("q7zz", queue / "q7z2.png")
    png("mm11", queue / "mm1l.png")
    return queue, dataset


@contextmanager
def TestClient(app) -> Iterator[httpx.Client]:  # noqa: N802 - reads like starlette's, but over real HTTP
    with serve(app) as base_url, httpx.Client(base_url=base_url, timeout=10, follow_redirects=True) as client:
        yield client


def form_token(page: str) -> str:
    m = re.search(r'name="token" value="([^"]+)"', page)
    assert m
    return m.group(1)


def test_web_page_round_trip(queue_dirs):
    queue_dir, dataset = queue_dirs
    before = (queue_dir / "ab3x.png").read_bytes()
    with TestClient(review_app(ReviewQueue(queue_dir, dataset, SPECS["ssfw"]))) as client:
        page = client.get("/").text
        assert "3 image(s)" in page and 'value="ab3x"' in page  # the prediction is prefilled
        assert client.get("/image", params={"name": "ab3x.png"}).content == before
        resp = client.post(
            "/label",
            data={"name": "ab3x.png", "label": "AB3K", "token": form_token(page), "action": "save"},
            follow_redirects=False,
        )
        assert resp.status_code == 303
        assert not (queue_dir / "ab3x.png").exists()  # left the queue
        assert (dataset / "ab3k_2.png").read_bytes() == before  # under its label, the old ab3k.png kept
        assert (dataset / "ab3k.png").read_bytes() != before
        labels = [s.label for s in ds.load(dataset, SPECS["ssfw"]).samples]
        assert labels.count("ab3k") == 2  # the loader reads ab3k_2.png as ab3k
        page = client.get(resp.headers["location"]).text
        assert "2 image(s)" in page and "saved as ab3k_2.png" in page


def test_web_page_rejects_bad_answers_foreign_forms_and_unknown_files(queue_dirs):
    queue_dir, dataset = queue_dirs
    with TestClient(review_app(ReviewQueue(queue_dir, dataset, SPECS["ssfw"]))) as client:
        token = form_token(client.get("/").text)
        resp = client.post("/label", data={"name": "q7z2.png", "label": "q7", "token": token})
        assert "not a valid answer" in resp.text and (queue_dir / "q7z2.png").exists()
        assert client.post("/label", data={"name": "q7z2.png", "label": "q7zz", "token": "x"}).status_code == 403
        assert (queue_dir / "q7z2.png").exists()
        assert client.get("/image", params={"name": "../harvest/ab3k.png"}).status_code == 404
        resp = client.post("/label", data={"name": "../harvest/ab3k.png", "label": "zzzz", "token": token})
        assert "not in the review queue" in resp.text and (dataset / "ab3k.png").exists()


def test_an_image_already_in_the_dataset_just_leaves_the_queue(queue_dirs):
    queue_dir, dataset = queue_dirs
    png("ab3k", queue_dir / "ab3k.png")  # the very bytes of dataset/ab3k.png
    dest = ReviewQueue(queue_dir, dataset, SPECS["ssfw"]).label("ab3k.png", "ab3k")
    assert dest == dataset / "ab3k.png" and not (queue_dir / "ab3k.png").exists()
    assert sorted(p.name for p in dataset.iterdir()) == ["ab3k.png"]


def test_discard_moves_out_of_the_queue_but_not_into_the_dataset(queue_dirs):
    queue_dir, dataset = queue_dirs
    with TestClient(review_app(ReviewQueue(queue_dir, dataset))) as client:
        token = form_token(client.get("/").text)
        client.post("/label", data={"name": "mm1l.png", "label": "", "token": token, "action": "discard"})
        assert not (queue_dir / "mm1l.png").exists() and (queue_dir / "discarded" / "mm1l.png").exists()
        assert not list(dataset.glob("mm*"))


def test_terminal_mode_with_stdin(queue_dirs):
    queue_dir, dataset = queue_dirs
    answers = iter(["", "q7zz", "-"])  # Enter keeps the guess ab3x; then a typed label; then discard
    shown: list[str] = []
    labelled, discarded = review_terminal(
        ReviewQueue(queue_dir, dataset, SPECS["ssfw"]), lambda _prompt: next(answers), shown.append
    )
    assert (labelled, discarded) == (2, 1)
    assert (dataset / "ab3x.png").exists() and (dataset / "q7zz.png").exists()
    assert not [p for p in queue_dir.iterdir() if p.is_file()]
    assert any("▀" in line for line in shown)  # the image was drawn


def test_cli_terminal_round_trip(queue_dirs):
    queue_dir, dataset = queue_dirs
    proc = subprocess.run(
        [str(GRADEWATCH), "captcha", "review", str(queue_dir), "--terminal", "--spec", "ssfw"],
        input="ab3k\nbad!\nmm11\nq\n",
        capture_output=True,
        text=True,
        timeout=60,
    )  # ab3x.png → ab3k; mm1l.png: an invalid answer is asked again, then mm11; q stops before q7z2.png
    assert proc.returncode == 0, proc.stderr
    assert (dataset / "ab3k_2.png").exists() and (dataset / "mm11.png").exists()
    assert sorted(p.name for p in queue_dir.iterdir() if p.is_file()) == ["q7z2.png"]
    assert "not a valid answer" in proc.stdout and "labelled 2" in proc.stdout


def test_cli_review_bad_folder_is_one_clean_line(tmp_path):
    proc = subprocess.run(
        [str(GRADEWATCH), "captcha", "review", str(tmp_path / "nope-review"), "--terminal"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("gradewatch: error:") and "no such folder" in proc.stderr


def test_dataset_defaults_and_checks(tmp_path):
    assert default_dataset_for(tmp_path / "x-review") == (tmp_path / "x").resolve()
    assert default_dataset_for(tmp_path / "queue") is None
    (tmp_path / "q").mkdir()
    with pytest.raises(DatasetError):
        ReviewQueue(tmp_path / "q", tmp_path / "q")
    assert ReviewQueue(tmp_path / "q", tmp_path / "d").check_label(" Ab3 ") == "Ab3"
    with pytest.raises(DatasetError):
        ReviewQueue(tmp_path / "q", tmp_path / "d").check_label("a_b")
