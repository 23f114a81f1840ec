"""`gradewatch doctor`: check a set-up end to end and say what to fix, one line per problem.

Nothing here changes anything: it reads the config, looks at file permissions, opens the database
read-only to compare its revision, fetches each school's login page (no login, no POST), loads the
captcha model, resolves each password source without printing it, and — only when asked — sends a
test notification on each channel.
"""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from gradewatch.config import Config, ConfigError, load_config, resolve_password
from gradewatch.store.clock import DatabaseClock

#: A host clock further than this from the database server's is worth fixing (signed pushes are
#: refused an hour off; schedules use the server's time anyway).
CLOCK_TOLERANCE_S = 300


@dataclass(frozen=True)
class Finding:
    ok: bool
    what: str  # what was checked
    detail: str = ""  # on a problem: what to do about it

    def line(self) -> str:
        return f"{'ok ' if self.ok else 'FIX'}  {self.what}" + (f": {self.detail}" if self.detail else "")


def _private(path: Path, what: str, fix_hint: str = "") -> Finding | None:
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return None
    except OSError as err:
        return Finding(False, what, f"cannot read {path} ({err.strerror})")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        return Finding(False, what, f"{path} is readable by others (mode {stat.filemode(mode)}); run: chmod 600 {path}"
                       + fix_hint)
    return Finding(True, what, "")


def check_files(cfg: Config, config_path: Path) -> Iterator[Finding]:
    if any(a.password for a in cfg.accounts.values()):
        f = _private(config_path, "config file holding a plaintext password")
        if f:
            yield f
    f = _private(cfg.key_path, "key file")
    if f is not None and f.ok:
        problem = _key_problem(cfg)
        f = Finding(False, "key file", problem) if problem else f
    yield f or Finding(True, "key file", f"{cfg.key_path} will be created (0600) on first use")
    if cfg.database_url.startswith("sqlite:///"):
        db = Path(cfg.database_url.removeprefix("sqlite:///"))
        f = _private(db, "database file")
        if f:
            yield f


def check_database(cfg: Config) -> Iterator[Finding]:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from gradewatch.store.db import MIGRATIONS

    url = cfg.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        yield Finding(True, "database", "not created yet (the first check creates it)")
        return
    try:
        from alembic.config import Config as AlembicConfig

        acfg = AlembicConfig()
        acfg.set_main_option("script_location", str(MIGRATIONS))
        head = ScriptDirectory.from_config(acfg).get_current_head()
        engine = create_engine(url)
        with engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
        shared = engine.dialect.name == "postgresql"
        offset = DatabaseClock(engine).measure() if shared else None
        engine.dispose()
    except (SQLAlchemyError, ImportError, ValueError) as err:
        yield Finding(False, "database", f"cannot open {cfg.database}: {type(err).__name__}")
        return
    if shared:
        yield clock_finding(offset) if offset is not None else Finding(
            False, "clock", "could not read the database server's clock (SELECT clock_timestamp() failed)")
    if current == head:
        yield Finding(True, "database", f"at schema {head}")
    elif current is None:
        yield Finding(True, "database", "empty (the first check creates the tables)")
    else:
        yield Finding(False, "database", f"schema {current}, this gradewatch expects {head}: run `gradewatch status` "
                      "once to upgrade it (or install the newer gradewatch that wrote it)")


def clock_finding(offset: timedelta) -> Finding:
    """Leases and schedules use the database server's time whatever this host's clock says, but
    DingTalk's and Feishu's signatures carry this host's time and are refused an hour off."""
    seconds = offset.total_seconds()
    if abs(seconds) < CLOCK_TOLERANCE_S:
        return Finding(True, "clock", f"within {CLOCK_TOLERANCE_S} s of the database server's")
    side = "behind" if seconds > 0 else "ahead of"
    return Finding(False, "clock", f"this host's clock is {abs(seconds):.0f} s {side} the database server's: "
                   "gradewatch schedules by the server's time, but signed pushes (DingTalk, Feishu) carry this "
                   "host's; set the time right (NTP: timedatectl set-ntp true)")


def check_schools(cfg: Config, timeout: float) -> Iterator[Finding]:
    from gradewatch.schools import adapter_class
    from gradewatch.schools.detect import DetectError, fetch, recognise

    for name, school in cfg.schools.items():
        cls = adapter_class(school.system)
        what = f"school {name} ({school.system} at {school.base_url})"
        login = school.base_url + (cls.login_path if cls.login_path.startswith("/") else "/" + cls.login_path)
        try:
            # The site root first (it redirects to the real login page); the system's login path after.
            final, text, title = fetch(school.base_url + "/", timeout=timeout)
            found = recognise(final, text, title)
            if found is None:
                final, text, title = fetch(login, timeout=timeout)
                found = recognise(final, text, title)
        except DetectError as err:
            yield Finding(False, what, f"{err} — check base_url, or the school may only answer inside the campus "
                          "network (then set transport = \"webvpn\")")
            continue
        if found is None and school.front_door == "none":
            yield Finding(False, what, f"{final} does not look like a {school.system} login page"
                          + (f' (title "{title}")' if title else "") + "; `gradewatch detect URL` tells the system")
        elif found is not None and found.system != school.system:
            yield Finding(False, what, f"the page belongs to {found.system}, not {school.system}: "
                          f'set system = "{found.system}" and base_url = "{found.base_url}"')
        else:
            yield Finding(True, what, "reachable" + (f", recognised as {found.system}" if found else ""))
        model = str(school.options.get("captcha_model") or cls.captcha_model or "")
        if model:
            from gradewatch.captcha.errors import CaptchaError
            from gradewatch.captcha.solver import load_solver

            try:
                load_solver(model)
            except (CaptchaError, OSError, ValueError) as err:
                yield Finding(False, f"captcha model {model!r} for school {name}",
                              f"{err} — fix options.captcha_model, reinstall gradewatch, or train one: "
                              "gradewatch captcha bootstrap")
            else:
                yield Finding(True, f"captcha model {model!r} for school {name}")


def _key_problem(cfg: Config) -> str | None:
    """Whether the key file is a key, and the key that encrypted the passwords in the database
    (another key makes every command fail with "cannot be decrypted"). Only called for a key file
    that exists, so opening it creates nothing."""
    from gradewatch.secrets import SecretsError, Vault

    try:
        vault = Vault.from_env() or Vault.open(cfg.key_path)  # the key gradewatch will use
    except SecretsError as err:
        return str(err)
    rows = _stored_password_rows(cfg)
    if not rows:
        return None
    try:
        vault.decrypt(bytes(rows[0][1]))
    except SecretsError:
        return (f"{cfg.key_path} does not decrypt the passwords stored in the database: it is not the key "
                "they were saved with (restore that key file, or set the passwords again)")
    return None


def _stored_password_rows(cfg: Config) -> list[tuple[str, bytes]]:
    """(account, encrypted password) of the accounts that keep one in the database, read without
    creating anything; none when the database cannot be read (check_database says why)."""
    url = cfg.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return []
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    try:
        engine = create_engine(url)
        with engine.connect() as conn:
            rows = conn.execute(text("select id, stored_password from accounts where stored_password is not null")
                                ).all()
        engine.dispose()
    except (SQLAlchemyError, ImportError, ValueError):
        return []
    return [(str(r[0]), r[1]) for r in rows]


def check_accounts(cfg: Config, send_test: bool, send: Callable[[str, str], str | None] | None) -> Iterator[Finding]:
    stored = {name for name, _ in _stored_password_rows(cfg)}
    for name, acc in cfg.accounts.items():
        try:
            resolve_password(name, acc, "(stored)" if name in stored else None)
        except ConfigError as err:
            yield Finding(False, f"account {name} password", str(err))
        else:
            where = "stored encrypted in the database" if name in stored and not (
                acc.password or acc.password_env or acc.password_cmd) else "found (not shown)"
            yield Finding(True, f"account {name} password", where)
        if not acc.notify:
            yield Finding(False, f"account {name} notify", "no channel: add a notify URL, or nobody hears of grades")
        for i, url in enumerate(acc.notify):
            what = f"account {name} notify[{i}]"
            if not send_test or send is None:
                yield Finding(True, what, "configured (add --send-test to send a test message)")
                continue
            problem = send(name, url)
            yield Finding(problem is None, what, "test message confirmed" if problem is None else problem)


def deliver_test(account: str, url: str) -> str | None:
    """Send one short test message; None when the channel confirmed it, else its error text."""
    from gradewatch.notify.channels import DeliveryError, Message, deliver

    msg = Message("gradewatch: test message", f"A test from gradewatch doctor for {account}.",
                  f"<p>A test from gradewatch doctor for {account}.</p>", message_id="<gradewatch-doctor@gradewatch>")
    try:
        deliver(url, msg)
    except DeliveryError as err:
        return str(err)
    return None


def diagnose(config_path: Path, *, timeout: float = 10.0, send_test: bool = False,
             send: Callable[[str, str], str | None] | None = deliver_test) -> list[Finding]:
    try:
        cfg = load_config(config_path)
    except ConfigError as err:
        return [Finding(False, "config", str(err))]
    findings = [Finding(True, "config", f"{config_path} is valid")]
    for part in (check_files(cfg, Path(config_path)), check_database(cfg), check_schools(cfg, timeout),
                 check_accounts(cfg, send_test, send)):
        findings.extend(part)
    return findings
