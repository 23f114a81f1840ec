"""Where a simulator's captcha images come from: a renderer, or a folder / .tar.gz of real ``<label>.png``."""

from __future__ import annotations

import io
import random
import tarfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any, Protocol


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
    """Real captchas, served as they are; the label is the file name without ``.png``."""

    def __init__(self, images: list[tuple[str, bytes]], *, seed: int = 0) -> None:
        if not images:
            raise ValueError("no captcha images")
        self._images = images
        self._rng = random.Random(seed)

    def next(self) -> tuple[str, bytes, str]:
        label, data = self._rng.choice(self._images)
        return label, data, "image/png"

    def __len__(self) -> int:
        return len(self._images)

    @classmethod
    def load(cls, path: str | Path, *, seed: int = 0, limit: int | None = None) -> FileCaptchas:
        """Read ``<label>.png`` files from a folder or a .tar.gz. Raises ValueError with a one-line reason."""
        p = Path(path)
        if not p.exists():
            raise ValueError(f"captcha source {p} does not exist")
        if p.is_dir():
            images = [(f.stem, f.read_bytes()) for f in sorted(p.glob("*.png"))[:limit]]
        elif p.name.endswith((".tar.gz", ".tgz", ".tar")):
            images = _read_tar(p, limit)
        else:
            raise ValueError(f"captcha source {p} is neither a folder nor a .tar.gz of <label>.png files")
        if not images:
            raise ValueError(f"captcha source {p} holds no <label>.png files")
        return cls(images, seed=seed)


def _read_tar(path: Path, limit: int | None) -> list[tuple[str, bytes]]:
    images: list[tuple[str, bytes]] = []
    try:
        with tarfile.open(path) as tar:
            for member in tar:
                if limit is not None and len(images) >= limit:
                    break
                name = PurePosixPath(member.name)
                if not member.isfile() or name.suffix != ".png" or name.name.startswith("."):
                    continue
                f = tar.extractfile(member)
                if f is not None:
                    images.append((name.stem, f.read()))
    except (tarfile.TarError, OSError, EOFError) as err:
        reason = "not a readable tar archive" if isinstance(err, tarfile.TarError) else str(err).splitlines()[0]
        raise ValueError(f"captcha source {path} is unreadable: {reason}") from err
    return images
