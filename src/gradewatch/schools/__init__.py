"""School adapters: one module per academic system, all on :mod:`gradewatch.schools.base`."""

from __future__ import annotations

from gradewatch.schools.base import SchoolAdapter

_REGISTRY: dict[str, type[SchoolAdapter]] = {}


def register(cls: type[SchoolAdapter]) -> type[SchoolAdapter]:
    _REGISTRY[cls.system] = cls
    return cls


def adapter_class(system: str) -> type[SchoolAdapter]:
    _load_builtin()
    try:
        return _REGISTRY[system]
    except KeyError:
        raise KeyError(f"unknown school system {system!r} (known: {', '.join(sorted(_REGISTRY))})") from None


def systems() -> dict[str, type[SchoolAdapter]]:
    _load_builtin()
    return dict(_REGISTRY)


def _load_builtin() -> None:
    # Import for the side effect of @register; each module is one system.
    import importlib

    for name in ("ssfw", "zf", "qiangzhi", "jwapp"):
        try:
            importlib.import_module(f"gradewatch.schools.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"gradewatch.schools.{name}":
                raise
