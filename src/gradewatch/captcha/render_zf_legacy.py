"""Synthetic captchas of the old (ASP.NET) 正方 login: ``CheckCode.aspx``.

What the real image is (field notes, and public solvers that segment it): a 72x27 GIF, white, with
4 characters of a 33-symbol alphabet (``0-8``, ``a-n``, ``p-y``: no 9, o or z), each in its own
12-px cell starting near x = 5, upright-to-slanted dark blue italic glyphs in a single palette
colour (solvers keep exactly one palette index as ink), single-pixel speckles in random colours
over everything, and a thin grey border. The server draws with GDI+ (no anti-aliasing on the old
Windows servers) and saves a GIF with the fixed web palette, so every colour is snapped to it.

The renderer varies everything a deployment might (font among the shipped italic/oblique faces,
size, slant, cell jitter, ink shade, speckle density, aliased or smoothed edges) so that a model
trained only on it is not tied to one guess. Importing the module registers the ``zf_legacy``
spec and renderer with the captcha engine.
"""

from __future__ import annotations

import random
from functools import lru_cache

from PIL import Image, ImageDraw

from gradewatch.captcha.glyphs import font as load_font
from gradewatch.captcha.render import RENDERERS
from gradewatch.captcha.spec import SPECS, CaptchaSpec

CHARSET = "012345678abcdefghijklmnpqrstuvwxy"
WIDTH, HEIGHT = 72, 27

SPEC = CaptchaSpec(name="zf_legacy", charset=CHARSET, length=4, width=WIDTH, height=HEIGHT, grayscale=True,
                   resize=True)  # some installs send 72x25: read them resized

#: Italic / oblique faces (the real one is a bold-ish italic sans, e.g. Arial/Verdana italic).
_FONTS = (
    "DejaVuSans-BoldOblique.alnum.ttf",
    "DejaVuSans-Oblique.ttf",
    "DejaVuSansCondensed-Oblique.alnum.ttf",
    "DejaVuSansMono-BoldOblique.alnum.ttf",
    "DejaVuSerif-Italic.alnum.ttf",
    "DejaVuSerifCondensed-BoldItalic.alnum.ttf",
)
#: Font choices, weighted toward the bold sans that public samples resemble most.
_FONT_WEIGHTS = (4, 3, 2, 1, 1, 1)
_INKS = ((0, 0, 139), (0, 0, 153), (0, 0, 128), (0, 0, 102), (0, 51, 153), (51, 0, 153), (0, 0, 204))


@lru_cache(maxsize=8192)
def _glyph(char: str, font: str, size: int, aliased: bool, angle: int) -> Image.Image:
    """An 'L' mask of one character, rotated by ``angle`` degrees and cropped to its ink."""
    canvas = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(canvas)
    if aliased:
        draw.fontmode = "1"  # GDI+ on the old servers draws without anti-aliasing
    draw.text((size, size), char, font=load_font(font, size), fill=255, anchor="mm")
    if angle:
        canvas = canvas.rotate(angle, resample=Image.Resampling.NEAREST if aliased else Image.Resampling.BILINEAR)
    box = canvas.getbbox() or (0, 0, 1, 1)
    mask = canvas.crop(box)
    if aliased:
        mask = mask.point(lambda v: 255 if v >= 128 else 0)
    return mask


def _web(v: int) -> int:
    """A channel snapped to the web palette's six levels (what the GIF encoder does without dithering)."""
    return min(255, round(v / 51) * 51)


def render_zf_legacy(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4 chars of CHARSET) as an old-正方 CheckCode.aspx image: RGB, 72x27, web-palette colours."""
    img = Image.new("RGB", (WIDTH, HEIGHT), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = rng.choices(_FONTS, weights=_FONT_WEIGHTS)[0]
    size = rng.randint(14, 17)
    aliased = rng.random() < 0.75
    ink = rng.choice(_INKS)
    pitch = rng.choice((11, 12, 12, 12, 13))
    left = rng.randint(3, 7)
    top = rng.randint(-1, 3)
    for i, char in enumerate(text):
        mask = _glyph(char, font, size, aliased, rng.randint(-18, 14))
        cx = left + pitch * i + pitch / 2 + rng.uniform(-1.0, 1.0)
        cy = HEIGHT / 2 + top - 1 + rng.uniform(-1.5, 1.5)
        img.paste(ink, (round(cx - mask.width / 2), round(cy - mask.height / 2)), mask)
    for _ in range(rng.randint(20, 140)):  # single-pixel speckles in any colour, over the text too
        colour = (rng.randint(0, 255), rng.randint(0, 255), rng.randint(0, 255))
        img.putpixel((rng.randrange(WIDTH), rng.randrange(HEIGHT)), colour)
    grey = rng.choice(((192, 192, 192), (204, 204, 204), (153, 153, 153), (169, 169, 169)))
    draw.rectangle((0, 0, WIDTH - 1, HEIGHT - 1), outline=grey)
    return img.point(_web)


SPECS.setdefault(SPEC.name, SPEC)
RENDERERS.setdefault(SPEC.name, render_zf_legacy)
