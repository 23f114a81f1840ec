"""The slider captcha: solved locally in ≥ 99 % of 500 simulator challenges, each in < 50 ms."""

from __future__ import annotations

import random
import time

import pytest

from gradewatch.frontdoor.slider import SliderError, find_gap
from gradewatch.sim.slider import make_challenge


def test_500_challenges():
    rng = random.Random(20261202)
    solved, slowest = 0, 0.0
    for _ in range(500):
        ch = make_challenge(rng)
        start = time.perf_counter()
        x = find_gap(ch.background, ch.piece, piece_y=ch.y)
        slowest = max(slowest, time.perf_counter() - start)
        solved += abs(x - ch.gap_x) <= 3
    assert solved >= 495, solved
    # A generous ceiling against a loaded 2-core machine; typical is a few ms.
    assert slowest < 0.05, slowest


def test_garbage_images_are_a_typed_error():
    with pytest.raises(SliderError):
        find_gap(b"not a png", b"nor this")
