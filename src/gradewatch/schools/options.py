"""Typed per-system options: each adapter declares its ``options`` table as a pydantic model.

    class ZfAdapter(SchoolAdapter):
        class Options(SchoolOptions):
            captcha: CaptchaSetting = option("auto", "use the kaptcha: auto (when the page shows one), true, false")
            page_size: int = option(100, "queryModel.showCount asked for", ge=1, le=5000)

The config validates a school's ``options`` against its system's model (an unknown or ill-typed
key is an error naming ``schools.X.options.KEY``), the adapter fills in the defaults, and
``python -m gradewatch.docs_tables`` writes the options table of docs/schools.md from the same
declarations.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

#: How a captcha option is written in the config: ``"auto"`` (decide from the login page), true, false.
CaptchaValue = bool | Literal["auto"]


def _captcha_setting(value: Any) -> CaptchaValue:
    if isinstance(value, bool) or value == "auto":
        return value  # type: ignore[no-any-return]
    raise ValueError('must be "auto", true or false')


#: The ``auto/true/false`` captcha option most systems have.
CaptchaSetting = Annotated[
    CaptchaValue, BeforeValidator(_captcha_setting), Field(json_schema_extra={"shown": '"auto"|bool'})
]


class SchoolOptions(BaseModel):
    """Base of every system's options model: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: Every system with a captcha may read it with a model of the school's own (a bootstrap's result).
    captcha_model: str = Field(default="", description="a captcha model for this school: a shipped name or "
                               "an .onnx path (empty: the system's own model)")

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return cls().model_dump()


def option(default: Any, help: str, **constraints: Any) -> Any:  # noqa: A002 - "help" reads best in declarations
    """One declared option: its default, a one-line help text, and pydantic constraints (ge, pattern …)."""
    return Field(default=default, description=help, **constraints)


def option_rows(model: type[SchoolOptions]) -> list[tuple[str, str, str, str]]:
    """(name, type, default, help) of every option, in declaration order (for the docs table)."""
    rows = []
    for name, info in model.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        shown = extra.get("shown") or _type_name(info.annotation)
        rows.append((name, str(shown), _toml(info.default), info.description or ""))
    return rows


def _type_name(annotation: Any) -> str:
    if getattr(annotation, "__origin__", None) is Literal:
        return "|".join(_toml(a) for a in annotation.__args__)
    return getattr(annotation, "__name__", str(annotation)).replace("str", "string")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)
