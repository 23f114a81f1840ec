"""Learning a school's captcha spec (length, alphabet, case rule, size) from the answers its server accepted."""

from __future__ import annotations

import random
import string

import pytest

from gradewatch.captcha.harvest import Harvester, TargetReader
from gradewatch.captcha.solver import Prediction, load_solver
from gradewatch.captcha.spec_learn import MIN_PROBES, Answer, CaseProbe, input_size, learn_spec
from gradewatch.schools.base import Credentials
from gradewatch.schools.ssfw import SsfwAdapter
from gradewatch.schools.zf import ZfAdapter


class RandomCase:
    """A reader that gets every character right but its letter case at random (as ddddocr does on
    captchas that draw letters in both cases): only a case-insensitive server accepts it reliably."""

    def __init__(self, solver, seed: int = 0) -> None:  # type: ignore[no-untyped-def]
        self._solver = solver
        self._rng = random.Random(seed)

    def solve(self, image: bytes) -> Prediction:
        pred = self._solver.solve(image)
        text = "".join(c.upper() if self._rng.random() < 0.5 else c for c in pred.text)
        return Prediction(text, pred.confidence)


def harvest_answers(make_adapter, creds, solver, tmp_path, attempts: int) -> list[Answer]:  # type: ignore[no-untyped-def]
    # No target spec: nothing is declared up front, every reading is submitted as read (or as a probe).
    harvester = Harvester(
        make_adapter, creds, TargetReader(solver, None), tmp_path / "ok", tmp_path / "review", rate=1000.0,
        probe=CaseProbe(),
    )  # fmt: skip
    result = harvester.run(attempts)
    assert result.ok, result.message
    assert len(harvester.answers) == attempts
    return harvester.answers


def test_learns_a_case_insensitive_school_from_the_simulator(ssfw_sim, ssfw_solver, tmp_path):
    answers = harvest_answers(
        lambda: SsfwAdapter(ssfw_sim.base_url),
        Credentials(ssfw_sim.username, ssfw_sim.password),
        RandomCase(ssfw_solver),
        tmp_path,
        80,
    )
    assert ssfw_sim.admin.stats(ssfw_sim.username)["login_posts"] == 80
    learned = learn_spec(answers)
    assert learned is not None
    assert learned.case_insensitive is True  # probes in swapped case were accepted like plain answers
    assert learned.evidence.probes == MIN_PROBES and learned.evidence.probes_accepted >= MIN_PROBES - 1
    assert (learned.min_length, learned.max_length) == (4, 4)
    assert set(learned.charset) <= set(string.digits + string.ascii_lowercase)  # folded to lower case
    assert len(learned.charset) >= 33  # 0-9a-z: nearly all 36 show up in ~300 accepted characters
    assert (learned.width, learned.height) == (68, 22)
    spec = learned.to_spec()
    assert (spec.width, spec.height, spec.length, spec.min_length) == (68, 22, 4, None)
    assert spec.normalize_label("AbC1") == "abc1"


def test_learns_a_case_sensitive_variable_length_school_from_the_simulator(make_school_sim, tmp_path):
    zf = make_school_sim("zf", captcha=True)
    answers = harvest_answers(
        lambda: ZfAdapter(zf.base_url), Credentials(zf.username, zf.password), load_solver("zf"), tmp_path, 80
    )
    learned = learn_spec(answers)
    assert learned is not None
    assert learned.case_insensitive is False  # swapped-case probes were rejected
    assert learned.evidence.probes == MIN_PROBES and learned.evidence.probes_accepted <= 1
    assert (learned.min_length, learned.max_length) == (4, 5)  # kaptcha here draws 4 or 5 characters
    assert any(c.isupper() for c in learned.charset) and any(c.islower() for c in learned.charset)
    served = set("2345679abdefhmnrtABDEFGHJLMNQRTY")  # the simulator's kaptcha alphabet
    assert set(learned.charset) <= served and len(learned.charset) >= 28
    assert (learned.width, learned.height) == (200, 50)
    spec = learned.to_spec()
    assert (spec.width, spec.height) == (128, 32)  # scaled down, aspect kept
    assert spec.resample == "bilinear"  # shrunk to 0.64: thin strokes need the antialiased filter
    assert input_size(100, 40) == (100, 40) and input_size(72, 27) == (72, 27)  # never scaled up
    assert input_size(160, 60) == (107, 40)
    assert spec.variable_length and spec.normalize_label("aB3d") == "aB3d"


def test_a_captcha_shrunk_a_little_is_sampled_nearest():
    learned = learn_spec([Answer("ab12", True, size=(130, 52))])
    assert learned is not None
    spec = learned.to_spec()
    assert (spec.width, spec.height, spec.resample) == (100, 40, "nearest")  # the 北京大学 kaptcha's 0.77
    # The boundary, NEAREST_FROM = 0.75: 170 -> 128 px wide is 0.753, 171 -> 128 is 0.749.
    wide = [learn_spec([Answer("ab12", True, size=(w, 40))]).to_spec() for w in (170, 171)]  # type: ignore[union-attr]
    assert [(s.width, s.resample) for s in wide] == [(128, "nearest"), (128, "bilinear")]


def test_case_rule_needs_probes_and_digits_only_has_none():
    plain = [Answer("ab12", True), Answer("cd34", True), Answer("Ef56", False)]
    assert learn_spec(plain).case_insensitive is None  # type: ignore[union-attr]
    probes_rejected = plain + [Answer(f"X{i}y", False, probe=True) for i in range(MIN_PROBES)]
    assert learn_spec(probes_rejected).case_insensitive is False  # type: ignore[union-attr]
    probes_ok = plain + [Answer(f"X{i}y", i % 3 != 0, probe=True) for i in range(MIN_PROBES)]
    assert learn_spec(probes_ok).case_insensitive is True  # type: ignore[union-attr]
    digits = learn_spec([Answer("1234", True, size=(70, 30)), Answer("56789", True, size=(70, 30))])
    assert digits is not None and digits.case_insensitive is True and digits.charset == "123456789"
    assert (digits.min_length, digits.max_length) == (4, 5)
    assert learn_spec([Answer("1234", False)]) is None


def test_case_probe_alternates_and_stops():
    probe = CaseProbe(probes=3)
    sent = [probe.submit_text(t) for t in ["1234", "ab12", "ab12", "ab12", "ab12", "ab12", "ab12", "ab12"]]
    assert sent[0] == ("1234", False)  # nothing to swap
    assert [p for _, p in sent].count(True) == 3 and not probe.active
    assert all(t == "AB12" for t, p in sent if p)


@pytest.mark.parametrize("text", ["ab12", "AB12"])
def test_probe_text_round_trips(text):
    probe = CaseProbe(probes=2)
    assert probe.submit_text(text) == (text.swapcase(), True)  # the first reading with a letter is a probe
    assert probe.submit_text(text) == (text, False)  # the next one is plain
