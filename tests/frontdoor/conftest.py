"""Front-door set-ups on loopback (gradewatch.sim.fronted): a system simulator behind the CAS
simulator, a WebVPN, or both; ``make_fronted("zf", cas=True, vpn=False, **simulator options)``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from gradewatch.sim.fronted import Fronted, fronted


@pytest.fixture
def make_fronted() -> Iterator[Callable[..., Fronted]]:
    with ExitStack() as stack:

        def make(system: str, **settings: Any) -> Fronted:
            return fronted(stack, system, **settings)

        yield make
