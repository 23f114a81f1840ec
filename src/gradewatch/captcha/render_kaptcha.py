"""Stock Google kaptcha, the captcha the 正方 (ZF) vendor framework serves at ``/kaptcha``.

What the kaptcha 2.3 defaults do (``Config`` and the default classes), which this imitates:

- ``DefaultKaptcha``: 200x50; word, then obscurificator, then background, then a 1-px black border.
- ``DefaultTextCreator``: characters drawn at random from ``abcde2345678gfynmnpwx`` (``n`` appears
  twice, so it comes up twice as often); the ZF vendor sets the length to 4 (kaptcha's own default
  is 5).
- ``DefaultWordRenderer``: anti-aliased, black, size 40, each character in Arial Bold or Courier
  Bold at random, baseline at ``(height - size) / 5 + size``. Each character's width is its
  outline's width (``GlyphVector.getVisualBounds``, truncated to whole pixels), not its advance: the
  word is centred on those widths plus 2 px between them, and the pen moves on by them, so the
  characters sit closer than the font spaces them. A Java server without those fonts (most Linux
  servers) draws them in its logical "Dialog" and "Monospaced" bold, DejaVu Sans Bold and DejaVu
  Sans Mono Bold on Debian's OpenJDK: we use those two, and in 30 % of the images the faces of a
  server that has the fonts (Liberation Sans Bold and Liberation Mono Bold, metric-compatible with
  Arial Bold and Courier New Bold).
- ``WaterRipple`` (the default obscurificator): jhlabs WaterFilter (amplitude 1.5, wavelength 2,
  phase 10, radius 50 around the centre, edges clamped), then RippleFilter (sine, x amplitude 2.6
  with wavelength 15, y amplitude 1.7 with wavelength 5), each resampling bilinearly. kaptcha sets
  the ripple's edge action to ``NEAREST_NEIGHBOUR``, an interpolation constant equal to ``ZERO``, so
  the ripple's output grows by (2, 1) px on each side and is drawn from (0, 0): the word moves 2 px
  right and 1 px down. Then two ``DefaultNoise`` curves in black: cubic curves
  through random heights at 10/10/25/25 % and 10/25/50/90 % of the width, the first three segments
  drawn thicker (3.6, 2.7, 1.8 px).
- The other stock obscurificators a school may configure: ``ShadowGimpy`` (strong ripple, a soft
  black shadow 5 px below, the two noise curves) and ``FishEyeGimpy`` (a blue/red line grid every
  6 px and a fish-eye bulge in the middle, no noise curves).
- ``DefaultBackground``: a diagonal gradient from light grey (192,192,192) at the top left to white.
- ``KaptchaServlet`` sends the image as JPEG (``ImageIO.write(bi, "jpg", …)``, quality 0.75 by
  default), so the returned image has been through a JPEG round trip, as ``render_ssfw`` does.

Schools change some of these settings, so a share of the images vary font size, colours, border
and noise around the defaults.
"""

from __future__ import annotations

import io
import math
import random
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from gradewatch.captcha.glyphs import FONT_DIR, colour, font

#: kaptcha's default ``kaptcha.textproducer.char.string``, as is (with ``n`` twice).
KAPTCHA_CHARSET = "abcde2345678gfynmnpwx"
KAPTCHA_LENGTH = 4  # the ZF vendor's setting
KAPTCHA_WIDTH, KAPTCHA_HEIGHT = 200, 50
_FONT_SIZE, _CHAR_SPACE = 40, 2
#: What a Linux JVM draws for Arial Bold and Courier Bold (its logical Dialog and Monospaced bold).
_FONTS = ("DejaVuSans-Bold.alnum.ttf", "DejaVuSansMono-Bold.alnum.ttf")
#: What a server with the fonts installed (Windows: Arial, Courier New) draws, in metric-compatible faces.
_FONTS_INSTALLED = ("LiberationSans-Bold.ttf", "LiberationMono-Bold.alnum.ttf")
_INSTALLED_SHARE = 0.3  # how many servers have them: unknown, so a good share of both
_GREY, _WHITE, _BLACK = (192, 192, 192), (255, 255, 255), (0, 0, 0)
Coords = tuple[np.ndarray, np.ndarray]  # source x and y of every output pixel
_SUPER = 4  # supersampling of the noise curves (kaptcha draws them anti-aliased)


def kaptcha_text(rng: random.Random, length: int = KAPTCHA_LENGTH) -> str:
    """A text as DefaultTextCreator makes it: ``length`` draws from the default alphabet."""
    return "".join(rng.choice(KAPTCHA_CHARSET) for _ in range(length))


@lru_cache(maxsize=8)
def _outline_extents(name: str) -> tuple[dict[str, tuple[int, int]], int]:
    """Each character's outline from left to right (font units), and the units per em.

    Java lays kaptcha's word out by these (``getVisualBounds``); Pillow reports only the advance box
    of a glyph, so the outlines are read from the font itself."""
    from fontTools.ttLib import TTFont  # only the kaptcha renderer needs it

    face = TTFont(str(FONT_DIR / name))
    glyphs = face["glyf"]
    extents = {}
    for code, glyph_name in face.getBestCmap().items():
        glyph = glyphs[glyph_name]
        extents[chr(code)] = (int(glyph.xMin), int(glyph.xMax)) if glyph.numberOfContours else (0, 0)
    return extents, int(face["head"].unitsPerEm)


def ink_width(char: str, name: str, size: int) -> int:
    """``(int) GlyphVector.getVisualBounds().getWidth()`` of ``char`` at ``size`` px.

    Java's font scaler places outline points on a 1/64 px grid, rounding each to the nearest."""
    extents, units = _outline_extents(name)
    if char not in extents:  # Pillow would draw the missing-glyph box over its neighbours
        raise ValueError(f"{name} has no glyph for {char!r}")
    left, right = extents[char]
    to_64ths = size * 64 / units
    return (math.floor(right * to_64ths + 0.5) - math.floor(left * to_64ths + 0.5)) // 64


def _word(text: str, rng: random.Random, size: int, w: int = KAPTCHA_WIDTH, h: int = KAPTCHA_HEIGHT,
          faces: tuple[str, str] = _FONTS, space: int = _CHAR_SPACE) -> np.ndarray:
    """DefaultWordRenderer: the word's coverage (H, W) in 0..1 on a transparent canvas."""
    fonts = [rng.choice(faces) for _ in text]
    inks = [ink_width(char, name, size) for char, name in zip(text, fonts, strict=True)]
    x = (w - (sum(inks) + space * (len(text) - 1))) // 2
    baseline = (h - size) // 5 + size
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for char, name, ink in zip(text, fonts, inks, strict=True):
        # Java draws at the pen position (the glyph's origin), then moves on by the ink width plus the space.
        draw.text((x, baseline), char, font=font(name, size), fill=255, anchor="ls")
        x += ink + space
    return np.asarray(mask, np.float32) / 255.0


def _sample(layer: np.ndarray, sx: np.ndarray, sy: np.ndarray, clamp: bool = True) -> np.ndarray:
    """Bilinear lookup of ``layer`` (H, W, C) at source coordinates (TransformFilter): outside the
    layer its edge pixels (``clamp``, jhlabs CLAMP) or nothing (jhlabs ZERO).

    The layer is premultiplied, but Java interpolates straight ARGB, and the transparent pixels
    around the word are black: a light ink gets a dark, speckled rim (北京大学's white kaptcha
    glyphs show it). So the colour is divided out, sampled, and multiplied back in."""
    alpha = layer[..., 3:4]
    straight = np.where(alpha > 1e-6, layer[..., :3] / np.maximum(alpha, 1e-6), 0.0)
    layer = np.concatenate([straight, alpha], axis=2)
    if not clamp:  # a transparent border, and coordinates moved onto the bordered layer
        layer = np.pad(layer, ((1, 1), (1, 1), (0, 0)))
        sx, sy = sx + 1, sy + 1
    h, w = layer.shape[:2]
    sx = np.clip(sx, 0, w - 1.001)
    sy = np.clip(sy, 0, h - 1.001)
    x0, y0 = sx.astype(np.int32), sy.astype(np.int32)
    fx, fy = (sx - x0)[..., None], (sy - y0)[..., None]
    top = layer[y0, x0] * (1 - fx) + layer[y0, x0 + 1] * fx
    bottom = layer[y0 + 1, x0] * (1 - fx) + layer[y0 + 1, x0 + 1] * fx
    out = top * (1 - fy) + bottom * fy
    return np.concatenate([out[..., :3] * out[..., 3:4], out[..., 3:4]], axis=2)


def _grid(shape: tuple[int, int]) -> Coords:
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    return xs, ys


def _ripple(xs: np.ndarray, ys: np.ndarray, ax: float, wx: float, ay: float, wy: float) -> Coords:
    """jhlabs RippleFilter (sine): x moves with the row, y with the column."""
    return xs + ax * np.sin(ys / wx), ys + ay * np.sin(xs / wy)


def _water(xs: np.ndarray, ys: np.ndarray, amplitude: float = 1.5, wavelength: float = 2.0,
           phase: float = 10.0, radius: float = 50.0) -> Coords:
    """jhlabs WaterFilter: circular ripples around the image centre, fading out at ``radius``."""
    dx, dy = xs - xs.shape[1] * 0.5, ys - xs.shape[0] * 0.5
    dist = np.hypot(dx, dy)
    amount = amplitude * np.sin(dist / wavelength * 2 * math.pi - phase) * (radius - dist) / radius
    amount = np.where((dist < radius) & (dist > 0), amount * wavelength / np.maximum(dist, 1e-6), 0.0)
    return xs + dx * amount, ys + dy * amount


@lru_cache(maxsize=64)
def _water_map(shape: tuple[int, int]) -> Coords:
    """WaterRipple's WaterFilter: fixed settings, so one map per image size of where each pixel is read from."""
    return _water(*_grid(shape))


@lru_cache(maxsize=64)
def _ripple_map(shape: tuple[int, int]) -> Coords:
    """WaterRipple's RippleFilter, read from (-2, -1): its output is 2 px wider and 1 px taller on
    each side (edge action ZERO) and is drawn from the top left corner."""
    xs, ys = _grid(shape)
    return _ripple(xs - 2, ys - 1, 2.6, 15.0, 1.7, 5.0)


def water_ripple(layer: np.ndarray) -> np.ndarray:
    """The default obscurificator on an RGBA layer (H, W, 4): WaterFilter, then RippleFilter, each
    resampling the layer in turn, as Java does (two bilinear passes blur more than one would)."""
    shape = (layer.shape[0], layer.shape[1])
    return _sample(_sample(layer, *_water_map(shape)), *_ripple_map(shape), clamp=False)


def _curve_points(p: list[tuple[float, float]], flatness: float = 2.0) -> list[tuple[float, float]]:
    """A cubic Bézier flattened into a polyline (as Java's path iterator with flatness 2 does)."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = p
    ux, uy = x3 - x0, y3 - y0
    norm = math.hypot(ux, uy) or 1.0
    off = max(abs((x1 - x0) * uy - (y1 - y0) * ux), abs((x2 - x0) * uy - (y2 - y0) * ux)) / norm
    if off <= flatness:
        return [p[0], p[3]]
    mid = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(p, p[1:], strict=False)]
    mid2 = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(mid, mid[1:], strict=False)]
    centre = ((mid2[0][0] + mid2[1][0]) / 2, (mid2[0][1] + mid2[1][1]) / 2)
    left = _curve_points([p[0], mid[0], mid2[0], centre], flatness)
    right = _curve_points([centre, mid2[1], mid[2], p[3]], flatness)
    return left[:-1] + right


def _noise(rng: random.Random, w: int = KAPTCHA_WIDTH, h: int = KAPTCHA_HEIGHT) -> np.ndarray:
    """The two DefaultNoise curves' coverage (H, W) in 0..1."""
    canvas = Image.new("L", (w * _SUPER, h * _SUPER), 0)
    draw = ImageDraw.Draw(canvas)
    for factors in ((0.1, 0.1, 0.25, 0.25), (0.1, 0.25, 0.5, 0.9)):
        pts = _curve_points([(w * f, h * rng.random()) for f in factors])
        for i in range(len(pts) - 1):
            stroke = 0.9 * (4 - min(i, 2))  # 3.6, 2.7, then 1.8 px
            a = (int(pts[i][0]) * _SUPER, int(pts[i][1]) * _SUPER)
            b = (int(pts[i + 1][0]) * _SUPER, int(pts[i + 1][1]) * _SUPER)
            draw.line([a, b], fill=255, width=max(1, round(stroke * _SUPER)), joint="curve")
    small = canvas.resize((w, h), Image.Resampling.BOX)
    return np.asarray(small, np.float32) / 255.0


def _over(under: np.ndarray, colour: tuple[int, int, int], alpha: np.ndarray) -> np.ndarray:
    """Paint ``colour`` with coverage ``alpha`` over an RGBA premultiplied layer (H, W, 4)."""
    a = alpha[..., None]
    paint = np.concatenate([np.array(colour, np.float32) * a, a], axis=2)
    return paint + under * (1 - a)


def _fisheye(layer: np.ndarray, rng: random.Random) -> np.ndarray:
    """FishEyeGimpy: a blue/red line grid over the word, then a bulge in the middle (nearest pixel)."""
    h, w = layer.shape[:2]
    out = layer.copy()
    hgap, vgap = h // (h // 7 + 1), w // (w // 7 + 1)
    for y in range(hgap, h, hgap):
        out[y, :] = (0, 0, 255, 1)
    for x in range(vgap, w, vgap):
        out[:, x] = (255, 0, 0, 1)
    distance = int(w / 4 + (w / 3 - w / 4 + 1) * rng.random())
    xs, ys = _grid((h, w))
    rx, ry = xs - w // 2, ys - h // 2
    d = np.hypot(rx, ry)
    s = d / distance
    g = -0.75 * s**3 + 1.5 * s**2 + 0.25 * s
    scale = np.where((d < distance) & (d > 0), g * distance / np.maximum(d, 1e-6), 1.0)
    sx = np.clip((w // 2 + (scale * rx).astype(np.int32)), 0, w - 1)
    sy = np.clip((h // 2 + (scale * ry).astype(np.int32)), 0, h - 1)
    return out[sy, sx]


#: kaptcha's obscurificators: WaterRipple (the default), ShadowGimpy, FishEyeGimpy, and how often each is drawn.
STYLES = {"water": 0.7, "shadow": 0.15, "fisheye": 0.15}


#: How many images vary what a school may configure: a guess (most 正方 servers keep the defaults),
#: and how many of those have a light ink.
CONFIGURED_SHARE, LIGHT_SHARE = 0.25, 0.3


def render_kaptcha(text: str, rng: random.Random, style: str | None = None, stock: bool = False,
                   configured: float = CONFIGURED_SHARE, light_share: float = LIGHT_SHARE) -> Image.Image:
    """Draw ``text`` as stock kaptcha draws it (mostly with the default settings): RGB, mostly 200x50.

    ``style`` picks the obscurificator (one of ``STYLES``); by default one is drawn at random.
    A share ``configured`` of the images (a quarter by default) vary what a school may configure
    (``kaptcha.image.width``/``height``, font size, colour and spacing, a light ink as 北京大学's white
    one (a share ``light_share`` of them), noise colour or none, background colours, border colour or none,
    JPEG quality); ``stock`` keeps every setting at the default."""
    default = rng.random() < 1 - configured or stock
    w, h = KAPTCHA_WIDTH, KAPTCHA_HEIGHT
    if not default and rng.random() < 0.4:  # kaptcha.image.width / height
        w, h = rng.randint(120, 220), rng.randint(40, 60)
    size = _FONT_SIZE if default or rng.random() < 0.5 else rng.randint(30, 44)
    size = min(size, h - 6)
    light = not default and rng.random() < light_share
    if light:
        ink = colour(rng, 235, 255)
    else:
        ink = _BLACK if default or rng.random() < 0.4 else colour(rng, 0, 100)
    noise_ink = _BLACK if default or rng.random() < 0.5 else colour(rng, 0, 160)
    drawn = rng.choices(list(STYLES), weights=list(STYLES.values()))[0]
    style = style or drawn  # draw anyway, so a given seed gives the same settings whatever the style
    if light and style == "fisheye":  # no ripple, no rim: a light ink would not show (no school serves that)
        light, ink = False, colour(rng, 0, 100)
    faces = _FONTS_INSTALLED if rng.random() < _INSTALLED_SHARE else _FONTS
    space = _CHAR_SPACE if default or rng.random() < 0.7 else rng.randint(1, 6)  # kaptcha.textproducer.char.space
    layer = _over(np.zeros((h, w, 4), np.float32), ink, _word(text, rng, size, w, h, faces, space))
    xs, ys = _grid((h, w))
    if style == "water":
        layer = water_ripple(layer)
    elif style == "shadow":
        rx, ry = _ripple(xs, ys, 7.6, float(rng.randint(8, 14)), 1.0 + rng.random(), float(rng.randint(2, 4)))
        layer = _sample(layer, rx, ry)
        blurred = Image.fromarray((layer[..., 3] * 255).astype(np.uint8), "L").filter(ImageFilter.GaussianBlur(10 / 3))
        shadow = np.zeros_like(layer[..., 3])
        shadow[5:] = np.asarray(blurred, np.float32)[:-5] / 255.0  # 5 px below the text
        layer = layer + _over(np.zeros_like(layer), _BLACK, shadow) * (1 - layer[..., 3:4])
    else:
        layer = _fisheye(layer, rng)
    if style != "fisheye" and (default or rng.random() < (0.5 if light else 0.8)):
        layer = _over(layer, noise_ink, _noise(rng, w, h))
    top, bottom = (_GREY, _WHITE) if default or rng.random() < 0.5 else (colour(rng, 170, 235), colour(rng, 225, 255))
    t = np.clip((xs * w + ys * h) / (w * w + h * h), 0, 1)[..., None]  # GradientPaint (0,0) → (w,h)
    background = np.array(top, np.float32) * (1 - t) + np.array(bottom, np.float32) * t
    rgb = layer[..., :3] + background * (1 - layer[..., 3:4])
    img = Image.fromarray(np.clip(rgb + 0.5, 0, 255).astype(np.uint8), "RGB")
    if default or rng.random() < 0.6:
        border = _BLACK if default or rng.random() < 0.5 else colour(rng, 0, 200)
        ImageDraw.Draw(img).rectangle((0, 0, w - 1, h - 1), outline=border)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75 if default else rng.randint(65, 92))
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out.convert("RGB")
