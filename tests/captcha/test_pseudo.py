"""Pseudo-labels for rejected captchas: kept only when confident and unlike the rejected reading."""

from __future__ import annotations

import io
import shutil

from PIL import Image

from gradewatch.captcha import dataset as ds
from gradewatch.captcha.pseudo import MARK, pseudo_label
from gradewatch.captcha.solver import resolve_model
from gradewatch.captcha.spec import SPECS, CaptchaSpec


def test_rejected_captchas_get_the_models_reading_only_when_it_is_new_and_sure(rendered_dir, tmp_path):
    spec = SPECS["ssfw"]
    files = sorted(rendered_dir.glob("*.png"))[:6]
    truths = [p.stem for p in files]
    rejected, verified, dest = tmp_path / "rejected", tmp_path / "verified", tmp_path / "pseudo"
    rejected.mkdir()
    verified.mkdir()
    # Named by a wrong reading, as the harvest's review queue names them: the model should correct these.
    for i, p in enumerate(files[:3]):
        wrong = "zzzz" if p.stem != "zzzz" else "yyyy"
        (rejected / (wrong if i == 0 else f"{wrong}_{i + 1}")).with_suffix(".png").write_bytes(p.read_bytes())
    # Named by the very reading the model gives (in another case): the school said no to it, so it is no label.
    (rejected / f"{files[3].stem.upper()}.png").write_bytes(files[3].read_bytes())
    # Accepted later (same bytes in verified): its label is known, it is not read again.
    (rejected / "aaaa.png").write_bytes(files[4].read_bytes())
    shutil.copyfile(files[4], verified / files[4].name)
    # Of another size than the model takes: unsure, not an error.
    buf = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(buf, "PNG")
    (rejected / "bbbb.png").write_bytes(buf.getvalue())
    (rejected / "cccc.png").write_bytes(b"not an image")  # damaged: unsure, not an error
    (rejected / ".hidden.png").write_bytes(b"not an image")  # not an image by its name: not read
    dest.mkdir()
    (dest / f"stale{MARK}1.png").write_bytes(files[5].read_bytes())  # from an earlier round: gone after this one

    got = pseudo_label(resolve_model("ssfw"), rejected, verified, spec, dest, min_confidence=0.5)

    assert got.to_json() == {"read": 6, "kept": 3, "same_as_rejected": 1, "unsure": 2}
    loaded = ds.load(dest, spec)
    assert sorted(s.label for s in loaded.samples) == sorted(truths[:3])
    assert all(MARK in s.name for s in loaded.samples)
    # A floor above any probability keeps none of them.
    none = pseudo_label(resolve_model("ssfw"), rejected, verified, spec, dest, min_confidence=1.01)
    assert none.kept == 0 and none.unsure == 5 and not any(dest.iterdir())


def test_no_rejected_folder_means_no_labels(tmp_path):
    got = pseudo_label(resolve_model("ssfw"), tmp_path / "absent", tmp_path, SPECS["ssfw"], tmp_path / "pseudo")
    assert got.kept == 0 and (tmp_path / "pseudo").is_dir()


def test_a_charset_with_an_underscore_gets_no_pseudo_labels(rendered_dir, tmp_path):
    # `<text>_pseudo<k>.png` would be read whole as the label: such a spec trains on verified ones only.
    ssfw = SPECS["ssfw"]
    spec = CaptchaSpec("odd", ssfw.charset + "_", ssfw.length, ssfw.width, ssfw.height, threshold=ssfw.threshold)
    rejected = tmp_path / "rejected"
    rejected.mkdir()
    for i, p in enumerate(sorted(rendered_dir.glob("*.png"))[:3]):
        (rejected / f"zz_{i}.png").write_bytes(p.read_bytes())  # the model reads each as something else
    got = pseudo_label(resolve_model("ssfw"), rejected, tmp_path, spec, tmp_path / "pseudo", min_confidence=0.0)
    assert got.kept == 0 and not any((tmp_path / "pseudo").iterdir())
