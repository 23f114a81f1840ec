"""/admin/review in the browser: the harvest's queue shown to the operator, a label moving the image
into the dataset exactly where `gradewatch captcha review` puts it, CSRF and admin-only."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
from PIL import Image, ImageDraw

from .conftest import ADMIN_PASSWORD


def _captcha(path: Path, text: str) -> None:
    img = Image.new("RGB", (72, 27), "white")
    ImageDraw.Draw(img).text((6, 7), text, fill="black")
    buf = io.BytesIO()
    img.save(buf, "PNG")
    path.write_bytes(buf.getvalue())


def test_operator_labels_and_discards_from_the_dashboard(site, page, tmp_path):  # type: ignore[no-untyped-def]
    queue, dataset = tmp_path / "ssfw-review", tmp_path / "ssfw"
    queue.mkdir()
    _captcha(queue / "k7p1.png", "K7P2")  # the solver read k7p1; the school said no
    _captcha(queue / "zzzz.png", "????")
    site.web.settings.review_dir = queue  # the dataset defaults to the queue's name minus -review

    anon = httpx.get(site.url + "/admin/review/image/k7p1.png")
    assert anon.status_code == 403  # images are admin-only too

    page.goto(site.url + "/admin")
    page.fill("#admin-password", ADMIN_PASSWORD)
    page.click("#admin-submit")
    page.wait_for_url("**/admin")
    page.click("#review-link")
    page.wait_for_url("**/admin/review")
    assert page.inner_text("#review-count") == "2 waiting"
    first = page.locator(".review-item").first
    assert first.locator("input[name=label]").input_value() == "k7p1"  # the prediction, prefilled
    assert page.evaluate("document.querySelector('.review-item img').naturalWidth") == 72  # served from the queue

    # A POST without the form's token is refused even with the admin's cookie.
    refused = page.request.post(site.url + "/admin/review/label", form={"name": "k7p1.png", "label": "K7P2"})
    assert refused.status == 403 and (queue / "k7p1.png").exists()
    # A name outside the queue is never served.
    assert page.request.get(site.url + "/admin/review/image/..%2Fssfw-review%2Fk7p1.png").status == 404

    first.locator("input[name=label]").fill("K7P2")
    first.locator("button[value=label]").click()
    page.wait_for_selector("#review-note")
    assert "saved as K7P2.png" in page.inner_text("#review-note")
    assert (dataset / "K7P2.png").exists() and not (queue / "k7p1.png").exists()
    assert page.inner_text("#review-count") == "1 waiting"

    page.locator(".review-item").first.locator("button[value=discard]").click()
    page.wait_for_selector("#review-note")
    assert (queue / "discarded" / "zzzz.png").exists() and page.inner_text("#review-count") == "0 waiting"


def test_without_a_queue_the_page_says_how_to_configure_one(site, page):  # type: ignore[no-untyped-def]
    page.goto(site.url + "/admin/review")
    page.wait_for_url("**/admin/login")  # admin-only
    page.fill("#admin-password", ADMIN_PASSWORD)
    page.click("#admin-submit")
    page.goto(site.url + "/admin/review")
    assert "--review-dir" in page.inner_text("#review-problem")


def test_web_help_names_the_review_flags():  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    exe = Path(sys.executable).parent / "gradewatch"  # the console script installed next to this Python
    out = subprocess.run([str(exe), "web", "--help"], capture_output=True, text=True,
                         timeout=120, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    assert "--review-dir" in out.stdout and "--review-dataset" in out.stdout
