"""Model input specifications: what a captcha model reads and how its image is prepared.

A `CaptchaSpec` is everything a model needs to know about its captcha kind: the
characters it can output, how many, the input size, and the preprocessing that
training and solving both apply (`preprocess`). It is plain data: it goes into
each model's JSON sidecar and comes back from it, so a model file is
self-describing.

Variable-length captchas (e.g. 4 to 6 characters) are described by
`min_length < length`: the model then has `length` output positions and one
extra "blank" class (index `len(charset)`) that pads shorter texts at the end.
"""

from __future__ import annotations

import io
import string
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from gradewatch.captcha.errors import InvalidImage
from gradewatch.image_limits import TOO_LARGE, too_large

BLANK = ""  # what the blank class decodes to
#: How a resized captcha is sampled. Pillow's antialiased bilinear for every shipped model; nearest
#: for a learned spec that shrinks its captcha only a little (spec_learn: the 北京大学 kaptcha at
#: 130x52 -> 100x40 read 97.26 % against 97.35 %, and the resize took 11 instead of 85 us).
RESAMPLE = {"bilinear": Image.Resampling.BILINEAR, "nearest": Image.Resampling.NEAREST}


@dataclass(frozen=True)
class CaptchaSpec:
    """Describes one kind of captcha model: output alphabet, length and input preprocessing."""

    name: str
    charset: str
    length: int  # maximum (and, when min_length is None, exact) number of characters
    width: int
    height: int
    grayscale: bool = True
    threshold: int | None = None  # pixel > threshold -> 255, else 0 (after grayscale)
    min_length: int | None = None  # None: fixed length; else texts have min_length..length chars
    resize: bool = False  # False: an image of another size is rejected; True: it is resized
    resample: str = "bilinear"  # how it is resized: a key of RESAMPLE

    def __post_init__(self) -> None:
        if not self.charset or len(set(self.charset)) != len(self.charset):
            raise ValueError("charset must be non-empty and without repeated characters")
        if self.length < 1:
            raise ValueError("length must be at least 1")
        if self.min_length is not None and not 1 <= self.min_length <= self.length:
            raise ValueError("min_length must be between 1 and length")
        if self.threshold is not None and not 0 <= self.threshold <= 255:
            raise ValueError("threshold must be within 0..255")
        if self.resample not in RESAMPLE:
            raise ValueError(f"resample must be one of {', '.join(RESAMPLE)}")

    # ----- output alphabet -------------------------------------------------
    @property
    def variable_length(self) -> bool:
        return self.min_length is not None and self.min_length < self.length

    @property
    def num_classes(self) -> int:
        """Classes per output position: the charset, plus a blank when the length varies."""
        return len(self.charset) + (1 if self.variable_length else 0)

    @property
    def channels(self) -> int:
        return 1 if self.grayscale else 3

    def valid_label(self, text: str) -> bool:
        lo = self.min_length if self.min_length is not None else self.length
        return lo <= len(text) <= self.length and all(c in self.charset for c in text)

    def normalize_label(self, text: str) -> str:
        """A label in the charset's case when the charset has letters of one case only (a
        case-insensitive spec): lower-cased for ``a-z`` charsets, upper-cased for ``A-Z`` ones (URP)."""
        if not any(c.isupper() for c in self.charset):
            return text.lower()
        if not any(c.islower() for c in self.charset):
            return text.upper()
        return text

    def encode(self, text: str) -> list[int]:
        """Class index per output position (blank-padded for variable-length specs)."""
        idx = [self.charset.index(c) for c in text]
        return idx + [len(self.charset)] * (self.length - len(idx))

    def decode(self, indices: Any) -> str:
        blank = len(self.charset)
        return "".join(self.charset[i] for i in (int(j) for j in indices) if i != blank)

    # ----- serialisation ---------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaptchaSpec:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    # ----- preprocessing ---------------------------------------------------
    def preprocess(self, image: Image.Image) -> np.ndarray:
        """Image -> float32 array (channels, height, width) in 0..1, as the model reads it.

        Training and solving both go through here. For SSFW: grayscale, then
        threshold 173 to 0/255, exactly as the original pipeline did; an image
        that is already binarized passes through unchanged.
        """
        return to_model_input(self.prepare(image))

    def prepare(self, image: Image.Image) -> np.ndarray:
        """Image -> uint8 array (channels, height, width) after size check, grayscale and threshold."""
        image = self._fit(image)
        if self.grayscale:
            arr = np.asarray(image.convert("L"), dtype=np.uint8)
            if self.threshold is not None:
                arr = np.where(arr > self.threshold, 255, 0).astype(np.uint8)
            return arr[None, :, :]
        arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
        if self.threshold is not None:
            arr = np.where(arr > self.threshold, 255, 0).astype(np.uint8)
        return np.ascontiguousarray(arr.transpose(2, 0, 1))

    def model_input(self, image: Image.Image) -> np.ndarray:
        """Same floats as `to_model_input(self.prepare(image))`, computed faster (the solver's path)."""
        image = self._fit(image)
        if self.grayscale:
            gray = np.asarray(image if image.mode == "L" else image.convert("L"))
            return _input_table(self.threshold)[gray][None, :, :]
        rgb = np.asarray(image if image.mode == "RGB" else image.convert("RGB")).transpose(2, 0, 1)
        if self.threshold is not None:
            return np.ascontiguousarray(_input_table(self.threshold)[rgb])
        # No threshold: arithmetic into one contiguous array is twice as fast as a table look-up of
        # three planes (15 against 31 us at 100x40), and computes what `to_model_input` does.
        out = np.empty(rgb.shape, dtype=np.float32)
        np.subtract(255, rgb, out=out, casting="unsafe")
        out *= 1.0 / 255.0
        return out

    def _fit(self, image: Image.Image) -> Image.Image:
        """Size check (or resize) and flattening of palette/alpha images onto white."""
        if image.mode not in ("L", "RGB"):
            image = on_white(image)  # before any resize: a transparent GIF's background is white, not black
        if image.size != (self.width, self.height):
            if not self.resize:
                raise InvalidImage(
                    f"image is {image.size[0]}x{image.size[1]}, model {self.name!r} expects {self.width}x{self.height}"
                )
            image = image.convert("L" if self.grayscale else "RGB").resize(
                (self.width, self.height), RESAMPLE[self.resample]
            )
        return image


def on_white(image: Image.Image) -> Image.Image:
    """Palette/alpha image -> RGB, through RGBA so that they are flattened the same way every time."""
    if image.mode.startswith("I"):  # 16-bit gray (Pillow's I;16 / I): convert() clips it to near-white
        levels = np.asarray(image).astype(np.uint32)
        if levels.max(initial=0) > 255:
            levels >>= 8
        image = Image.fromarray(levels.astype(np.uint8), "L")
    image = image.convert("RGBA")
    bg = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(bg, image).convert("RGB")


@lru_cache(maxsize=32)
def _input_table(threshold: int | None) -> np.ndarray:
    """float32[256]: gray level -> model input value (threshold, then ink = 1), exactly as `to_model_input`."""
    levels = np.arange(256, dtype=np.uint8)
    if threshold is not None:
        levels = np.where(levels > threshold, 255, 0).astype(np.uint8)
    return to_model_input(levels)


def to_model_input(prepared: np.ndarray) -> np.ndarray:
    """uint8 (…, C, H, W) -> float32 in 0..1 with ink as 1 (white background becomes 0)."""
    return (255 - prepared.astype(np.float32)) * (1.0 / 255.0)


def open_image(source: bytes | Image.Image | str | Path) -> Image.Image:
    """Open bytes, a path or a PIL image fully, raising `InvalidImage` with a one-line reason."""
    if isinstance(source, Image.Image):
        return source
    name = "image bytes"
    try:
        if isinstance(source, (str, Path)):
            name = str(source)
            data = Path(source).read_bytes()
        elif isinstance(source, (bytes, bytearray, memoryview)):
            data = bytes(source)
        else:
            raise InvalidImage(f"cannot read an image from a {type(source).__name__}")
    except OSError as exc:
        raise InvalidImage(f"{name}: cannot read file ({exc.strerror or exc})") from None
    try:
        img = Image.open(io.BytesIO(data))
        if too_large(img):  # the header's size, before any decoding
            raise InvalidImage(f"{name}: image too large for a captcha ({img.width}x{img.height})")
        img.load()  # decode now so a truncated file fails here, not later
    except UnidentifiedImageError:
        raise InvalidImage(f"{name}: not an image file") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InvalidImage(f"{name}: damaged image ({exc})") from None
    except TOO_LARGE:
        raise InvalidImage(f"{name}: image too large for a captcha") from None
    return img


LOWER_ALNUM = string.digits + string.ascii_lowercase

SPECS: dict[str, CaptchaSpec] = {
    "ssfw": CaptchaSpec(
        name="ssfw",
        charset=LOWER_ALNUM,
        length=4,
        width=68,
        height=22,
        grayscale=True,
        threshold=173,
    ),
    # ZF jwglxt kaptcha (200x50), read downscaled to 88x22. One model for both styles: stock kaptcha
    # (the vendor default: 4 of "abcde2345678gfynmnpwx") and the school variant of render_zf (4-5 of
    # "2345679abdefhmnrtABDEFGHJLMNQRTY", case sensitive); the charset is their union. The vendor's
    # login action compares the code with equalsIgnoreCase, so case only matters to stricter servers.
    "zf": CaptchaSpec(
        name="zf",
        charset="23456789abcdefghmnprtwxyABDEFGHJLMNQRTY",
        length=5,
        min_length=4,
        width=88,
        height=22,
        grayscale=True,
        resize=True,
    ),
    # 强智 jsxsd verifycode.servlet (62x22, 4 characters of a school's ten-symbol alphabet).
    "qiangzhi": CaptchaSpec(
        name="qiangzhi",
        charset="123bcmnvxz",
        length=4,
        width=62,
        height=22,
        grayscale=True,
    ),
}


def get_spec(name: str) -> CaptchaSpec:
    if name not in SPECS and name.isidentifier():
        # A school's spec registers itself in its renderer module (render_<name>.py); load it on
        # demand, so `captcha train --spec zf_legacy` works without importing every renderer first.
        import importlib

        try:
            importlib.import_module(f"gradewatch.captcha.render_{name}")
        except ModuleNotFoundError:
            pass
    try:
        return SPECS[name]
    except KeyError:
        raise KeyError(f"unknown captcha spec {name!r} (known: {', '.join(sorted(SPECS))})") from None
