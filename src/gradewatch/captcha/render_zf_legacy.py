"""Synthetic captchas of the old (ASP.NET) 正方 login: ``CheckCode.aspx``.

Fitted to 2,736 real labelled CheckCode.aspx images from three public sets (docs/captcha.md,
"Old 正方 CheckCode.aspx"), measured rather than guessed:

* 72x27, white, 4 characters of ``0-8 a-n p-y``, each centred in a fixed 12-px cell (cell
  centres at x = 10, 22, 34, 46: the mean ink profile dips at x = 16, 28, 40, 52); wide letters
  such as ``m`` and ``w`` spill into the neighbouring cell instead of shifting the others.
* A bold Arial-like sans, one size per image, cap height ~15 px, baseline at y ~16.5: Liberation
  Sans Bold (metric clone of Arial, whose "1" has a flag and no foot, as the real ones do) at
  20-22 px. Each character gets its own small tilt.
* Ink ``#000099``. Some servers draw aliased (one palette colour), others anti-alias, and the
  blends are snapped to the web palette by the GIF encoder (``#333399``, ``#6666CC``, ...), so
  both kinds are drawn.
* About 135 single-pixel speckles in random colours over everything, the text included (22.7 per
  13x25 px of empty right margin in every set).
* A 1-px grey frame: ``#CCCCCC`` top, right and bottom, the left edge alternating
  ``#CCCCCC``/``#999999`` row by row; one deployment dithers the frame in two tints instead.

Importing the module registers the ``zf_legacy`` spec and renderer with the captcha engine.
"""

from __future__ import annotations

import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

from gradewatch.captcha.glyphs import font as load_font
from gradewatch.captcha.render import RENDERERS
from gradewatch.captcha.spec import SPECS, CaptchaSpec

CHARSET = "012345678abcdefghijklmnpqrstuvwxy"
WIDTH, HEIGHT = 72, 27

SPEC = CaptchaSpec(name="zf_legacy", charset=CHARSET, length=4, width=WIDTH, height=HEIGHT, grayscale=True,
                   resize=True)  # some installs send 72x25: read them resized

FONT = "LiberationSans-Bold.ttf"
INK = (0, 0, 153)
CELL = 12
FIRST_CENTRE = 10.7
BASELINE = 16.5
SUPERSAMPLE = 4
ALIASED_SHARE = 0.5
MAX_TILT = 20  # degrees either way
_BAYER = (np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], dtype=np.float32) + 0.5) / 16
_PAD = 24  # glyph canvas half-size, in output pixels: room for a rotated 22-px glyph


@lru_cache(maxsize=16384)
def _glyph(char: str, size: int, angle: int, aliased: bool, tight: bool = False) -> Image.Image:
    """An 'L' mask (2*_PAD square) of ``char`` whose baseline centre sits at the mask centre, tilted by ``angle``.

    Drawn 4x larger, rotated about the middle of the x-height (a glyph turns about its own middle,
    not its baseline corner) and box-filtered down; aliased glyphs are then cut at half coverage,
    which is what a rasteriser without anti-aliasing does with the rotated outline.
    """
    sc = SUPERSAMPLE
    big = _PAD * 2 * sc
    canvas = Image.new("L", (big, big), 0)
    ImageDraw.Draw(canvas).text((big / 2, big / 2), char, font=load_font(FONT, size * sc), fill=255, anchor="ms")
    if char == "1":
        _arial_one(canvas, size)
    elif tight and char in "ij":
        _tight_dot(canvas)
    if angle:
        pivot = (big / 2, big / 2 - 0.26 * size * sc)  # half the x-height above the baseline
        canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC, center=pivot)
    mask = canvas.resize((_PAD * 2, _PAD * 2), Image.Resampling.BOX)
    if aliased:
        mask = mask.point(lambda v: 255 if v >= 128 else 0)
    return mask


def _arial_one(canvas: Image.Image, size: int) -> None:
    """Make Liberation's "1" look like Arial's: no base bar, and a long flag slanting down-left from the
    top of the stem (Liberation's is a short hook, which tilted reads as the top bar of a 7)."""
    left, top, right, bottom = canvas.getbbox() or (0, 0, 0, 0)
    height = bottom - top
    stem = canvas.crop((left, bottom - height // 3, right, bottom - height // 3 + 1)).getbbox()
    if stem is None:
        return
    x0, x1 = left + stem[0], left + stem[2]  # the stem's columns
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((left, top, x0 - 1, bottom), fill=0)  # foot and old flag, left of the stem
    draw.rectangle((x1, bottom - round(height * 0.16), right, bottom), fill=0)  # foot, right of it
    width = x1 - x0
    tip = (x0 - 0.24 * size * SUPERSAMPLE, top + 0.36 * height)
    draw.polygon([(x0 + width * 0.35, top), (x0, top), tip, (tip[0] + width * 0.55, tip[1] + width * 0.55),
                  (x0, top + width * 1.1)], fill=255)


def _tight_dot(canvas: Image.Image) -> None:
    """Move the dot of an "i"/"j" one pixel down: at the real size Arial's dot nearly touches the stem."""
    arr = np.asarray(canvas)
    rows = np.flatnonzero(arr.max(axis=1) > 0)
    gaps = np.flatnonzero(np.diff(rows) > 1)
    if not len(gaps):
        return
    dot_bottom = rows[gaps[0]] + 1
    dot = canvas.crop((0, 0, canvas.width, dot_bottom))
    canvas.paste(0, (0, 0, canvas.width, dot_bottom))
    canvas.paste(dot, (0, SUPERSAMPLE), dot)


def _web(v: int) -> int:
    """A channel snapped to the web palette's six levels (the GIF encoder of the old servers)."""
    return min(255, round(v / 51) * 51)


def _halftone(img: Image.Image, dx: int, dy: int) -> Image.Image:
    """Ordered dither onto the 6x7x6 halftone palette that GDI+ writes GIFs with (R, B in 51-steps,
    G in 42.5-steps): one set's anti-aliased edges show exactly those levels, in dither patterns."""
    arr = np.asarray(img, dtype=np.float32)
    threshold = np.roll(_BAYER, (dy, dx), axis=(0, 1))
    threshold = np.tile(threshold, (HEIGHT // 4 + 1, WIDTH // 4 + 1))[:HEIGHT, :WIDTH, None]
    steps = np.array([51.0, 42.5, 51.0], dtype=np.float32)
    out = np.floor(arr / steps + threshold) * steps
    return Image.fromarray(np.clip(np.round(out), 0, 255).astype(np.uint8), "RGB")


def _frame(img: Image.Image, rng: random.Random) -> None:
    px = img.load()
    assert px is not None
    if rng.random() < 0.7:  # the usual frame: flat grey, the left edge striped
        tints = [(204, 204, 204), (204, 204, 204)]
        left = [(204, 204, 204), (153, 153, 153)]
    else:  # dithered in two tints all round
        tints = [(204, 170, 204), (204, 213, 204)]
        left = [(204, 170, 204), (153, 170, 153)]
    phase = rng.randrange(2)
    for x in range(WIDTH):
        px[x, 0] = tints[(x + phase) % 2]
        px[x, HEIGHT - 1] = tints[(x + phase + HEIGHT - 1) % 2]
    for y in range(HEIGHT):
        px[WIDTH - 1, y] = tints[(y + phase + WIDTH - 1) % 2]
        px[0, y] = left[(y + phase) % 2]


def render_zf_legacy(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4 chars of CHARSET) as an old-正方 CheckCode.aspx image: RGB, 72x27."""
    img = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    size = rng.choice((21, 22, 22, 23))
    aliased = rng.random() < ALIASED_SHARE
    baseline = BASELINE + rng.uniform(-0.8, 0.8)
    tight = rng.random() < 0.5
    for i, char in enumerate(text):
        mask = _glyph(char, size, round(rng.uniform(-MAX_TILT, MAX_TILT)), aliased, tight)
        cx = FIRST_CENTRE + CELL * i + rng.uniform(-1.0, 1.0)
        cy = baseline + rng.uniform(-0.7, 0.7)
        img.paste(INK, (round(cx) - _PAD, round(cy) - _PAD), mask)
    for _ in range(rng.randint(115, 155)):  # speckles over everything, the text included
        img.putpixel((rng.randrange(WIDTH), rng.randrange(HEIGHT)),
                     (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255)))
    # Saving as GIF maps every colour to the encoder's palette: web-safe on most servers, GDI+'s
    # dithered halftone on some (the rare rest: a smooth image, for robustness).
    look = rng.random()
    if aliased or look < 0.5:
        img = img.point(_web)
    elif look < 0.95:
        img = _halftone(img, rng.randrange(4), rng.randrange(4))
    _frame(img, rng)
    return img


SPECS.setdefault(SPEC.name, SPEC)
RENDERERS.setdefault(SPEC.name, render_zf_legacy)
