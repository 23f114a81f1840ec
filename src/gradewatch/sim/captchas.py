"""Where a simulator's captcha images come from: a renderer, or a folder / .tar.gz of real ``<label>.png``."""

from __future__ import annotations

import io
import itertools
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

log = logging.getLogger(__name__)


class CaptchaSource(Protocol):
    def next(self) -> tuple[str, bytes, str]:
        """A new captcha: (answer, image bytes, media type)."""
        ...


class RenderedCaptchas:
    """Random texts drawn by a renderer ``render(text, rng) -> PIL image``, served as PNG or JPEG."""

    def __init__(
        self,
        render: Callable[[str, random.Random], Any],
        *,
        charset: str,
        length: int,
        seed: int = 0,
        image_format: str = "PNG",
    ) -> None:
        self._render = render
        self._charset = charset
        self._length = length
        self._rng = random.Random(seed)
        self._format = image_format.upper()

    def next(self) -> tuple[str, bytes, str]:
        text = "".join(self._rng.choices(self._charset, k=self._length))
        buf = io.BytesIO()
        options = {"quality": 95} if self._format == "JPEG" else {}
        self._render(text, self._rng).save(buf, format=self._format, **options)
        return text, buf.getvalue(), f"image/{self._format.lower()}"


class FileCaptchas:
    """Real captchas, served as they are, with the media type their bytes say (PNG, GIF, JPEG, BMP).

    Files follow the captcha engine's convention (``gradewatch.captcha.dataset``): the label is the
    file name without its extension, a ``_2``-style suffix lets equal labels coexist, and folders
    are read recursively — so any folder ``gradewatch captcha eval`` reads can be served.
    """

    def __init__(self, images: list[tuple[str, bytes]], *, seed: int = 0) -> None:
        if not images:
            raise ValueError("no captcha images")
        self._images = images
        self._rng = random.Random(seed)

    def next(self) -> tuple[str, bytes, str]:
        label, data = self._rng.choice(self._images)
        return label, data, media_type(data)

    def __len__(self) -> int:
        return len(self._images)

    @classmethod
    def load(cls, path: str | Path, *, seed: int = 0, limit: int | None = None) -> FileCaptchas:
        """Read ``<label>.png`` (.gif, .jpg, .bmp, .webp, .tif) files of a folder or .tar.gz; ValueError if not."""
        from gradewatch.captcha.dataset import iter_files, label_from_name
        from gradewatch.captcha.errors import DatasetError

        p = Path(path)
        if not p.exists():
            raise ValueError(f"captcha source {p} does not exist")
        try:
            files = iter_files(p)
            named = [(name, data) for name, data in itertools.islice(files, limit)]
        except DatasetError as err:
            raise ValueError(f"captcha source {err}") from None
        # A real server serves images: a stray text file or a truncated download in the folder must not
        # reach a client as a captcha (its harvest would stop, blaming the school).
        bad = {name for name, data in named if not _decodes(data)}
        images = [(label_from_name(name), data) for name, data in named if name not in bad]
        if bad:
            log.warning("captcha source %s: %d file(s) are not readable images, not served (e.g. %s)",
                        p, len(bad), ", ".join(sorted(bad)[:3]))
        if not images:
            raise ValueError(f"captcha source {p} holds no readable <label>.png images")
        return cls(images, seed=seed)


def _decodes(data: bytes) -> bool:
    """An image a browser would show: a media type we can name, and bytes that decode to the end."""
    from gradewatch.captcha.errors import CaptchaError
    from gradewatch.captcha.spec import open_image

    if media_type(data) == "application/octet-stream":
        return False
    try:
        open_image(data)
    except CaptchaError:
        return False
    return True


_MAGIC = (
    (b"\x89PNG", "image/png"),
    (b"GIF8", "image/gif"),
    (b"\xff\xd8", "image/jpeg"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def media_type(data: bytes) -> str:
    """The media type a server sends for these image bytes (some published sets name JPEG or GIF files .png)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in _MAGIC if data.startswith(magic)), "application/octet-stream")
