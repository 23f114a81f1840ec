"""Pieces the school captcha renderers share: the shipped fonts by name, rotated glyph masks,
random colours. Cached, because a training set draws the same glyphs many thousand times."""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path(__file__).resolve().parent / "fonts"


@lru_cache(maxsize=64)
def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """A shipped font (``fonts/NAME``) at ``size``; Pillow's default if the file cannot be read."""
    try:
        return ImageFont.truetype(str(FONT_DIR / name), size)
    except OSError:
        return ImageFont.load_default(size)


@lru_cache(maxsize=8192)
def glyph(char: str, font_name: str, size: int, angle: int) -> Image.Image:
    """``char`` as an anti-aliased "L" mask, rotated by ``angle`` degrees, cropped to its ink."""
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size, size), char, font=font(font_name, size), fill=255, anchor="mm")
    canvas = canvas.rotate(angle, resample=Image.Resampling.BILINEAR)
    return canvas.crop(canvas.getbbox() or (0, 0, 1, 1))


def colour(rng: random.Random, lo: int, hi: int) -> tuple[int, int, int]:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))
