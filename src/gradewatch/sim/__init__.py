"""School-system simulators: real ASGI servers on loopback for the demo and the tests.

``base`` (sessions, captchas, lockout, stats) and ``admin`` (the token-protected admin API) are
shared by every system; ``ssfw`` is Wisedu SSFW; ``transcripts`` holds the seeded students;
``server`` runs a simulator in a thread and talks to its admin API; ``cli`` is ``gradewatch sim``.
Every other module is one system's simulator, found by :func:`simulators`.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradewatch.sim.base import Simulator

#: system id → simulator class; filled by Simulator.__init_subclass__ as the modules are imported.
_REGISTRY: dict[str, type[Simulator]] = {}
_loaded = False


def simulators() -> dict[str, type[Simulator]]:
    """Every simulator by system id: each module of this package is imported once, and every
    Simulator subclass that sets its own ``system`` registers itself (a new system is a new file)."""
    global _loaded
    if not _loaded:
        for info in pkgutil.iter_modules(__path__):
            if not info.name.startswith("_"):
                importlib.import_module(f"{__name__}.{info.name}")
        _loaded = True
    return dict(sorted(_REGISTRY.items()))


def simulator_class(system: str) -> type[Simulator]:
    known = simulators()
    try:
        return known[system]
    except KeyError:
        raise KeyError(f"no simulator of system {system!r} (known: {', '.join(known)})") from None
