"""Generic synthetic captchas: many styles, 4–6 alphanumeric characters, 60–200 px wide.

The shipped ``generic`` model is trained on these images only. It is the bootstrap solver: good
enough on a school's captcha it has never seen to get some logins accepted, so that the login
oracle (``gradewatch captcha harvest``) can label real captchas for a school-specific model.

Styles drawn at random per captcha:

- fonts: ten DejaVu faces (sans, serif, mono, condensed; regular, bold, oblique/italic),
  shipped as alphanumeric subsets in ``fonts/`` (``_FACES``) under the DejaVu
  licence (``fonts/LICENSE-DejaVu.txt``), plus the shipped DejaVu Sans Oblique and Pillow's
  built-in font;
- letter case (the model is case-insensitive: the label is lower case, the image may show either);
- size (60–200 px wide, height from the aspect ratio), text filling 55–95 % of the width, spacing
  from overlapping to loose, per-character rotation, slant (shear), baseline jitter;
- colours: one dark ink or one per character, over a flat, gradient, speckled or blotched light
  background, sometimes inverted (light text on dark);
- noise: lines and curves behind and over the text, dots;
- distortion: a sine "water ripple" warp, blur, JPEG artefacts, and binarization at a random
  threshold (as pipelines that store black-and-white captchas do).

The school-specific renderers (``render.py``, ``render_schools.py``) are deliberately not part
of the mix, so that the generic model's accuracy on a school's real captchas is zero-shot.
"""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from gradewatch.captcha.render import RENDERERS
from gradewatch.captcha.spec import LOWER_ALNUM, SPECS, CaptchaSpec

FONT_DIR = Path(__file__).resolve().parent / "fonts"

GENERIC_SPEC = CaptchaSpec(
    name="generic",
    charset=LOWER_ALNUM,
    length=6,
    min_length=4,
    width=96,
    height=32,
    grayscale=True,
    threshold=None,
    resize=True,
)

_BUILTIN = "<pillow>"
_GLYPH_PX = 48  # glyphs are drawn at this size and the whole text is scaled to the captcha afterwards


#: The faces the shipped ``generic`` model was trained on, named rather than globbed, so that a font
#: added for another renderer does not change this mix.
_FACES = (
    "DejaVuSans-Bold.alnum.ttf", "DejaVuSans-BoldOblique.alnum.ttf", "DejaVuSans.alnum.ttf",
    "DejaVuSansCondensed-Oblique.alnum.ttf", "DejaVuSansMono-BoldOblique.alnum.ttf", "DejaVuSansMono.alnum.ttf",
    "DejaVuSerif-Bold.alnum.ttf", "DejaVuSerif-Italic.alnum.ttf", "DejaVuSerif.alnum.ttf",
    "DejaVuSerifCondensed-BoldItalic.alnum.ttf", "DejaVuSans-Oblique.ttf",
)


def font_files() -> list[str]:
    return [*(str(FONT_DIR / name) for name in _FACES if (FONT_DIR / name).is_file()), _BUILTIN]


@lru_cache(maxsize=32)
def _font(name: str) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    if name == _BUILTIN:
        return ImageFont.load_default(_GLYPH_PX)
    return ImageFont.truetype(name, _GLYPH_PX)


@lru_cache(maxsize=8192)
def _glyph(font_name: str, char: str) -> Image.Image:
    """'L' mask of one character: cropped to its ink horizontally, with the baseline at row 1.5 * size."""
    font = _font(font_name)
    size = _GLYPH_PX
    canvas = Image.new("L", (size * 2, size * 2), 0)
    ImageDraw.Draw(canvas).text((size // 2, int(size * 1.5)), char, font=font, fill=255, anchor="ls")
    box = canvas.getbbox() or (0, 0, 1, 1)
    return canvas.crop((box[0], 0, box[2], canvas.height))


def _dark(rng: random.Random) -> tuple[int, int, int]:
    while True:
        rgb = (rng.randint(0, 200), rng.randint(0, 200), rng.randint(0, 200))
        if (rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / 1000 < 110:
            return rgb


def _light(rng: random.Random, lo: int = 190) -> tuple[int, int, int]:
    return (rng.randint(lo, 255), rng.randint(lo, 255), rng.randint(lo, 255))


def _background(rng: random.Random, w: int, h: int) -> Image.Image:
    kind = rng.random()
    gen = np.random.default_rng(rng.getrandbits(64))
    if kind < 0.3:
        return Image.new("RGB", (w, h), _light(rng, 215))
    if kind < 0.55:
        a = np.array(_light(rng, 180), np.float32)
        b = np.array(_light(rng, 200), np.float32)
        t = np.linspace(0.0, 1.0, w, dtype=np.float32)[None, :, None]
        return Image.fromarray(np.broadcast_to(a * (1 - t) + b * t, (h, w, 3)).astype(np.uint8), "RGB")
    if kind < 0.8:
        noise = gen.exponential(rng.uniform(3, 14), size=(h, w, 3))
        specks = gen.random((h, w, 1)) < rng.uniform(0.0, 0.12)
        noise = noise + specks * gen.uniform(10, 70, size=(h, w, 3))
        return Image.fromarray(np.clip(255.0 - noise, 120, 255).astype(np.uint8), "RGB")
    img = Image.new("RGB", (w, h), _light(rng, 210))
    draw = ImageDraw.Draw(img)
    for _ in range(rng.randint(3, 10)):
        x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(h * 0.1, h * 0.6)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=_light(rng, 160))
    return img


def _text_layer(text: str, rng: random.Random) -> Image.Image:
    """RGBA image of the text at glyph size (transparent background), before slant and scaling."""
    fonts = font_files()
    one_font = rng.choice(fonts) if rng.random() < 0.85 else None
    upper = rng.choice((0.0, 0.0, 0.0, 0.5, 1.0))
    max_rot = rng.choice((0.0, 5.0, 10.0, 18.0))
    spacing = rng.uniform(-0.12, 0.3) * _GLYPH_PX
    jitter = rng.choice((0, 2, 5))
    ink = _dark(rng)
    per_char_colour = rng.random() < 0.5
    glyphs = []
    for ch in text:
        shown = ch.upper() if ch.isalpha() and rng.random() < upper else ch
        g = _glyph(one_font or rng.choice(fonts), shown)
        if max_rot:
            g = g.rotate(rng.uniform(-max_rot, max_rot), resample=Image.Resampling.BILINEAR, expand=True)
        glyphs.append((g, _dark(rng) if per_char_colour else ink))
    height = max(g.height for g, _ in glyphs) + 2 * jitter
    width = int(sum(g.width for g, _ in glyphs) + spacing * (len(glyphs) - 1)) + 8
    layer = Image.new("RGBA", (max(width, 8), height), (0, 0, 0, 0))
    x = 4.0
    for g, colour in glyphs:
        y = (height - g.height) // 2 + rng.randint(-jitter, jitter)
        solid = Image.new("RGBA", g.size, (*colour, 255))
        solid.putalpha(g)
        layer.alpha_composite(solid, (max(0, round(x)), max(0, y)))
        x += g.width + spacing
    box = layer.getbbox()
    return layer.crop(box) if box else layer


def _slant(layer: Image.Image, rng: random.Random) -> Image.Image:
    if rng.random() < 0.5:
        return layer
    s = rng.uniform(-0.25, 0.4)  # positive leans right, like italics
    extra = abs(s) * layer.height
    w = int(layer.width + extra) + 1
    offset = -extra if s > 0 else 0.0
    return layer.transform(
        (w, layer.height), Image.Transform.AFFINE, (1, s, offset, 0, 1, 0), resample=Image.Resampling.BILINEAR
    )


def _noise(img: Image.Image, rng: random.Random, count: int, width_max: int) -> None:
    draw = ImageDraw.Draw(img)
    w, h = img.size
    for _ in range(count):
        colour = _dark(rng) if rng.random() < 0.5 else _light(rng, 120)
        lw = rng.randint(1, width_max)
        if rng.random() < 0.5:
            ends = [(rng.uniform(0, w), rng.uniform(0, h)), (rng.uniform(0, w), rng.uniform(0, h))]
            draw.line(ends, fill=colour, width=lw)
        else:
            amp, phase, period = rng.uniform(0.1, 0.4) * h, rng.uniform(0, 6.3), rng.uniform(0.5, 2.0) * w
            y0 = rng.uniform(0.3, 0.7) * h
            pts = [(x, y0 + amp * math.sin(2 * math.pi * x / period + phase)) for x in range(0, w + 1, 3)]
            draw.line(pts, fill=colour, width=lw)


def _dots(img: Image.Image, rng: random.Random) -> None:
    w, h = img.size
    draw = ImageDraw.Draw(img)
    for _ in range(int(w * h * rng.uniform(0.0, 0.03))):
        x, y = rng.randrange(w), rng.randrange(h)
        draw.point((x, y), fill=_dark(rng) if rng.random() < 0.5 else _light(rng, 100))


def _ripple(img: Image.Image, rng: random.Random) -> Image.Image:
    arr = np.asarray(img, np.float32)
    h, w = arr.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    ax, ay = rng.uniform(0.3, 0.04 * h + 0.5), rng.uniform(0.3, 0.03 * h + 0.5)
    lx, ly = rng.uniform(0.4, 1.2) * h, rng.uniform(0.2, 0.6) * w
    px, py = rng.uniform(0, 6.3), rng.uniform(0, 6.3)
    sx = np.clip(xs + ax * np.sin(2 * math.pi * ys / lx + px), 0, w - 1.001)
    sy = np.clip(ys + ay * np.sin(2 * math.pi * xs / ly + py), 0, h - 1.001)
    x0, y0 = sx.astype(np.int32), sy.astype(np.int32)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top = arr[y0, x0] * (1 - fx) + arr[y0, x0 + 1] * fx
    bottom = arr[y0 + 1, x0] * (1 - fx) + arr[y0 + 1, x0 + 1] * fx
    return Image.fromarray(np.clip(top * (1 - fy) + bottom * fy, 0, 255).astype(np.uint8), "RGB")


def render_generic(text: str, rng: random.Random) -> Image.Image:
    """Draw ``text`` (4–6 chars over 0-9a-z) in a random style: RGB, or 'L' when binarized; 60–200 px wide."""
    w = rng.randint(60, 200)
    h = max(20, min(64, round(w / rng.uniform(2.3, 4.2))))
    layer = _slant(_text_layer(text, rng), rng)
    fill_w = rng.uniform(0.65, 0.95) * w
    fill_h = rng.uniform(0.6, 0.9) * h
    scale = min(fill_w / layer.width, fill_h / layer.height)
    tw, th = max(1, round(layer.width * scale)), max(1, round(layer.height * scale))
    layer = layer.resize((tw, th), Image.Resampling.LANCZOS)
    img = _background(rng, w, h)
    _noise(img, rng, rng.choice((0, 0, 1, 2, 3)), max(1, h // 20))
    x = rng.randint(0, max(0, w - tw))
    y = rng.randint(0, max(0, h - th))
    base = img.convert("RGBA")
    base.alpha_composite(layer, (x, y))
    img = base.convert("RGB")
    _noise(img, rng, rng.choice((0, 0, 0, 1, 2)), max(1, h // 24))
    if rng.random() < 0.3:
        _dots(img, rng)
    if rng.random() < 0.35:
        img = _ripple(img, rng)
    if rng.random() < 0.04:
        img = Image.eval(img, lambda v: 255 - v)  # light text on a dark background
    if rng.random() < 0.2:
        img = img.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 0.9)))
    if rng.random() < 0.3:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=rng.randint(35, 92))
        buf.seek(0)
        img = Image.open(buf).convert("RGB")
    if rng.random() < 0.25:
        gray = img.convert("L")
        background = int(np.median(np.asarray(gray)))  # keep the background white, whatever its shade
        t = min(rng.randint(110, 200), background - 12)
        return gray.point(lambda v: 255 if v > t else 0)
    return img


def register() -> CaptchaSpec:
    """Make the ``generic`` spec and renderer known to the engine (idempotent)."""
    SPECS.setdefault(GENERIC_SPEC.name, GENERIC_SPEC)
    RENDERERS.setdefault(GENERIC_SPEC.name, render_generic)
    return GENERIC_SPEC


register()
