"""Preprocessing, datasets and the split, and the SSFW renderer (no torch, no real data needed)."""

from __future__ import annotations

import io
import os
import random
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from gradewatch.captcha import dataset as ds
from gradewatch.captcha.errors import DatasetError, InvalidImage
from gradewatch.captcha.render import random_text, render_ssfw
from gradewatch.captcha.spec import SPECS, CaptchaSpec, open_image
from png_headers import png_header_claiming

SSFW = SPECS["ssfw"]


def test_ssfw_spec_matches_the_original_pipeline():
    assert (SSFW.charset, SSFW.length, SSFW.width, SSFW.height) == ("0123456789abcdefghijklmnopqrstuvwxyz", 4, 68, 22)
    assert SSFW.grayscale and SSFW.threshold == 173 and SSFW.num_classes == 36
    img = render_ssfw("ab12", random.Random(0))
    expected = np.array(img.convert("L").point(lambda x: 255 if x > 173 else 0))
    got = SSFW.prepare(img)
    assert got.shape == (1, 22, 68) and set(np.unique(got)) <= {0, 255}
    assert np.array_equal(got[0], expected)


def test_binarized_input_passes_through_unchanged():
    img = render_ssfw("k9zq", random.Random(1))
    once = SSFW.prepare(img)[0]
    twice = SSFW.prepare(Image.fromarray(once, "L"))[0]
    assert np.array_equal(once, twice)
    # also through a PNG round trip, and as mode "1"
    buf = io.BytesIO()
    Image.fromarray(once, "L").convert("1").save(buf, "PNG")
    assert np.array_equal(SSFW.prepare(open_image(buf.getvalue()))[0], once)


def test_wrong_size_and_bad_bytes_are_invalid_images():
    with pytest.raises(InvalidImage, match="expects 68x22"):
        SSFW.prepare(Image.new("RGB", (100, 40), "white"))
    with pytest.raises(InvalidImage, match="not an image"):
        open_image(b"hello, not a png")
    buf = io.BytesIO()
    render_ssfw("abcd", random.Random(0)).save(buf, "PNG")
    with pytest.raises(InvalidImage, match="damaged"):
        open_image(buf.getvalue()[:200])


def test_an_image_claiming_millions_of_pixels_is_refused_before_decoding():
    with pytest.raises(InvalidImage, match=r"too large for a captcha"):
        open_image(png_header_claiming(12_000, 12_000))  # 144 M pixels: Pillow alone only warns, then decodes
    with pytest.raises(InvalidImage, match=r"too large for a captcha \(3000x3000\)"):
        open_image(png_header_claiming(3_000, 3_000))  # under Pillow's limits, far over a captcha's
    with pytest.raises(InvalidImage, match="damaged"):  # a captcha's size passes, to be decoded (and fail)
        open_image(png_header_claiming(200, 50))


def test_no_decompression_bomb_warning_reaches_stderr():
    """As a command runs (Python's default warning filters, not pytest's): one error, no warning."""
    import subprocess
    import sys
    from pathlib import Path

    tests_dir = str(Path(__file__).resolve().parents[1])
    script = (f"import sys; sys.path.insert(0, {tests_dir!r})\n"
              "from png_headers import png_header_claiming\n"
              "from gradewatch.captcha.errors import InvalidImage\n"
              "from gradewatch.captcha.spec import open_image\n"
              "try:\n    open_image(png_header_claiming(12_000, 12_000))\n"
              "except InvalidImage as err:\n    print(err)\n")
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False,
                         env={k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"})
    assert res.returncode == 0 and "too large for a captcha" in res.stdout, res
    assert "DecompressionBomb" not in res.stderr and "exceeds limit" not in res.stderr, res.stderr


def test_variable_length_spec_pads_with_blank():
    spec = CaptchaSpec("kaptcha", "abcdefABCDEF2345", length=6, width=200, height=50, min_length=4)
    assert spec.variable_length and spec.num_classes == 17
    assert spec.encode("aB23") == [0, 7, 12, 13, 16, 16]
    assert spec.decode(spec.encode("aB23")) == "aB23"
    assert spec.valid_label("aB23") and not spec.valid_label("aB2") and not spec.valid_label("aB23xx")
    assert CaptchaSpec.from_dict(spec.to_dict()) == spec


def _write_pngs(folder: Path, labels: list[str]) -> None:
    rng = random.Random(5)
    for label in labels:
        render_ssfw(label, rng).save(folder / f"{label}.png")


def test_dataset_folder_and_archive_agree_and_skip_bad_files(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    labels = ["ab12", "zz99", "0o0o", "qwer"]
    _write_pngs(folder, labels)
    (folder / "TOOLONG1.png").write_bytes((folder / "ab12.png").read_bytes())  # label invalid for the spec
    (folder / "abcd.png").write_bytes(b"not an image")
    (folder / "notes.txt").write_text("ignored")
    archive = tmp_path / "d.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(folder, arcname="train")
    a = ds.load(folder, SSFW)
    b = ds.load(archive, SSFW)
    assert sorted(s.label for s in a.samples) == sorted(labels) == sorted(s.label for s in b.samples)
    assert sum(a.skipped.values()) == 2 and a.skipped == b.skipped
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a.samples, b.samples, strict=True))
    x, y = a.arrays(SSFW)
    assert x.shape == (4, 1, 22, 68) and y.shape == (4, 4)
    with pytest.raises(DatasetError):
        ds.load(tmp_path / "missing", SSFW)


def test_archive_is_read_in_one_pass_and_listed_by_name(tmp_path):
    # Members stored in reverse name order, read through a pipe that cannot seek: the reader must
    # take the archive as a stream (seeking back in a .tar.gz decompresses it again per member).
    folder = tmp_path / "d"
    folder.mkdir()
    labels = ["zz99", "qwer", "ab12", "0o0o"]
    _write_pngs(folder, labels)
    packed = tmp_path / "packed.tar.gz"
    with tarfile.open(packed, "w:gz") as tar:
        for label in labels:
            tar.add(folder / f"{label}.png", arcname=f"train/{label}.png")
    pipe = tmp_path / "stream.tar.gz"
    os.mkfifo(pipe)
    writer = threading.Thread(target=lambda: pipe.write_bytes(packed.read_bytes()), daemon=True)
    writer.start()
    names = [name for name, _ in ds.iter_files(pipe)]
    writer.join(timeout=10)
    assert names == sorted(f"{label}.png" for label in labels)


def test_a_cut_off_archive_is_an_error_not_a_shorter_list(tmp_path):
    folder = tmp_path / "d"
    folder.mkdir()
    labels = [f"{i:04d}" for i in range(20)]
    _write_pngs(folder, labels)
    for mode, suffix in (("w:gz", ".tar.gz"), ("w", ".tar")):
        packed = tmp_path / f"whole{suffix}"
        with tarfile.open(packed, mode) as tar:
            tar.add(folder, arcname="train")
        assert [n for n, _ in ds.iter_files(packed)] == [f"{label}.png" for label in labels]
    data = (tmp_path / "whole.tar.gz").read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) * 9 // 10, len(data) - 4):
        broken = tmp_path / f"cut{cut}.tar.gz"
        broken.write_bytes(data[:cut])
        with pytest.raises(DatasetError, match="unreadable archive") as err:
            list(ds.iter_files(broken))
        assert "not a tar archive" not in str(err.value)
    (tmp_path / "junk.tar.gz").write_bytes(b"no archive at all")
    with pytest.raises(DatasetError, match="unreadable archive"):
        list(ds.iter_files(tmp_path / "junk.tar.gz"))


def test_split_is_deterministic_and_stable_as_data_grows():
    items = [ds.Sample(f"{i:04d}.png", f"{i:04d}", np.zeros(1)) for i in range(4000)]
    train1, val1 = ds.split(items, 0.1)
    train2, val2 = ds.split(list(reversed(items)), 0.1)
    assert {s.name for s in val1} == {s.name for s in val2}
    assert 300 < len(val1) < 500 and len(train1) + len(val1) == 4000
    more = items + [ds.Sample(f"x{i}.png", "abcd", np.zeros(1)) for i in range(2000)]
    _, val3 = ds.split(more, 0.1)
    assert {s.name for s in val1} <= {s.name for s in val3}


def test_render_ssfw_shape_and_determinism():
    rng = random.Random(7)
    img = render_ssfw("3kfk", rng)
    assert img.mode == "RGB" and img.size == (68, 22)
    a = np.asarray(render_ssfw("3kfk", random.Random(42)))
    b = np.asarray(render_ssfw("3kfk", random.Random(42)))
    assert np.array_equal(a, b)
    # light background, dark text that survives the threshold
    binar = SSFW.prepare(img)[0]
    assert 120 < (binar == 0).sum() < 500
    texts = [random_text(SSFW, rng) for _ in range(200)]
    assert all(len(t) == 4 and set(t) <= set(SSFW.charset) for t in texts)
    # Render speed is measured in bench/captcha.py (--rendered), next to the solver, not timed here.


def test_a_school_spec_is_found_without_importing_its_renderer_first():
    import subprocess
    import sys

    code = ("import sys; from gradewatch.captcha.spec import get_spec; "
            "assert 'gradewatch.captcha.render_zf_legacy' not in sys.modules; print(get_spec('zf_legacy').length)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0 and out.stdout.strip() == "4", out.stderr


@pytest.mark.parametrize("grayscale", [True, False])
@pytest.mark.parametrize("size", [(40, 20), (80, 40)])  # the model's own size, and one that is resized
def test_a_transparent_palette_image_is_read_on_white(grayscale, size):
    from PIL import Image

    spec = CaptchaSpec(name="t", charset="ab", length=2, width=40, height=20, grayscale=grayscale, resize=True)
    img = Image.new("P", size, 0)
    img.putpalette([0, 0, 0] + [200, 0, 0] * 255)  # index 0 is black, and transparent
    img.info["transparency"] = 0
    img.paste(1, (0, 0, size[0] // 4, size[1]))  # a red bar at the left
    arr = spec.prepare(img)
    assert arr.shape == (spec.channels, 20, 40)
    assert (arr[:, :, -5:] == 255).all()  # the transparent part is white, not the palette's black
    assert (arr[:, :, :5] < 255).any()


@pytest.mark.parametrize("grayscale", [True, False])
@pytest.mark.parametrize("threshold", [None, 140])
@pytest.mark.parametrize("mode", ["RGB", "L", "P"])
@pytest.mark.parametrize(("size", "resample"), [((40, 20), "bilinear"), ((57, 31), "bilinear"), ((57, 31), "nearest")])
def test_the_solvers_fast_input_path_equals_the_training_path(grayscale, threshold, mode, size, resample):
    # The solver reads images through `model_input`; training through `to_model_input(prepare)`.
    # Any difference between the two would be a model that solves other pixels than it learnt.
    from gradewatch.captcha.spec import to_model_input

    spec = CaptchaSpec(name="t", charset="ab", length=2, width=40, height=20, grayscale=grayscale,
                       threshold=threshold, resize=True, resample=resample)
    rng = np.random.default_rng(7)
    img = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    img = img.convert(mode) if mode != "P" else img.quantize(16)
    fast = spec.model_input(img)
    assert fast.dtype == np.float32 and fast.flags.c_contiguous
    assert fast.shape == (spec.channels, 20, 40)
    np.testing.assert_array_equal(fast, to_model_input(spec.prepare(img)))


def test_resample_picks_pixels_or_averages_them_and_old_specs_stay_bilinear():
    # A 4x1 image -> 2x1: nearest takes columns 1 and 3 (centres 1.0 and 3.0); Pillow's antialiased
    # bilinear widens its triangle to two pixels and blends three: (0*.75 + 100*.75 + 200*.25) / 1.75.
    img = Image.fromarray(np.array([[0, 100, 200, 250]], dtype=np.uint8), "L")
    base = dict(name="t", charset="ab", length=1, width=2, height=1, resize=True)
    nearest = CaptchaSpec(**base, resample="nearest").prepare(img)[0, 0].tolist()
    bilinear = CaptchaSpec(**base).prepare(img)[0, 0].tolist()
    assert nearest == [100, 250] and bilinear == [71, 207]
    with pytest.raises(ValueError, match="resample"):
        CaptchaSpec(**base, resample="cubic")
    old = {k: v for k, v in CaptchaSpec(**base, resample="nearest").to_dict().items() if k != "resample"}
    assert CaptchaSpec.from_dict(old).resample == "bilinear"  # a model's sidecar from before the field


def test_labels_take_the_case_of_a_one_case_charset():
    lower = CaptchaSpec(name="l", charset="abc123", length=4, width=40, height=20)
    upper = CaptchaSpec(name="u", charset="ABC123", length=4, width=40, height=20)
    mixed = CaptchaSpec(name="m", charset="aBc123", length=4, width=40, height=20)
    assert lower.normalize_label("AbC1") == "abc1"
    assert upper.normalize_label("abC1") == "ABC1"  # URP's alphabet is capitals; a lower-case file name reads
    assert mixed.normalize_label("abC1") == "abC1"


def test_a_folder_is_read_through_its_linked_folders(tmp_path):
    """A set assembled with symbolic links (one folder per download, linked into one) is read whole;
    a link back up the tree is followed once."""
    from gradewatch.captcha.dataset import iter_files

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    Image.new("RGB", (40, 20), "white").save(elsewhere / "cd4m.png")
    root = tmp_path / "set"
    root.mkdir()
    Image.new("RGB", (40, 20), "white").save(root / "ab3k.png")
    (root / "linked").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(root, target_is_directory=True)
    assert [name for name, _ in iter_files(root)] == ["ab3k.png", "cd4m.png"]


def test_a_16_bit_gray_captcha_keeps_its_ink():
    """A 16-bit grayscale PNG opens as Pillow's I;16, which convert("L") clips to near-white."""
    import io

    from gradewatch.captcha.spec import open_image

    spec = CaptchaSpec(name="t", charset="ab", length=2, width=40, height=20, grayscale=True)
    levels = np.full((20, 40), 65535, np.uint16)
    levels[:, :10] = 16384  # a dark grey bar (a quarter of full scale) on white
    buf = io.BytesIO()
    Image.fromarray(levels).save(buf, "PNG")
    arr = spec.prepare(open_image(buf.getvalue()))
    assert 60 <= arr[0, :, :10].max() <= 68 and arr[0, :, 20:].min() > 245


@pytest.mark.parametrize("name", ["ab3k (2).png", "ab3k(1).png", "ab3k copy.png", "ab3k copy 2.png",
                                  "ab3k - 副本.png", "ab3k - Copy (3).png", "ab3k_17.png", "ab3k.PNG"])
def test_a_copys_name_keeps_its_label(name):
    """The marks file managers and browsers add to a second copy (Windows, macOS, Chinese Windows)."""
    from gradewatch.captcha.dataset import label_from_name

    assert label_from_name(name, CaptchaSpec(name="t", charset="ab3k", length=4, width=40, height=20)) == "ab3k"
