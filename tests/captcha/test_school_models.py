"""The shipped ``zf`` and ``qiangzhi`` models read fresh simulator captchas (a seed they were not trained on)."""

from __future__ import annotations

import pytest

from gradewatch.captcha.solver import MODELS_DIR, load_solver
from gradewatch.captcha.spec import SPECS
from gradewatch.sim.qiangzhi import QiangzhiSimulator
from gradewatch.sim.zf import ZfSimulator

SIMULATORS = {"zf": ZfSimulator, "qiangzhi": QiangzhiSimulator}


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_shipped_model_reads_fresh_simulator_captchas(name: str) -> None:
    solver = load_solver(name)
    assert solver.spec == SPECS[name]
    source = SIMULATORS[name]([], seed=20240917).default_captchas()  # exactly what the simulator serves
    answers, images = [], []
    for _ in range(200):
        answer, image, _media = source.next()
        answers.append(answer)
        images.append(image)
    read = [p.text for p in solver.solve_many(images)]
    right = sum(a == r for a, r in zip(answers, read, strict=True))
    assert right / len(answers) >= 0.99, [(a, r) for a, r in zip(answers, read, strict=True) if a != r]


def test_zf_model_is_case_sensitive_and_variable_length() -> None:
    spec = load_solver("zf").spec
    assert spec.variable_length and (spec.min_length, spec.length) == (4, 5)
    assert any(c.isupper() for c in spec.charset) and any(c.islower() for c in spec.charset)


@pytest.mark.parametrize("name", sorted(SIMULATORS))
def test_shipped_model_files_are_small(name: str) -> None:
    assert (MODELS_DIR / f"{name}.onnx").stat().st_size <= 1_000_000
    assert (MODELS_DIR / f"{name}.json").is_file()
