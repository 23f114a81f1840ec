"""Slider-captcha challenges for the simulators: a picture with a piece-shaped gap, and the piece.

Drawn the way the common ones look: a busy photo-like background, a jigsaw piece (a square with a
round knob) cut out at a random place, the gap shaded, the piece with its own picture and a light rim.
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter


@dataclass(frozen=True)
class SliderChallenge:
    gap_x: int  # the gap's left edge in background pixels
    y: int  # the piece's top row
    width: int  # background width
    tag_width: int  # the piece's width
    background: bytes  # PNG
    piece: bytes  # PNG with alpha, cropped to the piece


def _background(rng: random.Random, width: int, height: int) -> Image.Image:
    im = Image.new("RGB", (width, height), tuple(rng.randint(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(im)
    for _ in range(rng.randint(25, 45)):
        x0, y0 = rng.randint(-40, width), rng.randint(-40, height)
        x1, y1 = x0 + rng.randint(20, 120), y0 + rng.randint(20, 90)
        colour = tuple(rng.randint(20, 235) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    return im.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 2.5)))


def _piece_mask(size: int, knob: int) -> Image.Image:
    total = size + knob
    mask = Image.new("L", (total, total), 0)
    draw = ImageDraw.Draw(mask)
    draw.rectangle((0, knob, size - 1, total - 1), fill=255)
    r = knob
    draw.ellipse((size // 2 - r, 0, size // 2 + r, 2 * r), fill=255)  # the knob on top
    return mask


def make_challenge(rng: random.Random, *, width: int = 280, height: int = 170, size: int = 44) -> SliderChallenge:
    knob = size // 4
    bg = _background(rng, width, height)
    mask = _piece_mask(size, knob)
    pw, ph = mask.size
    gap_x = rng.randint(pw + 10, width - pw - 5)
    y = rng.randint(5, height - ph - 5)
    piece = bg.crop((gap_x, y, gap_x + pw, y + ph)).convert("RGBA")
    rim = mask.filter(ImageFilter.FIND_EDGES)
    piece_pixels = Image.composite(Image.new("RGBA", (pw, ph), (255, 255, 255, 255)), piece, rim)
    piece_pixels.putalpha(mask)
    # The gap: the background under the piece darkened, with a light rim, as the real ones draw it.
    shade = Image.new("RGB", (pw, ph), (0, 0, 0))
    region = bg.crop((gap_x, y, gap_x + pw, y + ph))
    darker = Image.blend(region, shade, rng.uniform(0.45, 0.6))
    darker = Image.composite(Image.new("RGB", (pw, ph), (235, 235, 235)), darker, rim)
    bg.paste(darker, (gap_x, y), mask)
    return SliderChallenge(gap_x, y, width, pw, _png(bg), _png(piece_pixels))


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format="PNG")
    return buf.getvalue()
