"""The review queue: captchas the school rejected, labelled by hand and moved into the dataset.

A queue is a folder of images named by the solver's (wrong) prediction, as the harvest writes
it. Labelling one moves its file into the dataset folder as ``<label>.png`` (``<label>_2.png``
… when that name is taken: the dataset loader ignores the ``_suffix``), so it leaves the queue.
Discarding one (unreadable even for a person) moves it to the queue's ``discarded/`` folder.

Two front ends share :class:`ReviewQueue`: a small local web page (:func:`review_app`, served on
127.0.0.1 by ``gradewatch captcha review``), each image enlarged with the prediction prefilled,
and a terminal mode that draws the image with half-block characters and reads the answer from
standard input.
"""

from __future__ import annotations

import hashlib
import html
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape as markup_escape

from gradewatch.captcha.dataset import is_image_name, label_from_name
from gradewatch.captcha.errors import DatasetError
from gradewatch.captcha.spec import CaptchaSpec, open_image

DISCARDED = "discarded"


class ReviewQueue:
    def __init__(self, queue_dir: Path, dataset_dir: Path, spec: CaptchaSpec | None = None) -> None:
        self.queue_dir = Path(queue_dir)
        self.dataset_dir = Path(dataset_dir)
        self.spec = spec
        if not self.queue_dir.is_dir():
            raise DatasetError(f"{self.queue_dir}: no such folder (the review queue the harvest writes)")
        if self.dataset_dir.exists() and not self.dataset_dir.is_dir():
            raise DatasetError(f"{self.dataset_dir}: not a folder")
        if self.dataset_dir.resolve() == self.queue_dir.resolve():
            raise DatasetError("the dataset folder must not be the review queue itself")

    def items(self) -> list[str]:
        """File names waiting in the queue, sorted."""
        return sorted(
            p.name for p in self.queue_dir.iterdir() if p.is_file() and is_image_name(p.name)
        )

    def prediction(self, name: str) -> str:
        return label_from_name(name, self.spec)

    def path(self, name: str) -> Path:
        """The queued file called ``name``; refuses anything that is not a file of the queue."""
        if name not in self.items():
            raise DatasetError(f"{name!r} is not in the review queue")
        return self.queue_dir / name

    def check_label(self, label: str) -> str:
        text = label.strip()
        if self.spec is not None:
            text = self.spec.normalize_label(text)
            if not self.spec.valid_label(text):
                lo = self.spec.min_length or self.spec.length
                size = f"{lo}–{self.spec.length}" if lo != self.spec.length else str(lo)
                raise DatasetError(f"{label!r} is not a valid answer ({size} characters of {self.spec.charset})")
            return text
        if not text or not text.isascii() or not text.isalnum():
            raise DatasetError(f"{label!r} is not a valid answer (letters and digits only)")
        return text

    def label(self, name: str, label: str) -> Path:
        """Move queued ``name`` into the dataset as ``<label>.<ext>``; returns its new path."""
        src = self.path(name)
        text = self.check_label(label)
        self.dataset_dir.mkdir(parents=True, exist_ok=True)
        data = src.read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        suffix = src.suffix.lower() or ".png"
        for existing in self.dataset_dir.glob(f"{text}*{suffix}"):
            if label_from_name(existing.name, self.spec) == text and _sha(existing) == digest:
                src.unlink()  # the very same image is already labelled so: just leave the queue
                return existing
        dest = self.dataset_dir / f"{text}{suffix}"
        n = 2
        while dest.exists():
            dest = self.dataset_dir / f"{text}_{n}{suffix}"
            n += 1
        shutil.move(str(src), dest)
        return dest

    def discard(self, name: str) -> Path:
        src = self.path(name)
        bin_dir = self.queue_dir / DISCARDED
        bin_dir.mkdir(exist_ok=True)
        dest = bin_dir / name
        n = 2
        while dest.exists():
            dest = bin_dir / f"{Path(name).stem}_{n}{Path(name).suffix}"
            n += 1
        shutil.move(str(src), dest)
        return dest


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_dataset_for(queue_dir: Path) -> Path | None:
    """The harvest writes ``DIR`` and its queue ``DIR-review``: the dataset of a queue so named."""
    name = Path(queue_dir).resolve().name
    if name.endswith("-review") and len(name) > len("-review"):
        return Path(queue_dir).resolve().with_name(name[: -len("-review")])
    return None


# ---- the web page ----------------------------------------------------------------------------

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gradewatch: captcha review</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; }}
.item {{ margin: 1.5rem 0; }}
img {{ height: {height}px; image-rendering: pixelated; border: 1px solid #999; display: block; margin-bottom: .5rem; }}
input[type=text] {{ font: 1.6rem monospace; width: 9em; }}
.msg {{ color: #063; }} .err {{ color: #a00; }}
</style></head>
<body>
<h1>Captcha review</h1>
<p>{remaining} image(s) in <code>{queue}</code>; labelled ones go to <code>{dataset}</code>.
Type what the captcha shows (the solver's wrong guess is prefilled).</p>
{message}
{items}
</body></html>
"""

_ITEM = """<form class="item" method="post" action="label">
<img src="image?name={qname}" alt="captcha {name}">
<input type="hidden" name="name" value="{name}"><input type="hidden" name="token" value="{token}">
<input type="text" name="label" value="{prediction}" autocomplete="off" {autofocus}>
<button type="submit" name="action" value="save">Save</button>
<button type="submit" name="action" value="discard">Discard</button>
</form>"""


def review_app(queue: ReviewQueue, *, per_page: int = 20, scale: int = 6) -> Callable:
    """A Starlette app: GET / lists queued images; POST /label saves or discards one."""
    from urllib.parse import parse_qs, quote

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import HTMLResponse, RedirectResponse, Response
    from starlette.routing import Route

    token = secrets.token_urlsafe(16)  # the form must come from this page, not from another site
    height = scale * (queue.spec.height if queue.spec else 22)

    async def index(request: Request) -> Response:
        names = queue.items()
        msg = request.query_params.get("msg", "")
        err = request.query_params.get("err", "")
        message = "".join(
            f'<p class="{cls}">{html.escape(text)}</p>' for cls, text in (("msg", msg), ("err", err)) if text
        )
        items = "\n".join(
            _ITEM.format(
                name=html.escape(n),
                qname=quote(n),
                token=token,
                prediction=html.escape(queue.prediction(n)),
                autofocus="autofocus" if i == 0 else "",
            )
            for i, n in enumerate(names[:per_page])
        )
        page = _PAGE.format(
            height=height,
            remaining=len(names),
            queue=html.escape(str(queue.queue_dir)),
            dataset=html.escape(str(queue.dataset_dir)),
            message=message,
            items=items or "<p>The queue is empty.</p>",
        )
        return HTMLResponse(page)

    async def image(request: Request) -> Response:
        try:
            path = queue.path(request.query_params.get("name", ""))
        except DatasetError:
            return Response("not in the queue", 404)
        media = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".bmp": "image/bmp"}
        return Response(path.read_bytes(), media_type=media.get(path.suffix.lower(), "image/png"))

    async def label(request: Request) -> Response:
        body = (await request.body()).decode("utf-8", errors="replace")
        form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}  # no multipart needed
        if not secrets.compare_digest(str(form.get("token", "")), token):
            return Response("stale or foreign form: reload the page", 403)
        name = str(form.get("name", ""))
        try:
            if form.get("action") == "discard":
                queue.discard(name)
                note = f"msg=discarded+{quote(name)}"
            else:
                dest = queue.label(name, str(form.get("label", "")))
                note = f"msg=saved+as+{quote(dest.name)}"
        except DatasetError as err:
            note = f"err={quote(str(err))}"
        return RedirectResponse(f"./?{note}", status_code=303)

    return Starlette(routes=[Route("/", index), Route("/image", image), Route("/label", label, methods=["POST"])])


# ---- the terminal ----------------------------------------------------------------------------


def terminal_picture(data: bytes, width: int = 68 * 2) -> list[str]:
    """The image as lines of Rich markup: each character is two pixels (upper and lower half block)."""
    img = open_image(data).convert("L")
    scale = max(1, width // max(1, img.width))
    img = img.resize((img.width * scale, img.height * scale))
    if img.height % 2:
        img = img.crop((0, 0, img.width, img.height + 1))
    px = img.load()
    assert px is not None
    lines = []
    for y in range(0, img.height, 2):
        cells = []
        for x in range(img.width):
            top, bottom = px[x, y], px[x, y + 1] if y + 1 < img.height else 255
            cells.append(f"[rgb({top},{top},{top}) on rgb({bottom},{bottom},{bottom})]▀[/]")
        lines.append("".join(cells))
    return lines


def review_terminal(queue: ReviewQueue, ask: Callable[[str], str], show: Callable[[str], None]) -> tuple[int, int]:
    """Label the queue one image at a time. ``ask`` returns the typed line (EOF → stop).

    Enter keeps the prediction, ``-`` discards the image, ``q`` stops. Returns (labelled, discarded).
    """
    labelled = discarded = 0
    names = queue.items()
    for i, name in enumerate(names, start=1):
        guess = queue.prediction(name)
        for line in terminal_picture(queue.path(name).read_bytes()):
            show(line)
        while True:
            try:
                answer = ask(f"[{i}/{len(names)}] label (Enter = {guess}, - = discard, q = quit): ").strip()
            except EOFError:
                return labelled, discarded
            if answer.lower() == "q":
                return labelled, discarded
            if answer == "-":
                queue.discard(name)
                discarded += 1
                show(f"discarded {name}")
                break
            try:
                dest = queue.label(name, answer or guess)
            except DatasetError as err:
                show(f"[red]{markup_escape(str(err))}[/]")
                continue
            labelled += 1
            show(f"saved as {dest}")
            break
    return labelled, discarded
