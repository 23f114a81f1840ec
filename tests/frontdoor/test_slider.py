"""The slider captcha: solved locally in ≥ 99 % of 500 simulator challenges (the time per
challenge is measured by bench/slider.py, not here: timings in a loaded test run mean nothing)."""

from __future__ import annotations

import random

import pytest

from gradewatch.frontdoor.slider import SliderError, find_gap
from gradewatch.sim.slider import make_challenge
from png_headers import png_header_claiming


def test_500_challenges():
    rng = random.Random(20261202)
    solved = 0
    for _ in range(500):
        ch = make_challenge(rng)
        solved += abs(find_gap(ch.background, ch.piece, piece_y=ch.y) - ch.gap_x) <= 3
    assert solved >= 495, solved


def test_garbage_images_are_a_typed_error():
    with pytest.raises(SliderError):
        find_gap(b"not a png", b"nor this")
    for claimed in (12_000, 3_000):  # over Pillow's own limit, and under it but far over a slider's
        with pytest.raises(SliderError, match="too large|DecompressionBomb"):
            find_gap(png_header_claiming(claimed, claimed), png_header_claiming(60, 60))
