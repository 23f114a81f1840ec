"""Cut-and-splice augmentation: where the cuts fall, and what a spliced captcha holds."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs the 'train' extra (torch)")

from gradewatch.captcha.splice import Splicer, character_cuts  # noqa: E402

GRADEWATCH = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "gradewatch"


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRADEWATCH), *args], capture_output=True, text=True, timeout=240)


H, W = 16, 64


def blocks(spans: list[tuple[int, int]], heights: list[int] | None = None) -> np.ndarray:
    """One (1, H, W) model input (ink = 1): a solid block per character over each column span."""
    img = np.zeros((1, H, W), np.float32)
    for j, (a, b) in enumerate(spans):
        img[0, H - (heights[j] if heights else H) :, a:b] = 1.0
    return img


def test_cuts_fall_in_the_gaps_between_characters():
    spans = [(4, 14), (20, 28), (33, 45), (50, 60)]
    x = blocks(spans)[None]
    cuts, clean = character_cuts(x, np.array([4]))
    assert clean.tolist() == [[True, True, True]]
    for k, cut in enumerate(cuts[0]):
        assert spans[k][1] <= cut < spans[k + 1][0], (k, cut)


def test_touching_characters_are_not_cut_there():
    # The first two characters touch: no column between them is empty, so cut 0 is not clean.
    x = blocks([(4, 16), (16, 28), (33, 45), (50, 60)])[None]
    _, clean = character_cuts(x, np.array([4]))
    assert clean.tolist() == [[False, True, True]]


def test_positions_past_a_short_text_are_never_clean():
    x = np.stack([blocks([(4, 14), (20, 28), (33, 45), (50, 60)]), blocks([(4, 18), (26, 40), (48, 60)])])
    _, clean = character_cuts(x, np.array([4, 3]))
    assert clean.tolist() == [[True, True, True], [True, True, False]]


def test_a_spliced_captcha_is_the_left_of_one_and_the_right_of_the_other():
    # Two captchas whose characters are told apart by block height; B's characters sit 3 columns
    # further right than A's, so B's right part must move left to meet A's cut.
    a_spans = [(4, 12), (18, 26), (32, 40), (46, 54)]
    b_spans = [(a + 3, b + 3) for a, b in a_spans]
    a = blocks(a_spans, [4, 5, 6, 7])
    b = blocks(b_spans, [12, 13, 14, 15])
    x = torch.from_numpy(np.stack([a, b]))
    y = torch.tensor([[0, 1, 2, 3], [4, 5, 6, 7]])
    splicer = Splicer(x, y, blank=None)
    assert splicer.usable and splicer.clean_share() == 1.0
    gen = torch.Generator().manual_seed(0)
    out, target = splicer.draw(200, gen)
    seen = set()
    for img, t in zip(out.numpy(), target.tolist(), strict=True):
        # The label: the first k characters of one captcha, the rest of the other (or of itself).
        from_b = [c >= 4 for c in t]
        k = from_b.index(not from_b[0]) if len(set(from_b)) > 1 else None
        if k is not None:
            assert from_b == [from_b[0]] * k + [not from_b[0]] * (4 - k), t
            assert [c % 4 for c in t] == [0, 1, 2, 3], t
            seen.add(k)
        # Each character column shows the height of the captcha its label came from.
        for k, c in enumerate(t):
            a0, a1 = a_spans[k]
            height = int(img[0, :, (a0 + a1) // 2].sum())
            assert height == [4, 5, 6, 7, 12, 13, 14, 15][c], (t, k, height)
    assert seen == {1, 2, 3}  # every cut position is drawn


def test_variable_length_texts_splice_only_where_both_have_characters():
    blank = 9
    x = torch.from_numpy(np.stack([blocks([(4, 16), (24, 36), (44, 56)]), blocks([(4, 16), (24, 36), (44, 56)])]))
    y = torch.tensor([[0, 1, blank], [2, 3, 4]])  # two and three characters
    splicer = Splicer(x, y, blank=blank)
    _, target = splicer.draw(50, torch.Generator().manual_seed(1))
    for t in target.tolist():
        letters = [c for c in t if c != blank]
        assert t[: len(letters)] == letters  # blanks only at the end
        assert len(letters) in (2, 3)


def test_captcha_train_splices_and_records_it(rendered_dir, tmp_path):
    out = tmp_path / "m.onnx"
    args = [str(rendered_dir), "--out", str(out), "--epochs", "1", "--minutes", "0.5", "--no-progress"]
    proc = run_cli("captcha", "train", *args, "--augment", "--splice", "0.5")
    assert proc.returncode == 0, proc.stderr
    training = json.loads(out.with_suffix(".json").read_text())["training"]
    assert (training["splice"], training["augment"]) == (0.5, True)


def test_tensorflow_backend_refuses_splice_in_one_line(rendered_dir, tmp_path):
    proc = run_cli("captcha", "train", str(rendered_dir), "--out", str(tmp_path / "m.onnx"), "--backend", "tensorflow",
                   "--splice", "0.3")  # fmt: skip
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--backend tensorflow trains without --augment and --splice" in proc.stderr
