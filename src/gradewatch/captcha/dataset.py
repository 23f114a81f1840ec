"""Labelled captcha datasets: a folder or a .tar.gz (.tgz, .tar) of `<label>.png` files.

The label is the file name without its extension; a suffix after `_` is ignored
when the charset has no `_` (so `ab3k_2.png` can sit beside `ab3k.png`).
Images are decoded and preprocessed with the model's spec when loaded, so a
dataset in memory is a compact uint8 array.

`split` sends each file to validation or training by a hash of its file name:
the same file always lands on the same side, so a dataset that grows keeps its
validation items.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import re
import tarfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from gradewatch.captcha.errors import CaptchaError, DatasetError
from gradewatch.captcha.spec import CaptchaSpec, open_image

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar")


@dataclass(frozen=True)
class Sample:
    name: str  # file name inside the dataset (used for the split hash)
    label: str
    image: np.ndarray  # uint8 (C, H, W), the spec's `prepare` output


@dataclass
class Dataset:
    source: str
    samples: list[Sample]
    skipped: Counter = field(default_factory=Counter)  # reason -> count

    def __len__(self) -> int:
        return len(self.samples)

    def arrays(self, spec: CaptchaSpec) -> tuple[np.ndarray, np.ndarray]:
        """(images uint8 (N, C, H, W), targets int64 (N, length))."""
        if not self.samples:
            return (
                np.zeros((0, spec.channels, spec.height, spec.width), np.uint8),
                np.zeros((0, spec.length), np.int64),
            )
        x = np.stack([s.image for s in self.samples])
        y = np.array([spec.encode(s.label) for s in self.samples], dtype=np.int64)
        return x, y


def is_archive(path: Path) -> bool:
    return path.name.lower().endswith(ARCHIVE_SUFFIXES)


#: What file managers and browsers add to a second copy: `ab3k (2)`, `ab3k(1)`, `ab3k copy`, `ab3k copy 2`,
#: `ab3k - 副本`, `ab3k - Copy`. Only a suffix that no captcha alphabet of ours holds (space, brackets).
_COPY_MARK = re.compile(r"(?: ?\(\d+\)| copy(?: \d+)?| - (?:副本|Copy)(?: \(\d+\))?)$")


def label_from_name(name: str, spec: CaptchaSpec | None = None) -> str:
    stem = PurePosixPath(name).name
    for suf in IMAGE_SUFFIXES:
        if stem.lower().endswith(suf):
            stem = stem[: -len(suf)]
            break
    if "_" in stem and (spec is None or "_" not in spec.charset):
        stem = stem.split("_", 1)[0]
    if spec is None or not set(" ()") & set(spec.charset):
        stem = _COPY_MARK.sub("", stem)  # `ab3k (2).png`: a browser's or file manager's second download
    return spec.normalize_label(stem) if spec is not None else stem


def is_image_name(name: str) -> bool:
    """An image file by its name; hidden ones (macOS puts `._x.png` metadata beside `x.png` in archives) are not."""
    return not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES)


def _walk(root: Path) -> Iterator[Path]:
    """Every file below ``root``, through linked folders too (each real folder once); a folder that
    cannot be listed is an error, not a part of the set left out without a word (Path.rglob)."""

    def fail(err: OSError) -> None:
        raise DatasetError(f"{err.filename}: cannot list ({err.strerror or err})")

    seen: set[tuple[int, int]] = set()
    for folder, dirs, names in os.walk(root, followlinks=True, onerror=fail):
        st = os.stat(folder)
        if (st.st_dev, st.st_ino) in seen:  # a link back up the tree
            dirs[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        for name in names:
            p = Path(folder, name)
            if p.is_file():
                yield p


def iter_files(path: str | Path) -> Iterator[tuple[str, bytes]]:
    """Yield (file name, bytes) for every image file of a folder (recursively) or an archive, sorted by name."""
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: no such file or directory")
    if path.is_dir():
        files = sorted((p for p in _walk(path) if is_image_name(p.name)), key=lambda p: p.name)
        for p in files:
            try:
                yield p.name, p.read_bytes()
            except OSError as exc:
                raise DatasetError(f"{p}: cannot read ({exc.strerror or exc})") from None
        return
    if is_archive(path):
        # One pass in archive order (a stream, no seeking), sorted afterwards: reading members of a
        # .tar.gz in name order seeks back and decompresses again each time (minutes for 8,000).
        found: list[tuple[str, bytes]] = []
        try:
            with path.open("rb") as raw, _decompressed(raw) as stream:
                with tarfile.open(fileobj=stream, mode="r|") as tar:
                    for m in tar:
                        name = PurePosixPath(m.name).name
                        if m.isfile() and is_image_name(name):
                            fh = tar.extractfile(m)
                            if fh is not None:
                                found.append((name, fh.read()))
                # A stream reader takes a cut-off download for the end of the archive: read the
                # compressed stream to its end, where the decompressor checks that it is whole.
                while stream.read(1 << 20):
                    pass
        except (tarfile.TarError, OSError, EOFError) as exc:
            first = str(exc).splitlines()[0] if str(exc).strip() else type(exc).__name__
            reason = "not a tar archive" if isinstance(exc, tarfile.ReadError) and not found else first
            raise DatasetError(f"{path}: unreadable archive ({reason})") from None
        found.sort(key=lambda f: f[0])
        yield from found
        return
    raise DatasetError(f"{path}: not a folder or a .tar.gz/.tgz/.tar archive of <label>.png images")


def _decompressed(raw: io.BufferedReader) -> io.BufferedIOBase:
    """The archive's tar bytes as a stream: gunzipped when its first bytes say gzip, else as they are."""
    magic = raw.peek(2)[:2]
    if magic.startswith(b"\x1f\x8b"):
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return raw  # a plain .tar (closing it twice is harmless)


def load(path: str | Path, spec: CaptchaSpec, *, limit: int | None = None) -> Dataset:
    """Load and preprocess every `<label>.png` of a folder or archive; unusable files are counted, not fatal."""
    samples: list[Sample] = []
    skipped: Counter = Counter()
    for name, data in iter_files(path):
        label = label_from_name(name, spec)
        if not spec.valid_label(label):
            skipped["label not valid for the spec"] += 1
            continue
        try:
            img = open_image(data)
            arr = spec.prepare(img)
        except CaptchaError:
            skipped["unreadable or wrong-size image"] += 1
            continue
        samples.append(Sample(name, label, arr))
        if limit is not None and len(samples) >= limit:
            break
    return Dataset(str(path), samples, skipped)


def _bucket(name: str, salt: str = "") -> float:
    digest = hashlib.sha256((salt + name).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def is_validation(name: str, val_fraction: float, salt: str = "") -> bool:
    return _bucket(name, salt) < val_fraction


def split(items: Sequence[Sample], val_fraction: float = 0.1, *, salt: str = "") -> tuple[list[Sample], list[Sample]]:
    """Deterministic (train, validation) split by a hash of each file name."""
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError("val_fraction must be within [0, 1)")
    train: list[Sample] = []
    val: list[Sample] = []
    for s in items:
        (val if is_validation(s.name, val_fraction, salt) else train).append(s)
    return train, val
