"""Pseudo-labels for rejected captchas: the semi-supervised part of a bootstrap.

A rejected captcha is an image the school has told us one thing about: the reading it was given is
wrong. The newest trained model reads it again; when that reading differs from the rejected one and
every character of it is confident, it is kept as a training label for the next round. These are the
captchas the harvesting solver got wrong, so they are the hard ones a verified-only set lacks.

They are never held out, so the held-out check reads server-verified labels only (a round with
none held out picks its checkpoint by training fit, and then these count too). They are rewritten
every round by the newest model; that model has trained on the last round's, so a wrong one can
stay, which is why the floor is high. Measured on the real
中山大学 CAS captchas: of the rejected ones a round-4 model read confidently (every character
>= 0.9) and differently, 29 of 31 were right; docs/bootstrap.md has this and the bootstrap runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from gradewatch.captcha import dataset as ds
from gradewatch.captcha.errors import CaptchaError
from gradewatch.captcha.harvest import ImageFolder
from gradewatch.captcha.solver import load_solver
from gradewatch.captcha.spec import CaptchaSpec

# A pseudo-labelled file is `<reading>_pseudo<k>.<ext>`: the loader reads the label before the `_`,
# and the name can never be one of the verified files that are held out by name.
MARK = "_pseudo"


@dataclass(frozen=True)
class PseudoLabels:
    read: int  # rejected images read (not counting those whose bytes were accepted later)
    kept: int  # written to the folder as training labels
    same_as_rejected: int  # the model repeated the reading the school had rejected
    unsure: int  # an output position below the floor, not a valid label of the spec, or unreadable

    def to_json(self) -> dict[str, int]:
        return {"read": self.read, "kept": self.kept, "same_as_rejected": self.same_as_rejected, "unsure": self.unsure}


def pseudo_label(
    model: Path,
    rejected: Path,
    verified: Path,
    spec: CaptchaSpec,
    dest: Path,
    min_confidence: float = 0.9,
) -> PseudoLabels:
    """Rewrite ``dest`` with the confident readings by ``model`` of the images in ``rejected``.

    ``rejected`` holds ``<wrong reading>.<ext>`` files (the harvest's review queue). An image whose
    exact bytes are also in ``verified`` is skipped: its label is known already.
    """
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    if "_" in spec.charset:  # the loader would read the mark as part of the label: no pseudo-labels
        return PseudoLabels(0, 0, 0, 0)
    files = (
        sorted(p for p in rejected.iterdir() if p.is_file() and ds.is_image_name(p.name)) if rejected.is_dir() else []
    )
    if not files:
        return PseudoLabels(0, 0, 0, 0)
    solver = load_solver(model)
    known = ImageFolder(verified)
    read = kept = same = unsure = 0
    for path in files:
        data = path.read_bytes()
        if data in known:
            continue
        read += 1
        try:
            pred = solver.solve(data)
        except CaptchaError:  # e.g. an image of another size than this spec's
            unsure += 1
            continue
        text = spec.normalize_label(pred.text)
        # Case-blind: at a school that ignores case, a reading that differs in case only is as wrong.
        if text.casefold() == ds.label_from_name(path.name).casefold():
            same += 1
        elif pred.confidence < min_confidence or not spec.valid_label(text):
            unsure += 1
        else:
            kept += 1
            (dest / f"{text}{MARK}{kept}{path.suffix.lower()}").write_bytes(data)
    return PseudoLabels(read, kept, same, unsure)
