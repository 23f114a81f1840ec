"""GPA settings (per school and/or per account in the TOML config) and custom band-table scales.

Validation errors are raised from pydantic validators so the config loader reports them under the
key that holds them, e.g. ``schools.x.gpa.custom_scales.mine: bands are not in order …``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gradewatch.gpa.levels import (
    DEFAULT_LETTER_GRADES,
    DEFAULT_LEVEL_SCORES,
    FAIL,
    LEVELS,
    PASS,
    canonical,
)
from gradewatch.gpa.scales import ALL, BUILTIN_SCALES, Band, Scale, UnknownScaleError, find_scale

_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def _fmt(x: float) -> str:
    return f"{x:g}"


class BandSpec(BaseModel):
    """One row of a custom scale: scores ``>= min`` earn ``points``. ``max`` is optional, for checking."""

    model_config = ConfigDict(extra="forbid")

    min: float = Field(ge=0, le=100, allow_inf_nan=False)
    points: float = Field(ge=0, allow_inf_nan=False)
    max: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    label: str = ""


class CustomScale(BaseModel):
    """A band table, highest band first, that must reach down to 0.

    TOML: either a bare list ``mine = [{min = 90, points = 4.0}, …, {min = 0, points = 0}]`` or a table
    with ``name`` (display name) and ``bands``.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    bands: list[BandSpec]

    @model_validator(mode="before")
    @classmethod
    def _bare_list(cls, data: Any) -> Any:
        return {"bands": data} if isinstance(data, list) else data

    @model_validator(mode="after")
    def _check(self) -> CustomScale:
        check_bands(self.bands)
        return self

    def to_scale(self, sid: str) -> Scale:
        bands = tuple(Band(b.min, b.points, b.label) for b in self.bands)
        return Scale(id=sid, name=self.name or sid, bands=bands, source="custom scale from the config")


def check_bands(bands: list[BandSpec]) -> None:
    """Raise ValueError naming the first problem in a band table (highest ``min`` first)."""
    if not bands:
        raise ValueError("a custom scale needs at least one band, e.g. {min = 0, points = 0}")
    for i, b in enumerate(bands):
        if b.max is not None and b.max < b.min:
            raise ValueError(f"band {i + 1} has max = {_fmt(b.max)} below its min = {_fmt(b.min)}")
    for i in range(1, len(bands)):
        hi, lo = bands[i - 1], bands[i]
        n = i + 1
        if lo.min == hi.min:
            raise ValueError(f"overlapping bands: bands {i} and {n} both start at min = {_fmt(lo.min)}")
        if lo.min > hi.min:
            raise ValueError(
                f"bands are not in order: list them from the highest min down, but band {n} "
                f"(min = {_fmt(lo.min)}) comes after band {i} (min = {_fmt(hi.min)})"
            )
        if lo.max is not None and lo.max >= hi.min:
            raise ValueError(
                f"overlapping bands: band {n} ({_fmt(lo.min)}–{_fmt(lo.max)}) overlaps band {i} "
                f"which starts at {_fmt(hi.min)}"
            )
        if lo.max is not None and hi.min - lo.max > 1:
            raise ValueError(
                f"gap between bands: band {n} ends at {_fmt(lo.max)} but band {i} starts at {_fmt(hi.min)}"
            )
        if lo.points > hi.points:
            raise ValueError(
                f"points out of order: band {n} (min = {_fmt(lo.min)}) gives {_fmt(lo.points)} points, "
                f"more than band {i} (min = {_fmt(hi.min)}) with {_fmt(hi.points)}; points must not "
                "rise as the score falls"
            )
    lowest = bands[-1].min
    if lowest != 0:
        what = "below 60" if lowest >= 60 else f"under {_fmt(lowest)}"
        raise ValueError(
            f"no band covers scores {what}: the lowest band starts at {_fmt(lowest)}; the last band "
            "must start at 0, e.g. add {min = 0, points = 0}"
        )


def _canonical_keys(mapping: Mapping[str, float], what: str) -> dict[str, float]:
    out: dict[str, float] = {}
    seen: dict[str, str] = {}
    for word, value in mapping.items():
        key = canonical(word)
        if key in seen and out[key] != value:
            raise ValueError(
                f"{what}: {seen[key]!r} and {word!r} name the same level {key!r} with different values"
            )
        seen[key] = word
        out[key] = value
    return out


class LetterGrade(BaseModel):
    """One row of the letter table: the points a letter earns on 4-point scales and its 百分制 score."""

    model_config = ConfigDict(extra="forbid")

    points: float = Field(ge=0, le=5, allow_inf_nan=False)
    score: float = Field(ge=0, le=100, allow_inf_nan=False)


def _default_letters() -> dict[str, LetterGrade]:
    return {w: LetterGrade(points=p, score=s) for w, (p, s) in DEFAULT_LETTER_GRADES.items()}


#: Scales whose top is below this are the 4-point family (标准4.0 … 4.3 scales, WES, 4.x custom
#: scales): a letter earns its table points there. On 5分制 and the like its score goes through the scale.
LETTER_POINTS_BELOW = 5.0


class GpaSettings(BaseModel):
    """How a school/account computes GPA. All keys optional; see docs/gpa.md."""

    model_config = ConfigDict(extra="forbid")

    scale: str = Field(default="standard4", description="scale id or display name shown by default")
    level_scores: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_LEVEL_SCORES),
        description="level word → 百分制 equivalent, merged over the defaults 优秀95 … 不及格0",
    )
    level_points: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="scale id → {level word → points}: override the points a level word earns on that scale",
    )
    letter_grades: dict[str, LetterGrade] = Field(
        default_factory=_default_letters,
        description="letter → {points, score}: points on 4-point scales, score for 加权平均分 "
        "(merged over the default A=4.0/95 … F=0/0)",
    )
    include_pass_fail: bool = False
    retake_policy: Literal["best", "latest", "first"] = "best"
    makeup_pass_as: float | None = Field(default=60, ge=0, le=100)
    retake_pass_as: float | None = Field(default=None, ge=0, le=100)
    count_natures: list[str] | None = None
    round_scores: bool = False
    custom_scales: dict[str, CustomScale] = Field(default_factory=dict)

    @field_validator("makeup_pass_as", "retake_pass_as", mode="before")
    @classmethod
    def _actual(cls, v: Any) -> Any:
        # TOML has no null: `false` or "actual" mean "use the score actually obtained".
        if v is False or (isinstance(v, str) and v.strip().lower() in {"actual", "none", ""}):
            return None
        if v is True:
            raise ValueError('give a score such as 60, or "actual" to use the score obtained')
        return v

    @field_validator("level_scores")
    @classmethod
    def _level_scores(cls, v: dict[str, float]) -> dict[str, float]:
        given = _canonical_keys(v, "level_scores")
        for word, score in given.items():
            if not (0 <= score <= 100) or math.isnan(score):
                raise ValueError(f"level_scores.{word}: {score} is not a 百分制 score between 0 and 100")
        return {**DEFAULT_LEVEL_SCORES, **given}

    @field_validator("letter_grades", mode="before")
    @classmethod
    def _letter_grades(cls, v: Any) -> Any:
        # Merge over the defaults row by row, so a school can change only the score of "A-".
        if not isinstance(v, Mapping):
            return v
        out: dict[str, Any] = {w: {"points": p, "score": s} for w, (p, s) in DEFAULT_LETTER_GRADES.items()}
        for word, row in v.items():
            key = canonical(str(word))
            if key in (PASS, FAIL) or key in DEFAULT_LEVEL_SCORES:
                raise ValueError(f"letter_grades.{word}: {key!r} is a pass/fail or level word, not a letter")
            if isinstance(row, LetterGrade):
                row = row.model_dump()
            if isinstance(row, Mapping) and key in out:
                row = {**out[key], **row}
            out[key] = row
        return out

    @field_validator("level_points")
    @classmethod
    def _level_points(cls, v: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
        out = {}
        for scale, table in v.items():
            table = _canonical_keys(table, f"level_points.{scale}")
            for word, pts in table.items():
                if pts < 0 or math.isnan(pts) or math.isinf(pts):
                    raise ValueError(f"level_points.{scale}.{word}: points must be a number >= 0")
            out[scale] = table
        return out

    @field_validator("count_natures")
    @classmethod
    def _natures(cls, v: list[str] | None) -> list[str] | None:
        cleaned = [n.strip() for n in v or [] if n.strip()]
        return cleaned or None

    @field_validator("custom_scales")
    @classmethod
    def _custom_ids(cls, v: dict[str, CustomScale]) -> dict[str, CustomScale]:
        for sid, cs in v.items():
            if not _ID.fullmatch(sid):
                raise ValueError(
                    f"custom scale id {sid!r} must be ASCII letters, digits, _ . - (starting with a letter) "
                    "so it can be typed on the command line; put the Chinese name in `name`"
                )
            for name in (sid, cs.name):
                if name is None:
                    continue
                if name.strip().lower() == ALL:
                    raise ValueError(f"custom scale {sid!r}: {ALL!r} is reserved for showing every scale")
                try:
                    clash = find_scale(name)
                except UnknownScaleError:
                    continue
                raise ValueError(f"custom scale {sid!r}: {name!r} is already the built-in scale {clash.id}")
        return v

    @model_validator(mode="after")
    def _scales_exist(self) -> GpaSettings:
        custom = self.scales()
        try:
            self.scale = find_scale(self.scale, custom).id
        except UnknownScaleError as err:
            raise ValueError(f"scale: {err}") from None
        resolved: dict[str, dict[str, float]] = {}
        for key, table in self.level_points.items():
            try:
                resolved[find_scale(key, custom).id] = table
            except UnknownScaleError as err:
                raise ValueError(f"level_points: {err}") from None
        self.level_points = resolved
        return self

    def scales(self) -> dict[str, Scale]:
        """The custom scales as ``Scale`` objects, by id."""
        return {sid: cs.to_scale(sid) for sid, cs in self.custom_scales.items()}

    def letter_points(self, word: str, scale: Scale) -> float | None:
        """Points a letter earns on ``scale`` from the letter table, or None where its score goes
        through the scale instead (5分制 and other scales reaching 5)."""
        row = self.letter_grades.get(word)
        if row is None or scale.max_points >= LETTER_POINTS_BELOW:
            return None
        return row.points

    def level_score(self, word: str) -> float:
        """百分制 equivalent of a canonical level, letter or pass/fail word.

        合格 counts as 及格 and 不合格 as 不及格 unless ``level_scores`` names them.
        """
        if word in self.level_scores:
            return self.level_scores[word]
        if word in self.letter_grades:
            return self.letter_grades[word].score
        if word == PASS:
            return self.level_scores[LEVELS[3]]
        if word == FAIL:
            return self.level_scores[LEVELS[4]]
        raise KeyError(word)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def merge_settings(*layers: Mapping[str, Any] | None) -> GpaSettings:
    """Validate school-then-account ``gpa`` tables; later layers override earlier ones key by key.

    Nested tables (level_scores, level_points, custom_scales) merge, so an account can add one custom
    scale or change one level without repeating the school's. Raises pydantic.ValidationError.
    """
    merged: dict[str, Any] = {}
    for layer in layers:
        if layer:
            merged = _merge(merged, layer)
    return GpaSettings.model_validate(merged)


__all__ = [
    "BUILTIN_SCALES",
    "BandSpec",
    "CustomScale",
    "GpaSettings",
    "LetterGrade",
    "check_bands",
    "merge_settings",
]
