"""The TOML config: schools, accounts, schedule, database. Validation errors name the key.

Passwords are resolved at check time (``password`` / ``password_env`` / ``password_cmd`` or the
encrypted copy kept by ``gradewatch password set``) and never logged.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

#: One year: the longest interval (and jitter) the schedule accepts.
MAX_MINUTES = 366 * 24 * 60


class ConfigError(Exception):
    """A problem with the config file; the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchoolConfig(_Strict):
    system: str = Field(description="school system id (gradewatch.schools.systems())")
    base_url: str
    max_concurrency: int = Field(default=2, ge=1, le=16)
    timeout: float = Field(default=20.0, gt=0, le=600, description="seconds any one network wait may take")
    request_deadline: float = Field(default=60.0, gt=0, le=3600, description="total seconds of one HTTP exchange")
    check_deadline: float = Field(default=300.0, gt=0, le=6 * 3600, description="total seconds of one check")
    max_response_mb: float = Field(default=5.0, gt=0, le=1024, description="largest answer read, in MB")
    requests_per_minute: int = Field(default=60, ge=1, le=100_000, description="budget of all workers together")
    #: Fast detection: classmates' checks moved up a minute at most (0 turns fast detection off).
    expedite_per_minute: int = Field(default=60, ge=0, le=600)
    #: Quiet nights for this school (overrides the global ``quiet_nights``; None: follow it).
    quiet_nights: bool | None = None
    options: dict[str, Any] = Field(default_factory=dict, description="system-specific settings")
    gpa: dict[str, Any] = Field(default_factory=dict, description="GPA settings for this school")
    #: Sign in through the university's CAS (金智 authserver) instead of the system's own form.
    front_door: Literal["none", "cas"] = "none"
    cas_url: str | None = Field(default=None, description="CAS root: https://authserver.example.edu.cn/authserver")
    cas_service: str | None = Field(default=None, description="the system's SSO entry URL (default: its known one)")
    cas_captcha_model: str = Field(default="generic", description="captcha model for the CAS's image captcha")
    cas_end_other_sessions: bool = Field(default=False, description="on a single-login CAS, end the account's "
                                         "other sessions (else the account pauses and the student is told)")
    #: Reach the school through its WebVPN (for a watcher outside the campus network).
    transport: Literal["direct", "webvpn"] = "direct"
    webvpn_url: str | None = Field(default=None, description="the WebVPN's own URL, e.g. https://webvpn.example.edu.cn")
    webvpn_key: str = Field(default="wrdvpnisthebest!", min_length=16, max_length=16)
    webvpn_iv: str = Field(default="wrdvpnisthebest!", min_length=16, max_length=16)

    @model_validator(mode="after")
    def _front_door_settings(self) -> SchoolConfig:
        if self.front_door == "cas" or self.transport == "webvpn":
            if not self.cas_url:
                raise ValueError("cas_url: required with front_door = \"cas\" or transport = \"webvpn\" "
                                 "(the WebVPN signs in through the school's CAS)")
        if self.transport == "webvpn" and not self.webvpn_url:
            raise ValueError("webvpn_url: required with transport = \"webvpn\"")
        for key in ("cas_url", "cas_service", "webvpn_url"):
            value = getattr(self, key)
            if value and not value.startswith(("http://", "https://")):
                raise ValueError(f"{key}: must start with http:// or https://")
        return self

    @field_validator("system")
    @classmethod
    def _known_system(cls, v: str) -> str:
        from gradewatch.schools import systems

        known = systems()
        if v not in known:
            raise ValueError(f"unknown system {v!r}; known systems: {', '.join(sorted(known))}")
        return v

    @field_validator("options")
    @classmethod
    def _system_options(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # Checked against the system's declared Options model; its errors keep their key, so a
        # misspelt option reads `schools.X.options.KEY: unknown key`. An unknown system is reported
        # by its own field.
        from gradewatch.schools import systems

        adapter = systems().get(info.data.get("system", ""))
        if adapter is None:
            return v
        return adapter.Options.model_validate(v).model_dump()

    def limits(self) -> Any:
        """The HTTP bounds of one check of this school (a fresh clock each call)."""
        from gradewatch.schools.http import Limits

        return Limits(request_deadline=min(self.request_deadline, self.check_deadline),
                      check_deadline=self.check_deadline, max_bytes=int(self.max_response_mb * 1024 * 1024))

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        import httpx

        try:  # what the client will make of it: "http://[::1" or "http://" must fail here, not mid-check
            host = httpx.URL(v).host
        except httpx.InvalidURL as err:
            raise ValueError(f"not a usable URL ({err})") from None
        if not host:
            raise ValueError("has no host (expected e.g. http://jwxt.example.edu.cn)")
        return v.rstrip("/")


class AccountConfig(_Strict):
    school: str
    username: str = Field(min_length=1)
    password: str | None = Field(default=None, repr=False)
    password_env: str | None = None
    password_cmd: str | None = None
    notify: list[str] = Field(default_factory=list, description="notification URLs (docs/notify.md)")
    privacy: Literal["off", "hide_scores", "hide_all"] = Field(
        default="off", description="hide scores (or also course names) in notifications, for lock screens")
    gpa: dict[str, Any] = Field(default_factory=dict, description="GPA settings for this account")
    retry_unknown_login_after_hours: float | None = Field(default=None, gt=0, le=24 * 365)

    @model_validator(mode="after")
    def _one_password_source(self) -> AccountConfig:
        given = [k for k in ("password", "password_env", "password_cmd") if getattr(self, k)]
        if len(given) > 1:
            raise ValueError(f"give only one of password, password_env, password_cmd (got {', '.join(given)})")
        return self

    @field_validator("password_cmd")
    @classmethod
    def _command_line(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                words = shlex.split(v)
            except ValueError as err:  # e.g. an unbalanced quote
                raise ValueError(f"not a valid command line: {err}") from None
            if not words:
                raise ValueError("is empty")
        return v

    def notify_problems(self, name: str) -> list[str]:
        """``accounts.NAME.notify[i]: reason`` for every URL no channel can deliver to."""
        from gradewatch.notify.channels import validate_url

        out = []
        for i, url in enumerate(self.notify):
            reason = validate_url(url)
            if reason:
                out.append(f"accounts.{name}.notify[{i}]: {reason}")
        return out


#: Environment variable that overrides the config's ``database``.
DATABASE_URL_ENV = "GRADEWATCH_DATABASE_URL"


class Config(_Strict):
    database: str = "sqlite:///gradewatch.db"
    key_file: str = "gradewatch.key"
    # Bounded so the scheduler's date arithmetic cannot overflow (1e12 minutes is not a schedule).
    interval_minutes: float = Field(default=30, gt=0, le=MAX_MINUTES)
    jitter_minutes: float = Field(default=5, ge=0, le=MAX_MINUTES)
    #: Opt-in (watch/rhythm.py): 3x the interval outside 08:00-22:00 school time, the first morning
    #: check spread over the first interval. Off by default: one student keeps a plain interval.
    quiet_nights: bool = False
    log_file: str | None = None
    #: Tell the student when their school has been failing this long (and again when it is back).
    school_alert_hours: float = Field(default=6, gt=0)
    #: Opt-in: after a password POST whose answer was never recognised, allow one more try after this long.
    retry_unknown_login_after_hours: float | None = Field(default=None, gt=0, le=24 * 365)
    schools: dict[str, SchoolConfig] = Field(default_factory=dict)
    accounts: dict[str, AccountConfig] = Field(default_factory=dict)
    #: Directory the relative paths above are resolved against (the config file's folder).
    base_dir: Path = Field(default=Path("."), exclude=True)
    #: The file this config was read from (None when built in code): a running worker re-reads its
    #: schools from it when an account at a school added since (a web sign-up's detect) turns up.
    source_path: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _accounts_name_schools(self) -> Config:
        for name, acc in self.accounts.items():
            bad_urls = acc.notify_problems(name)
            if bad_urls:
                raise ValueError("\n".join(bad_urls))
            if acc.school not in self.schools:
                raise ValueError(
                    f"accounts.{name}.school: no school named {acc.school!r} "
                    f"(defined: {', '.join(sorted(self.schools)) or 'none'})"
                )
            try:
                self.gpa_settings(name)
            except ValidationError as err:
                parts = [(".".join(str(p) for p in e["loc"]), e["msg"].removeprefix("Value error, "))
                         for e in err.errors()]
                problems = "; ".join(f"{loc}: {msg}" if loc else msg for loc, msg in parts)
                where = f"schools.{acc.school}.gpa / accounts.{name}.gpa"
                raise ValueError(f"GPA settings of {where}: {problems}") from None
        return self

    def gpa_settings(self, account: str) -> Any:
        """The account's GPA settings: the school's ``gpa`` table overlaid with the account's."""
        from gradewatch.gpa import merge_settings

        acc = self.accounts[account]
        return merge_settings(self.schools[acc.school].gpa, acc.gpa)

    @property
    def database_url(self) -> str:
        prefix = "sqlite:///"
        if self.database.startswith(prefix) and not self.database.startswith(prefix + "/"):
            path = self.database[len(prefix) :]
            if path != ":memory:":
                return prefix + str((self.base_dir / path).resolve())
        return self.database

    @property
    def key_path(self) -> Path:
        return (self.base_dir / self.key_file).resolve()


def _format_errors(path: Path, err: ValidationError) -> str:
    lines: list[str] = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if p != "__root__")
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden" and "options" in e["loc"][:-1]:
            msg = "unknown option of this system (docs/schools.md lists each system's options)"
        elif e["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; `gradewatch init` writes a commented template)"
        elif e["type"] == "missing":
            msg = "required key is missing"
        elif e["type"] in ("less_than_equal", "greater_than", "greater_than_equal", "less_than"):
            msg = f"{msg} (got {e.get('input')!r})"
            if loc.endswith("_minutes"):
                msg += f"; at most {MAX_MINUTES} minutes (one year)"
        lines.extend(f"{path}: {loc}: {m}" if loc else f"{path}: {m}" for m in msg.split("\n"))
    return "\n".join(lines)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found (create one with `gradewatch init {path}`)") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{path}: cannot read: {err}") from None
    cfg = config_from_dict(raw, base_dir=path.resolve().parent, source=path)
    cfg = cfg.model_copy(update={"source_path": path.resolve()})
    if any(a.password for a in cfg.accounts.values()):
        from gradewatch.secrets import warn_if_exposed

        warn_if_exposed(path, "config file with a plaintext password")
    return cfg


def config_from_dict(raw: dict[str, Any], *, base_dir: Path, source: Path | str = "<config>") -> Config:
    # The environment wins over the file (a command-line option such as --state wins over both): a
    # container or a scheduled runner takes its database, often with a password in it, from its
    # secrets; the test suite runs whole on PostgreSQL this way.
    if url := os.environ.get(DATABASE_URL_ENV, "").strip():
        raw = {**raw, "database": url}
    try:
        return Config.model_validate({**raw, "base_dir": base_dir})
    except ValidationError as err:
        raise ConfigError(_format_errors(Path(source), err)) from None


def resolve_password(name: str, acc: AccountConfig, stored: str | None = None) -> str:
    """The account's password from its configured source. Errors never include the value."""
    if acc.password:
        return acc.password
    if acc.password_env:
        value = os.environ.get(acc.password_env)
        if not value:
            raise ConfigError(f"accounts.{name}.password_env: environment variable {acc.password_env} is not set")
        return value
    if acc.password_cmd:
        try:
            out = subprocess.run(
                shlex.split(acc.password_cmd), capture_output=True, text=True, timeout=30, check=False
            )
        except ValueError as err:  # shlex: an unbalanced quote (also checked at load; a Config may be built in code)
            raise ConfigError(f"accounts.{name}.password_cmd: not a valid command line: {err}") from None
        except (OSError, subprocess.TimeoutExpired) as err:
            raise ConfigError(f"accounts.{name}.password_cmd: cannot run: {type(err).__name__}") from None
        if out.returncode != 0 or not out.stdout.strip():
            raise ConfigError(f"accounts.{name}.password_cmd: exited {out.returncode} without printing a password")
        return out.stdout.strip().splitlines()[0]
    if stored:
        return stored
    raise ConfigError(
        f"accounts.{name}: no password; set password_env or password_cmd, "
        f"or store one encrypted with `gradewatch password set {name}`"
    )
