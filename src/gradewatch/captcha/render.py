"""Synthetic captchas that imitate the SSFW login captcha.

The real one (68x22) shows 4 characters over 0-9a-z in an italic sans-serif
on fixed 15-px slots, each character in its own dark colour, over a light,
speckled background, and is sent as a JPEG. Its typeface looks like a
sheared Lucida Sans (which may not be redistributed); DejaVu Sans Oblique at
21.5 px, anti-aliased, is the closest free match we found (about 0.76
intersection-over-union with the real binarized glyphs). `render_ssfw` draws that in well
under a millisecond and needs only the font shipped in `fonts/`.

The school simulator serves these images; training may mix them in.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from gradewatch.captcha.render_schools import SCHOOL_RENDERERS, SCHOOL_SAMPLERS
from gradewatch.captcha.spec import SPECS, CaptchaSpec

FONT_DIR = Path(__file__).resolve().parent / "fonts"
SSFW_FONT = "DejaVuSans-Oblique.ttf"
_SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans-Oblique.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans-Oblique.ttf",
)

WIDTH, HEIGHT = 68, 22
# Fitted to the real captchas (binarized overlap with train/ images): DejaVu Sans Oblique 21.5 px,
# anti-aliased, slots 15 px apart starting at x = 4.5, baseline at y = 18.
FONT_SIZE = 21.5
FIRST_X = 4.5
PITCH = 15
BASELINE = 18.0
SUPERSAMPLE = 4


@lru_cache(maxsize=8)
def _font(size: float) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for candidate in (FONT_DIR / SSFW_FONT, *map(Path, _SYSTEM_FONTS)):
        if candidate.is_file():
            try:
                return ImageFont.truetype(str(candidate), size)
            except OSError:
                continue
    # Last resort: Pillow's built-in font (not italic, but rendering still works).
    return ImageFont.load_default(size)


@lru_cache(maxsize=2048)
def _glyph(char: str, qx: int, qy: int) -> tuple[Image.Image, int, int]:
    """Anti-aliased 'L' mask of `char` with its baseline-left origin at (qx/4, qy/4), and its integer offset.

    Drawn 4x larger and box-filtered down, which gives both anti-aliasing and
    quarter-pixel placement (Pillow rounds text positions to whole pixels).
    """
    sc = SUPERSAMPLE
    font = _font(FONT_SIZE * sc)
    size = int(FONT_SIZE * sc)
    canvas = Image.new("L", (size * 2, size * 2), 0)
    draw = ImageDraw.Draw(canvas)
    x0, y0 = sc * (size // (2 * sc)), sc * (size // sc)  # glyph origin in the big canvas, whole small pixels
    ox, oy = x0 + qx, y0 + qy
    try:
        draw.text((ox, oy), char, font=font, fill=255, anchor="ls")
    except (ValueError, TypeError):  # the bitmap fallback font has no anchors
        draw.text((ox, oy - size), char, font=font, fill=255)
    small = canvas.resize((canvas.width // sc, canvas.height // sc), Image.BOX)
    box = small.getbbox() or (0, 0, 1, 1)
    return small.crop(box), box[0] - x0 // sc, box[1] - y0 // sc


def _dark_colour(rng: random.Random) -> tuple[int, int, int]:
    while True:
        rgb = (rng.randint(0, 100), rng.randint(0, 130), rng.randint(20, 190))
        luma = (rgb[0] * 299 + rgb[1] * 587 + rgb[2] * 114) / 1000
        if luma < 135:
            return rgb


def _background(rng: random.Random) -> Image.Image:
    gen = np.random.default_rng(rng.getrandbits(64))
    # Pastel speckle: every pixel a little below white, per channel, with a few darker specks.
    noise = gen.exponential(5.0, size=(HEIGHT, WIDTH, 3))
    specks = gen.random((HEIGHT, WIDTH, 1)) < 0.06
    noise = noise + specks * gen.uniform(10, 45, size=(HEIGHT, WIDTH, 3))
    arr = np.clip(255.0 - noise, 160, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def render_ssfw(text: str, rng: random.Random) -> Image.Image:
    """Draw `text` (normally 4 chars over 0-9a-z) as an SSFW-like colour captcha: RGB, 68x22."""
    img = _background(rng)
    for i, char in enumerate(text):
        # Position in quarter pixels, with a little jitter (the real ones barely move).
        x4 = round((FIRST_X + PITCH * i) * SUPERSAMPLE) + rng.randint(-2, 2)
        y4 = round(BASELINE * SUPERSAMPLE) + rng.randint(-1, 1)
        mask, dx, dy = _glyph(char, x4 % SUPERSAMPLE, y4 % SUPERSAMPLE)
        img.paste(_dark_colour(rng), (x4 // SUPERSAMPLE + dx, y4 // SUPERSAMPLE + dy), mask)
    # The server sends JPEG: its ringing and colour bleed are part of the look.
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=rng.randint(70, 92))
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")


def random_text(spec: CaptchaSpec | None = None, rng: random.Random | None = None) -> str:
    """A random text the spec allows (length uniform in min_length..length)."""
    spec = spec or SPECS["ssfw"]
    rng = rng or random.Random()
    lo = spec.min_length if spec.min_length is not None else spec.length
    n = rng.randint(lo, spec.length)
    return "".join(rng.choice(spec.charset) for _ in range(n))


RENDERERS = {"ssfw": render_ssfw, **SCHOOL_RENDERERS}


def render_dataset(spec: CaptchaSpec, n: int, seed: int) -> tuple[list[str], list[Image.Image]]:
    """`n` (text, image) pairs from the spec's renderer, reproducible from `seed`."""
    try:
        renderer = RENDERERS[spec.name]
    except KeyError:
        raise KeyError(f"no synthetic renderer for spec {spec.name!r}") from None
    rng = random.Random(seed)
    if spec.name in SCHOOL_SAMPLERS:  # several captcha styles: each sample picks its style and text
        pairs = [SCHOOL_SAMPLERS[spec.name](rng) for _ in range(n)]
        return [t for t, _ in pairs], [im for _, im in pairs]
    texts = [random_text(spec, rng) for _ in range(n)]
    return texts, [renderer(t, rng) for t in texts]


def comparison_sheet(real: list[Path], *, scale: int = 5, seed: int = 0) -> Image.Image:
    """Real captchas (left) beside rendered ones with the same text (right), colour and binarized.

    Used for docs/captcha-samples.png; the label of each real file is its name.
    """
    spec = SPECS["ssfw"]
    rng = random.Random(seed)
    w, h = WIDTH * scale, HEIGHT * scale
    gap, head = 12, 18
    rows = []
    for path in real:
        text = Path(path).stem.split("_")[0]
        rows.append((text, Image.open(path).convert("RGB"), render_ssfw(text, rng)))
    sheet = Image.new("RGB", (gap + 4 * (w + gap), head + len(rows) * (h + gap)), "white")
    draw = ImageDraw.Draw(sheet)
    for col, title in enumerate(("real", "rendered", "real, binarized", "rendered, binarized")):
        draw.text((gap + col * (w + gap), 3), title, fill=(0, 0, 0))
    for r, (_text, real_img, fake) in enumerate(rows):
        y = head + r * (h + gap)
        cells = [real_img, fake] + [Image.fromarray(spec.prepare(im)[0], "L").convert("RGB") for im in (real_img, fake)]
        for col, cell in enumerate(cells):
            sheet.paste(cell.resize((w, h), Image.NEAREST), (gap + col * (w + gap), y))
    return sheet
