"""Fixtures for the captcha tests: where the real SSFW data is, and small rendered datasets."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SSFW_DATA = REPO.parent / "shared" / "data" / "ssfw-captcha"
GRADEWATCH = REPO / ".venv" / "bin" / "gradewatch"


@pytest.fixture(scope="session")
def ssfw_data() -> Path:
    """../shared/data/ssfw-captcha, or skip: the real captchas are not part of the repository."""
    if not (SSFW_DATA / "train.tar.gz").is_file():
        pytest.skip(f"real SSFW captchas not available ({SSFW_DATA} is absent; they live in ../shared, not the repo)")
    return SSFW_DATA


@pytest.fixture(scope="session")
def rendered_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of 60 rendered SSFW captchas saved as <label>.png (colour, as the simulator serves them)."""
    from gradewatch.captcha.render import random_text, render_ssfw
    from gradewatch.captcha.spec import SPECS

    out = tmp_path_factory.mktemp("rendered")
    rng = random.Random(1234)
    seen: set[str] = set()
    while len(seen) < 60:
        text = random_text(SPECS["ssfw"], rng)
        if text in seen:
            continue
        seen.add(text)
        render_ssfw(text, rng).save(out / f"{text}.png")
    return out
