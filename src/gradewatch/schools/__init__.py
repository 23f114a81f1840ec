"""School adapters: one module per academic system, all on :mod:`gradewatch.schools.base`.

A system is one file here: its module registers its adapter class with :func:`register`, and
everything that loops over systems (config validation, ``detect``, the docs tables, the tests)
asks :func:`systems`, which imports every module of this package once.
"""

from __future__ import annotations

import importlib
import pkgutil

from gradewatch.schools.base import SchoolAdapter

_REGISTRY: dict[str, type[SchoolAdapter]] = {}
_loaded = False


def register(cls: type[SchoolAdapter]) -> type[SchoolAdapter]:
    """Class decorator of an adapter: make ``cls.system`` a configurable system."""
    if not cls.system:
        raise ValueError(f"{cls.__name__} has no system id")
    known = _REGISTRY.get(cls.system)
    if known is not None and known.__qualname__ != cls.__qualname__:
        raise ValueError(f"two adapters claim the system {cls.system!r}: {known.__name__} and {cls.__name__}")
    _REGISTRY[cls.system] = cls
    return cls


def adapter_class(system: str) -> type[SchoolAdapter]:
    _load_builtin()
    try:
        return _REGISTRY[system]
    except KeyError:
        raise KeyError(f"unknown school system {system!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def systems() -> dict[str, type[SchoolAdapter]]:
    """Every registered adapter by system id."""
    _load_builtin()
    return dict(sorted(_REGISTRY.items()))


def _load_builtin() -> None:
    # Import every module of the package for the side effect of @register: a new system is a new file.
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True
