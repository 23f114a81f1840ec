"""Learn a school's captcha spec (length, alphabet, case rule, size) from the answers its server accepted.

Nobody declares a new school's captcha up front. Every login attempt of a harvest is an
``Answer``: the text submitted, whether the server accepted it, and the image size. An accepted
answer is, by the school's own judgement, a correct reading, so:

- the **length** range is the range of accepted lengths;
- the **alphabet** is the set of characters in accepted answers;
- the **case rule** needs an experiment, because the readings alone cannot tell a case-insensitive
  server from a reader that happens to get case right: a few attempts whose reading contains a
  letter are submitted with the letter case swapped on purpose (*probes*). A case-sensitive
  server rejects (almost) every probe, a case-insensitive one accepts them as often as plain
  answers. A school whose accepted answers contain no letter at all has no case rule to learn.

Pure functions on plain data: no I/O, no model.
"""

from __future__ import annotations

import string
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from gradewatch.captcha.spec import CaptchaSpec

#: Probes (swapped-case submissions of readings with a letter) needed before the case rule is decided.
MIN_PROBES = 12
#: A case-insensitive server accepts probes about as often as plain answers; below this share of the
#: plain acceptance rate the server is taken as case-sensitive.
PROBE_RATIO = 0.5
#: The model input is the image scaled down (never up) to at most this size. 40 rows, not 32: the
#: seu_auth_cas captchas (100x40) read 7 points better at their own size than scaled to 80x32, for
#: 11 % more solve time (docs/bootstrap.md); the forward pass grows with the input's area.
MAX_INPUT = (128, 40)


@dataclass(frozen=True)
class Answer:
    text: str  # what was submitted
    accepted: bool
    probe: bool = False  # submitted with the reading's letter case swapped on purpose
    size: tuple[int, int] | None = None  # (width, height) of the captcha image


def has_letter(text: str) -> bool:
    return any(c.isalpha() for c in text)


@dataclass(frozen=True)
class CaseEvidence:
    probes: int = 0  # probes with a letter submitted
    probes_accepted: int = 0
    plain: int = 0  # plain (not probed) answers with a letter submitted
    plain_accepted: int = 0

    @property
    def decided(self) -> bool:
        return self.probes >= MIN_PROBES and self.plain_accepted > 0

    @property
    def case_insensitive(self) -> bool | None:
        """True / False once decided; None while there are too few probes (or no accepted plain answer)."""
        if not self.decided:
            return None
        probe_rate = self.probes_accepted / self.probes
        plain_rate = self.plain_accepted / self.plain
        return probe_rate >= PROBE_RATIO * plain_rate


def case_evidence(answers: Iterable[Answer]) -> CaseEvidence:
    probes = probes_ok = plain = plain_ok = 0
    for a in answers:
        if not has_letter(a.text):
            continue
        if a.probe:
            probes += 1
            probes_ok += a.accepted
        else:
            plain += 1
            plain_ok += a.accepted
    return CaseEvidence(probes, probes_ok, plain, plain_ok)


@dataclass(frozen=True)
class LearnedSpec:
    charset: str
    min_length: int
    max_length: int
    case_insensitive: bool | None  # None: not decided yet (treated as insensitive: the safe fold)
    width: int  # the most common image size
    height: int
    accepted: int  # accepted answers learned from
    evidence: CaseEvidence = field(default_factory=CaseEvidence)
    length_counts: dict[int, int] = field(default_factory=dict)

    def to_spec(self, name: str = "learned") -> CaptchaSpec:
        """A model spec: the learned alphabet and lengths, the image scaled to at most ``MAX_INPUT``, in colour.

        Colour, not grayscale: a few hundred verified captchas teach more when the network sees that
        the noise lines and the letters differ in hue (seu_auth_cas: +0.5 points at 100x40, +1.8 at
        80x32; docs/bootstrap.md).
        """
        w, h = input_size(self.width, self.height)
        return CaptchaSpec(
            name=name,
            charset=self.charset,
            length=self.max_length,
            min_length=self.min_length if self.min_length < self.max_length else None,
            width=w,
            height=h,
            grayscale=False,
            resize=True,
            resample="nearest" if w / self.width >= NEAREST_FROM else "bilinear",
        )

    def to_json(self) -> dict:
        return {
            "charset": self.charset,
            "min_length": self.min_length,
            "max_length": self.max_length,
            "case_insensitive": self.case_insensitive,
            "image_size": [self.width, self.height],
            "accepted": self.accepted,
            "case_evidence": {
                "probes": self.evidence.probes,
                "probes_accepted": self.evidence.probes_accepted,
                "plain": self.evidence.plain,
                "plain_accepted": self.evidence.plain_accepted,
            },
            "lengths": {str(k): v for k, v in sorted(self.length_counts.items())},
        }


#: Shrinking by no more than this, a learned spec samples the nearest pixel instead of Pillow's
#: antialiased bilinear filter: every stroke two pixels wide keeps at least one, and the resize is
#: most of a solve's preprocessing (11 against 85 us for 130x52 -> 100x40, with the same accuracy
#: on the 北京大学 kaptcha set; docs/bootstrap.md). Stronger shrinking keeps the bilinear filter.
NEAREST_FROM = 0.75


def input_size(width: int, height: int) -> tuple[int, int]:
    """Scale (width, height) down to fit ``MAX_INPUT`` keeping the aspect ratio; at least 16 px each way."""
    scale = min(1.0, MAX_INPUT[0] / width, MAX_INPUT[1] / height)
    return max(16, round(width * scale)), max(16, round(height * scale))


def _ordered(chars: set[str]) -> str:
    order = string.digits + string.ascii_lowercase + string.ascii_uppercase
    known = [c for c in order if c in chars]
    return "".join(known + sorted(c for c in chars if c not in order))


def learn_spec(answers: Iterable[Answer]) -> LearnedSpec | None:
    """The spec that the accepted answers show; None before any answer was accepted."""
    answers = list(answers)
    accepted = [a for a in answers if a.accepted and a.text]
    if not accepted:
        return None
    evidence = case_evidence(answers)
    letters = any(has_letter(a.text) for a in accepted)
    insensitive = evidence.case_insensitive if letters else True
    fold = insensitive is not False  # undecided: fold (a case-sensitive school is caught by the probes)
    texts = [a.text.lower() if fold else a.text for a in accepted]
    lengths = Counter(len(t) for t in texts)
    sizes = Counter(a.size for a in accepted if a.size)
    width, height = sizes.most_common(1)[0][0] if sizes else (96, 32)
    return LearnedSpec(
        charset=_ordered({c for t in texts for c in t}),
        min_length=min(lengths),
        max_length=max(lengths),
        case_insensitive=insensitive,
        width=width,
        height=height,
        accepted=len(accepted),
        evidence=evidence,
        length_counts=dict(lengths),
    )


class CaseProbe:
    """Decides which submissions are probes: every other reading with a letter, until the rule is decided."""

    def __init__(self, probes: int = MIN_PROBES) -> None:
        self.wanted = probes
        self.made = 0
        self._toggle = False

    @property
    def active(self) -> bool:
        return self.made < self.wanted

    def submit_text(self, reading: str) -> tuple[str, bool]:
        """(text to submit, whether it is a probe)."""
        if not self.active or not has_letter(reading) or reading.swapcase() == reading:
            return reading, False
        self._toggle = not self._toggle
        if not self._toggle:
            return reading, False
        self.made += 1
        return reading.swapcase(), True
