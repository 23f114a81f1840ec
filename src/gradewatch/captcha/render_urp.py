"""Synthetic captchas of the new URP (综合教务, Spring Security) login: ``img/captcha.jpg``.

What is known of the real one: a JPEG fetched as ``img/captcha.jpg?<ms>`` on every login, 4
characters (public clients check for exactly four, and one reads it with an upper-case-and-digits
whitelist), compared case-insensitively on most deployments. Its exact look is not documented, so
this renderer is a plausible Java ``BufferedImage`` captcha — 100x36, light background, each
character in its own colour and angle, a few interference lines and dots, JPEG artefacts — and the
shipped model is only as good as that guess on a real school: check it with ``gradewatch captcha
eval`` on real images before trusting it. Importing the module registers the ``urp`` spec and renderer.
"""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw

from gradewatch.captcha.glyphs import colour, glyph
from gradewatch.captcha.render import RENDERERS
from gradewatch.captcha.spec import SPECS, CaptchaSpec

#: Digits and upper-case letters without the look-alikes 0/O, 1/I.
CHARSET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
WIDTH, HEIGHT = 100, 36

#: Read downscaled to 80x28 (resize): the network stays small (under 1 MB) and loses nothing it needs.
SPEC = CaptchaSpec(name="urp", charset=CHARSET, length=4, width=80, height=28, grayscale=True, resize=True)

_FONTS = ("DejaVuSans-Bold.alnum.ttf", "DejaVuSerif-Bold.alnum.ttf", "DejaVuSans.alnum.ttf",
          "DejaVuSansMono.alnum.ttf", "DejaVuSerif.alnum.ttf")


def render_urp(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4 chars of CHARSET) as a URP-style captcha: RGB, 100x36, after a JPEG round trip."""
    img = Image.new("RGB", (WIDTH, HEIGHT), colour(rng, 215, 250))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(2, 5)):
        draw.line([(rng.randint(0, WIDTH), rng.randint(0, HEIGHT)), (rng.randint(0, WIDTH), rng.randint(0, HEIGHT))],
                  fill=colour(rng, 100, 200), width=1)
    font = rng.choice(_FONTS)
    size = rng.randint(20, 25)
    pitch = rng.uniform(19, 23)
    left = rng.uniform(4, WIDTH - 4 - pitch * 4)
    for i, char in enumerate(text):
        mask = glyph(char, font, size, rng.randint(-25, 25))
        cx = left + pitch * (i + 0.5) + rng.uniform(-1.5, 1.5)
        cy = HEIGHT / 2 + rng.uniform(-3, 3)
        img.paste(colour(rng, 10, 130), (round(cx - mask.width / 2), round(cy - mask.height / 2)), mask)
    for _ in range(rng.randint(1, 3)):
        draw.line([(0, rng.randint(0, HEIGHT)), (WIDTH, rng.randint(0, HEIGHT))], fill=colour(rng, 60, 180),
                  width=1)
    for _ in range(rng.randint(20, 80)):
        img.putpixel((rng.randrange(WIDTH), rng.randrange(HEIGHT)), colour(rng, 0, 255))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(70, 92))
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


SPECS.setdefault(SPEC.name, SPEC)
RENDERERS.setdefault(SPEC.name, render_urp)
