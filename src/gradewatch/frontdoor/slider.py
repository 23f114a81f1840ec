"""Slider captchas ("drag the piece into the gap"), solved by image processing: no network.

The challenge is a background picture with a piece-shaped gap and the piece itself (an image
with transparency). The gap is where the background's edges trace the piece's outline, so the
answer is the horizontal offset at which the piece's outline best matches the background's edge
map, within the piece's rows.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from gradewatch.image_limits import TOO_LARGE, too_large


class SliderError(ValueError):
    """The challenge images cannot be read."""


def _load(data: bytes, mode: str) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as im:
            if too_large(im):  # the header's size, before any decoding
                raise SliderError(f"slider image too large ({im.width}x{im.height})")
            return np.asarray(im.convert(mode), dtype=np.float32)
    except SliderError:
        raise
    except (OSError, ValueError, *TOO_LARGE) as err:
        raise SliderError(f"unreadable slider image: {type(err).__name__}") from None


def _edges(gray: np.ndarray) -> np.ndarray:
    """Gradient magnitude (central differences), same shape as the input."""
    gx = np.zeros_like(gray)
    gy = np.zeros_like(gray)
    gx[:, 1:-1] = gray[:, 2:] - gray[:, :-2]
    gy[1:-1, :] = gray[2:, :] - gray[:-2, :]
    return np.hypot(gx, gy)


def find_gap(background: bytes, piece: bytes, *, piece_y: int | None = None) -> int:
    """The x offset (in background pixels) of the gap's left edge.

    ``piece`` is the piece image: either as tall as the background (piece drawn at its row, the rest
    transparent) or cropped to the piece, with ``piece_y`` its top row in the background.
    """
    bg = _load(background, "L")
    rgba = _load(piece, "RGBA")
    alpha = rgba[:, :, 3] > 128
    rows = np.flatnonzero(alpha.any(axis=1))
    cols = np.flatnonzero(alpha.any(axis=0))
    if rows.size == 0 or cols.size == 0:
        raise SliderError("the slider piece is empty")
    mask = alpha[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32)
    top = int(rows[0]) if piece_y is None or rgba.shape[0] == bg.shape[0] else int(piece_y)
    h, w = mask.shape
    if top + h > bg.shape[0] or w >= bg.shape[1]:
        raise SliderError("the slider piece does not fit the background")
    outline = _edges(mask)
    outline /= outline.sum() or 1.0
    band = _edges(bg[top : top + h, :])
    # Correlate the outline with the edge band at every x (a sliding window over columns).
    windows = np.lib.stride_tricks.sliding_window_view(band, w, axis=1)  # (h, W-w+1, w)
    scores = np.einsum("hxw,hw->x", windows, outline)
    # The piece's own start position (x near 0) often has a matching outline too; the gap is
    # never at the very left edge, so skip the first piece-width.
    scores[: max(1, w // 2)] = -np.inf
    return int(np.argmax(scores))


def move_length(gap_x: int, image_width: int, *, canvas: int = 280, tag_width: int = 0) -> int:
    """What a 金智 CAS slider expects: the gap position scaled to its ``canvas``-pixel drawing
    (school-systems.md §6a: the 280-px canvas, less half the piece width where it asks so)."""
    return round(gap_x * canvas / image_width - tag_width / 2)
