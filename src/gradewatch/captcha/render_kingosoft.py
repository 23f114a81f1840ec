"""Synthetic captchas of the 青果 (Kingosoft) Java platform login: ``cas/genValidateCode?dateTime=<ms>``.

What is known of the real one: 4 characters, and the server compares them case-insensitively (the
page script hashes the lower-cased answer into the password field). Its exact look is not
documented, so this renderer is a plausible servlet captcha — 72x24, light background, four dark
digits or lower-case letters with their own colour and tilt, noise dots and a couple of lines,
sent as a JPEG — and a model trained on it must be checked on real images (``gradewatch captcha
eval``) before it is trusted. Importing the module registers the ``kingosoft`` spec and renderer.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from gradewatch.captcha.glyphs import colour, glyph
from gradewatch.captcha.render import RENDERERS
from gradewatch.captcha.spec import SPECS, CaptchaSpec

#: Digits and lower-case letters without the look-alikes 0/o, 1/l/i.
CHARSET = "23456789abcdefghjkmnpqrstuvwxyz"
WIDTH, HEIGHT = 72, 24

SPEC = CaptchaSpec(name="kingosoft", charset=CHARSET, length=4, width=WIDTH, height=HEIGHT, grayscale=True,
                   resize=True)

_FONTS = ("DejaVuSans-Bold.alnum.ttf", "DejaVuSans.alnum.ttf", "DejaVuSerif-Bold.alnum.ttf",
          "DejaVuSans-BoldOblique.alnum.ttf")


def render_kingosoft(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4 chars of CHARSET) as a Kingosoft-style captcha: RGB, 72x24, after a JPEG round trip."""
    img = Image.new("RGB", (WIDTH, HEIGHT), colour(rng, 225, 255))
    draw = ImageDraw.Draw(img)
    font = rng.choice(_FONTS)
    size = rng.randint(15, 19)
    pitch = rng.uniform(14, 17)
    left = rng.uniform(2, WIDTH - 2 - pitch * 4)
    for i, char in enumerate(text):
        mask = glyph(char, font, size, rng.randint(-20, 20))
        cx = left + pitch * (i + 0.5) + rng.uniform(-1, 1)
        cy = HEIGHT / 2 + rng.uniform(-2, 2)
        img.paste(colour(rng, 0, 120), (round(cx - mask.width / 2), round(cy - mask.height / 2)), mask)
    for _ in range(rng.randint(1, 3)):
        draw.line([(rng.randint(0, WIDTH), rng.randint(0, HEIGHT)), (rng.randint(0, WIDTH), rng.randint(0, HEIGHT))],
                  fill=colour(rng, 90, 200), width=1)
    for _ in range(rng.randint(15, 60)):
        img.putpixel((rng.randrange(WIDTH), rng.randrange(HEIGHT)), colour(rng, 0, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(75, 92))
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


SPECS.setdefault(SPEC.name, SPEC)
RENDERERS.setdefault(SPEC.name, render_kingosoft)
