"""The largest image a school's answer may hold (a captcha, a slider challenge), checked from the
header before decoding: a few KB of PNG can declare 100 million pixels, which Pillow decodes
after only a DecompressionBombWarning on stderr (its error starts at twice that).

Importing this makes that warning an error for the process, once: it is raised inside
``Image.open``, before any size check of ours, and a ``catch_warnings`` around each open would
race between threads.
"""

from __future__ import annotations

import warnings

from PIL import Image

#: No captcha or slider image is anywhere near this (the largest captcha we know is 200x50).
MAX_PIXELS = 4_000_000

warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

#: What ``Image.open`` raises for an image past Pillow's own limits.
TOO_LARGE = (Image.DecompressionBombError, Image.DecompressionBombWarning)


def too_large(image: Image.Image) -> bool:
    return image.width * image.height > MAX_PIXELS
