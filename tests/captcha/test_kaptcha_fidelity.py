"""``render_kaptcha`` against the real kaptcha library.

The fixtures in ``tests/fixtures/kaptcha/`` were measured on kaptcha 2.3.2 itself (see the README
there): the widths Java lays a word out by, where the ink of a word lands, and the alpha of a word
before and after the stock WaterRipple obscurificator."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradewatch.captcha import render_kaptcha as rk

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "kaptcha"
LAYOUT = json.loads((FIXTURES / "java_layout.json").read_text(encoding="utf-8"))
JAVA_FONT = {"arial": "DejaVuSans-Bold.alnum.ttf", "courier": "DejaVuSansMono-Bold.alnum.ttf"}


def _alpha(name: str) -> np.ndarray:
    return np.asarray(Image.open(FIXTURES / name), np.float32) / 255.0


@pytest.mark.parametrize("font", sorted(LAYOUT["visual_width"]))
def test_characters_are_as_wide_as_java_measures_them(font: str) -> None:
    widths = LAYOUT["visual_width"][font]
    assert set(widths) == set(rk.KAPTCHA_CHARSET)
    ours = {char: rk.ink_width(char, font, LAYOUT["size"]) for char in widths}
    assert ours == {char: int(width) for char, width in widths.items()}


@pytest.mark.parametrize("font", sorted(LAYOUT["words"]))
def test_word_lands_where_javas_does(font: str) -> None:
    for word, java in LAYOUT["words"][font].items():
        mask = rk._word(word, random.Random(0), LAYOUT["size"], faces=(font, font))  # one font, as Java was run
        cols, rows = np.where(mask.max(0) > 0)[0], np.where(mask.max(1) > 0)[0]
        assert abs(cols[0] - java["ink_columns"][0]) <= 1 and abs(cols[-1] - java["ink_columns"][1]) <= 1, word
        assert abs(rows[0] - java["ink_rows"][0]) <= 1 and abs(rows[-1] - java["ink_rows"][1]) <= 1, word


@pytest.mark.parametrize("case", ["arial_2nf2", "arial_wmny", "courier_2nf2", "courier_wmny"])
def test_water_ripple_matches_jhlabs(case: str) -> None:
    word, java = _alpha(f"word_{case}.png"), _alpha(f"dist_{case}.png")
    layer = np.concatenate([np.zeros((*word.shape, 3), np.float32), word[..., None]], axis=2)
    ours = rk.water_ripple(layer)[..., 3]
    assert np.abs(ours - java).max() <= 4 / 255  # Java rounds each pass to 8 bits
    ink = java > 0.5
    assert abs(ours[ink].mean() - java[ink].mean()) < 0.01


def test_whole_word_matches_java_closely() -> None:
    # Pillow and Java rasterise the same outlines a little differently; the layout must not add to that.
    for case, font in (("arial_2nf2", "arial"), ("courier_wmny", "courier")):
        word = case.split("_")[1]
        ours = rk._word(word, random.Random(0), LAYOUT["size"], faces=(JAVA_FONT[font],) * 2)
        assert np.abs(ours - _alpha(f"word_{case}.png")).mean() < 0.03, case


def test_the_kaptcha_font_stays_out_of_the_generic_mix() -> None:
    # The shipped generic model was trained on exactly these faces; a broken install must not drop one.
    from gradewatch.captcha.render_generic import font_files

    names = [Path(f).name for f in font_files()]
    assert len(names) == 12 and names[-1] == "<pillow>"
    assert all(Path(f).is_file() for f in font_files()[:-1])
    assert "DejaVuSansMono-Bold.alnum.ttf" not in names


def test_a_character_the_font_lacks_is_an_error() -> None:
    with pytest.raises(ValueError, match="no glyph"):
        rk.ink_width("中", JAVA_FONT["arial"], 40)


def test_a_light_ink_gets_javas_dark_rim() -> None:
    # Java resamples straight ARGB, and the transparent pixels around the word are black: white glyphs
    # come out with a dark rim. Premultiplied sampling alone would miss it by up to a quarter of the range.
    word = np.asarray(Image.open(FIXTURES / "word_white_arial_2nf2.png").convert("RGBA"), np.float32) / 255.0
    java = np.asarray(Image.open(FIXTURES / "dist_white_arial_2nf2.png").convert("RGBA"), np.float32) / 255.0
    layer = np.concatenate([word[..., :3] * word[..., 3:4], word[..., 3:4]], axis=2)
    ours = rk.water_ripple(layer)
    assert np.abs(ours[..., :3] - java[..., :3] * java[..., 3:4]).max() <= 4 / 255
    assert np.abs(ours[..., 3] - java[..., 3]).max() <= 4 / 255


def test_render_kaptcha_mostly_stock_size_some_configured() -> None:
    sizes = [rk.render_kaptcha("2nf2", random.Random(seed)).size for seed in range(120)]
    assert 0.8 <= sizes.count((200, 50)) / len(sizes) < 1  # kaptcha.image.width / height, now and then
    assert all(120 <= w <= 220 and 40 <= h <= 60 for w, h in sizes)
    never = {rk.render_kaptcha("2nf2", random.Random(seed), configured=0.0).size for seed in range(120)}
    assert never == {(200, 50)}
    always = [rk.render_kaptcha("2nf2", random.Random(seed), configured=1.0).size for seed in range(120)]
    assert 0.25 <= 1 - always.count((200, 50)) / len(always) <= 0.55  # 40 % of the configured ones
