"""Synthetic captchas of the ZF (正方 jwglxt) and 强智 (jsxsd) login pages.

They imitate what docs/school-systems.md and the field notes describe; the simulators serve them
and the shipped ``zf`` and ``qiangzhi`` models are trained on them.

- ``render_kaptcha``: stock Google kaptcha as the ZF vendor ships it (field notes): 200x50, 4
  characters of kaptcha's default ``abcde2345678gfynmnpwx``, drawn the way kaptcha's default
  classes draw (see the section below). ``sample_zf`` mixes it with ``render_zf`` for training.

- ``render_zf``: a Google *kaptcha* image as the new ZF serves at ``/kaptcha``: 200x50, 4–5
  characters, case sensitive, a light gradient background, characters of about 36 px on a fixed
  advance (a monospaced kaptcha font), one thick noise curve across the text and kaptcha's
  default "water ripple" warp. The character set is the school's ``kaptcha.textproducer.char.string``;
  like most deployments it leaves out shapes that differ only in size or are easily confused
  (0/O/o, 1/l/I, c/C, s/S, …), while keeping both cases of the others (``a``/``A`` …).
- ``render_qiangzhi``: the small ``verifycode.servlet`` image: 62x22, 4 characters from a
  ten-symbol alphabet, each in its own colour, a few light noise lines and a dark 1-px border.

Glyphs come from Pillow's built-in scalable font (bundled with Pillow, so the images do not
depend on the fonts installed on the machine), with the shipped DejaVu font as a fallback.
"""

from __future__ import annotations

import math
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gradewatch.captcha.render_kaptcha import KAPTCHA_CHARSET, KAPTCHA_LENGTH, kaptcha_text, render_kaptcha
from gradewatch.captcha.spec import SPECS

FONT_DIR = Path(__file__).resolve().parent / "fonts"

#: kaptcha.textproducer.char.string of the simulated ZF school that ``render_zf`` draws (case
#: sensitive); the ``zf`` model reads the union of this and ``KAPTCHA_CHARSET``.
ZF_CHARSET = "2345679abdefhmnrtABDEFGHJLMNQRTY"
ZF_WIDTH, ZF_HEIGHT = 200, 50
#: The 强智 alphabet one school uses (docs/school-systems.md §3).
QIANGZHI_CHARSET = SPECS["qiangzhi"].charset
QIANGZHI_WIDTH, QIANGZHI_HEIGHT = 62, 22


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1 has no scalable built-in font
        return ImageFont.truetype(str(FONT_DIR / "DejaVuSans-Oblique.ttf"), size)


@lru_cache(maxsize=4096)
def _glyph(char: str, size: int, stroke: int) -> Image.Image:
    """An 'L' mask of one character, cropped to its ink horizontally; the baseline is BASELINE * size down
    from the top, which is 0.4 * size below the mask's centre (a rotation about the centre keeps that)."""
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text(
        (size // 2, round(_BASELINE * size)),
        char,
        font=_font(size),
        fill=255,
        anchor="ls",
        stroke_width=stroke,
        stroke_fill=255,
    )
    box = canvas.getbbox() or (0, 0, 1, 1)
    return canvas.crop((box[0], 0, box[2], canvas.height))


_BASELINE = 1.4  # in units of the font size, from the top of a glyph mask of height 2 * size


def _rgb(gen: np.random.Generator, lo: int, hi: int) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in gen.integers(lo, hi + 1, size=3))
    return r, g, b


# ---- ZF kaptcha ------------------------------------------------------------------------------


def _gradient(gen: np.random.Generator, width: int, height: int) -> np.ndarray:
    """kaptcha's DefaultBackground: a left-to-right gradient between two light colours."""
    a = np.array(_rgb(gen, 205, 245), np.float32)
    b = np.array(_rgb(gen, 235, 255), np.float32)
    t = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    row = a * (1 - t) + b * t
    return np.broadcast_to(row, (height, width, 3)).copy()


def _ripple(arr: np.ndarray, gen: np.random.Generator) -> np.ndarray:
    """kaptcha's WaterRipple: sine displacement in x (by row) and y (by column), bilinear resampling."""
    h, w = arr.shape[:2]
    ax, ay = gen.uniform(1.2, 2.2), gen.uniform(1.0, 1.8)
    lx, ly = gen.uniform(24, 36), gen.uniform(30, 45)
    px, py = gen.uniform(0, 2 * math.pi, size=2)
    ys = np.arange(h, dtype=np.float32)[:, None]
    xs = np.arange(w, dtype=np.float32)[None, :]
    sx = np.clip(xs + ax * np.sin(2 * math.pi * ys / lx + px), 0, w - 1.001)
    sy = np.clip(ys + ay * np.sin(2 * math.pi * xs / ly + py), 0, h - 1.001)
    x0, y0 = sx.astype(np.int32), sy.astype(np.int32)
    fx, fy = (sx - x0).ravel()[:, None], (sy - y0).ravel()[:, None]
    flat = arr.reshape(-1, arr.shape[2])
    i00 = (y0 * w + x0).ravel()
    top = flat[i00] * (1 - fx) + flat[i00 + 1] * fx
    bottom = flat[i00 + w] * (1 - fx) + flat[i00 + w + 1] * fx
    return (top * (1 - fy) + bottom * fy).reshape(arr.shape)


def _curve(draw: ImageDraw.ImageDraw, rng: random.Random, colour: tuple[int, int, int]) -> None:
    """kaptcha's DefaultNoise: one cubic curve from the left edge to the right edge across the text."""
    w, h = ZF_WIDTH, ZF_HEIGHT
    p0 = (rng.uniform(0, w * 0.1), rng.uniform(h * 0.3, h * 0.8))
    p1 = (rng.uniform(w * 0.2, w * 0.45), rng.uniform(0, h))
    p2 = (rng.uniform(w * 0.55, w * 0.8), rng.uniform(0, h))
    p3 = (rng.uniform(w * 0.9, w), rng.uniform(h * 0.2, h * 0.7))
    pts = []
    for i in range(41):
        t = i / 40
        u = 1 - t
        pts.append(
            tuple(
                u**3 * a + 3 * u * u * t * b + 3 * u * t * t * c + t**3 * d
                for a, b, c, d in zip(p0, p1, p2, p3, strict=True)
            )
        )
    draw.line(pts, fill=colour, width=rng.choice((2, 3)), joint="curve")


def render_zf(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4–5 chars of ZF_CHARSET) as a kaptcha-style ZF captcha: RGB, 200x50."""
    gen = np.random.default_rng(rng.getrandbits(64))
    img = Image.fromarray(_gradient(gen, ZF_WIDTH, ZF_HEIGHT).astype(np.uint8), "RGB")
    ink = _rgb(gen, 0, 70)
    size = rng.randint(34, 38)
    glyphs = [_glyph(c, size, 1) for c in text]
    # Monospaced advance (kaptcha's default fonts include Courier): each glyph centred in its cell,
    # the word centred in the image, as kaptcha's DefaultWordRenderer does.
    advance = round(0.78 * size) + rng.randint(0, 3)
    x = (ZF_WIDTH - advance * len(glyphs)) / 2 + rng.uniform(-3, 3)
    baseline = ZF_HEIGHT // 2 + round(0.36 * size) + rng.randint(-3, 3)  # capitals centred, give or take
    for g in glyphs:
        y = baseline - round(_BASELINE * size) + rng.randint(-1, 1)
        img.paste(ink, (round(x + (advance - g.width) / 2), y), g)
        x += advance
    _curve(ImageDraw.Draw(img), rng, ink)
    arr = _ripple(np.asarray(img, np.float32), gen)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")


# ---- 强智 -------------------------------------------------------------------------------------


def render_qiangzhi(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4 chars of QIANGZHI_CHARSET) as a 强智 verifycode.servlet image: RGB, 62x22."""
    gen = np.random.default_rng(rng.getrandbits(64))
    w, h = QIANGZHI_WIDTH, QIANGZHI_HEIGHT
    img = Image.new("RGB", (w, h), _rgb(gen, 238, 255))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 6)):  # light noise lines behind the text
        draw.line(
            [(rng.randint(0, w), rng.randint(0, h)), (rng.randint(0, w), rng.randint(0, h))],
            fill=_rgb(gen, 150, 215),
            width=1,
        )
    size = 17
    for i, char in enumerate(text):
        g = _glyph(char, size, 0)
        x = 5 + 13 * i + rng.randint(-1, 2)
        y = 17 - round(_BASELINE * size) + rng.randint(-2, 1)  # baseline near y = 17
        img.paste(_rgb(gen, 0, 120), (x, y), g)
    for _ in range(rng.randint(0, 2)):  # and the odd one over it
        draw.line(
            [(rng.randint(0, w), rng.randint(0, h)), (rng.randint(0, w), rng.randint(0, h))],
            fill=_rgb(gen, 160, 220),
            width=1,
        )
    draw.rectangle((0, 0, w - 1, h - 1), outline=_rgb(gen, 0, 60))
    return img


# Training sees the harder obscurificators more often than a server shows them (STYLES), and
# configured kaptcha and light inks more often: at the simulator's shares a configured look such as
# 北京大学's (white ink, no noise, 130x52) was too rare to be learned (zf read 47 % of it; 83 % with these).
_TRAIN_STYLES = {"water": 0.45, "shadow": 0.275, "fisheye": 0.275}
_TRAIN_CONFIGURED, _TRAIN_LIGHT = 0.6, 0.65


def sample_zf(rng: random.Random) -> tuple[str, Image.Image]:
    """One training captcha for the ``zf`` model: 55 % stock kaptcha (vendor alphabet, 4 chars), 45 %
    ``render_zf`` over its school's alphabet (4–5 chars), so one model reads both styles. (Not
    render_zf over the union: that would invent pairs no server draws in one style, such as y/Y.)"""
    if rng.random() < 0.55:
        text = kaptcha_text(rng)
        style = rng.choices(list(_TRAIN_STYLES), weights=list(_TRAIN_STYLES.values()))[0]
        return text, render_kaptcha(text, rng, style, configured=_TRAIN_CONFIGURED, light_share=_TRAIN_LIGHT)
    text = "".join(rng.choice(ZF_CHARSET) for _ in range(rng.randint(4, 5)))
    return text, render_zf(text, rng)


SCHOOL_RENDERERS = {"zf": render_zf, "qiangzhi": render_qiangzhi}
#: Schools whose model covers several captcha styles: ``rng -> (text, image)`` for training data.
SCHOOL_SAMPLERS = {"zf": sample_zf}

__all__ = [
    "KAPTCHA_CHARSET",
    "KAPTCHA_LENGTH",
    "SCHOOL_RENDERERS",
    "SCHOOL_SAMPLERS",
    "ZF_CHARSET",
    "render_kaptcha",
    "render_qiangzhi",
    "render_zf",
    "sample_zf",
]
