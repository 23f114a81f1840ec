"""Accounts defined in the database (a campus of students), next to the TOML file's accounts.

The TOML config keeps working for one person: its accounts are synchronised into the ``accounts``
table with ``source = "config"``. Accounts added with ``gradewatch accounts add/import`` have
``source = "db"``; their password and their notification URLs are stored encrypted with the key
file (the database alone reveals neither). :func:`effective_accounts` gives the watcher one list of
both, as :class:`~gradewatch.config.AccountConfig` objects.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from gradewatch.config import AccountConfig, Config
from gradewatch.secrets import SecretsError
from gradewatch.store.db import Store
from gradewatch.store.models import Account

#: CSV columns of ``gradewatch accounts import`` (header line required, in any order).
CSV_COLUMNS = ("name", "school", "username", "password", "notify")
#: ``pause`` without an end: the watcher skips a paused account until ``paused_until``.
PAUSED_FOREVER = datetime(9999, 12, 31, tzinfo=UTC)
PAUSE_REASON = "paused with `gradewatch accounts pause`"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}")


class AccountError(Exception):
    """A problem with an account request; the message names the account (never its password)."""


@dataclass(frozen=True)
class NewAccount:
    name: str
    school: str
    username: str
    password: str
    notify: tuple[str, ...] = ()
    #: The cookies of the login that verified the password (web sign-up): stored with the row, so
    #: a scheduler that sees the new account at once reuses that session instead of logging in.
    session: tuple[dict[str, Any], ...] = ()

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"NewAccount({self.name!r}, school={self.school!r}, username={self.username!r}, password=***)"


@dataclass(frozen=True)
class AccountRow:
    """What ``gradewatch accounts list`` shows of one account."""

    name: str
    source: str
    school: str
    username: str
    status: str
    status_reason: str
    channels: int
    next_check_at: datetime | None
    last_ok_at: datetime | None


def validate(config: Config, new: NewAccount, where: str = "", labels: Mapping[str, str] | None = None) -> NewAccount:
    """Check one account against the config's schools; raises AccountError naming the field: as a
    CSV column when ``where`` names a line, else by ``labels`` (e.g. the command's options)."""

    def field(name: str) -> str:
        if where:
            return f"{where}: column {name}: "
        return f"{(labels or {}).get(name, name)}: "

    if not _NAME.fullmatch(new.name):
        raise AccountError(f"{field('name')}{new.name[:40]!r} is not a valid account name "
                           "(letters, digits, _ . @ -; at most 100)")
    if new.school not in config.schools:
        known = ", ".join(sorted(config.schools)) or "none"
        raise AccountError(f"{field('school')}no school named {new.school!r} in the config (defined: {known})")
    if not new.username.strip():
        raise AccountError(f"{field('username')}empty")
    if not new.password:
        raise AccountError(f"{field('password')}empty")
    try:
        acc = AccountConfig(school=new.school, username=new.username, notify=list(new.notify))
    except ValidationError as err:
        msg = err.errors()[0]["msg"].removeprefix("Value error, ")
        raise AccountError(f"{field('notify')}{msg}") from None
    problems = acc.notify_problems(new.name)  # the same check the config file's accounts get
    if problems:
        raise AccountError(f"{field('notify')}{problems[0].split(': ', 1)[-1]}")
    return new


def parse_csv(text: str, config: Config, source: str = "CSV") -> list[NewAccount]:
    """Accounts from CSV text (columns :data:`CSV_COLUMNS`; ``notify`` holds URLs separated by spaces).

    Every bad line is reported (``accounts.csv: line 4: column school: …``); nothing is returned
    unless all lines are good. Passwords never appear in the messages.
    """
    try:
        return _parse_csv(text, config, source)
    except csv.Error as err:  # a field over the csv module's limit, a stray NUL …: one line, not a traceback
        raise AccountError(f"{source}: not a CSV file this can read ({err})") from None


def _parse_csv(text: str, config: Config, source: str) -> list[NewAccount]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), skipinitialspace=True)
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing:
        raise AccountError(f"{source}: line 1: the header lacks column(s) {', '.join(missing)} "
                           f"(expected: {','.join(CSV_COLUMNS)})")
    reader.fieldnames = header
    accounts: list[NewAccount] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if row.get(None):  # type: ignore[call-overload]
            errors.append(f"{source}: line {line}: more fields than the header has columns")
            continue
        values = {k: (row.get(k) or "").strip() for k in CSV_COLUMNS}
        if not any(values.values()):
            continue
        new = NewAccount(values["name"], values["school"], values["username"], row.get("password") or "",
                         tuple(values["notify"].split()))
        try:
            validate(config, new, f"{source}: line {line}")
        except AccountError as err:
            errors.append(str(err))
            continue
        if new.name in seen:
            errors.append(f"{source}: line {line}: column name: {new.name!r} already on line {seen[new.name]}")
            continue
        seen[new.name] = line
        accounts.append(new)
    if errors:
        raise AccountError("\n".join(errors))
    return accounts


class AccountBook:
    """The accounts table as an address book: add, import, list, remove, pause, resume."""

    def __init__(self, store: Store, config: Config) -> None:
        self.store = store
        self.config = config

    def add(self, new: NewAccount, labels: Mapping[str, str] | None = None) -> None:
        """Add one account; ``labels`` name its fields in errors (the options it was given as)."""
        self.add_many([validate(self.config, new, labels=labels)])

    def add_many(self, accounts: Sequence[NewAccount]) -> int:
        """Add all of them in one transaction, or none (a name taken by any account aborts)."""
        vault = self.store.vault
        now = self.store.now()
        with self.store.session() as s:
            names = [a.name for a in accounts]
            taken = set(s.scalars(select(Account.id).where(Account.id.in_(names)))) if names else set()
            taken |= set(names) & set(self.config.accounts)
            if taken:
                raise AccountError(f"account(s) already exist: {', '.join(sorted(taken))} (remove them first)")
            for a in accounts:
                system = self.config.schools[a.school].system
                s.add(Account(id=a.name, school=a.school, system=system, username=a.username, created_at=now,
                              status="ok", status_reason="", baseline_done=False, source="db",
                              stored_password=vault.encrypt(a.password.encode()),
                              notify_urls=vault.encrypt_json(list(a.notify)),
                              session_cookies=vault.encrypt_json(list(a.session)) if a.session else None,
                              session_saved_at=now if a.session else None))
        return len(accounts)

    def rows(self) -> list[AccountRow]:
        self.sync_config()
        vault = self.store.vault
        out = []
        with self.store.session() as s:
            for acc in s.scalars(select(Account).order_by(Account.id)):
                if acc.source == "db":
                    channels = len(vault.decrypt_json(acc.notify_urls)) if acc.notify_urls else 0
                elif acc.id in self.config.accounts:
                    channels = len(self.config.accounts[acc.id].notify)
                else:
                    continue  # a TOML account since removed from the file: history only
                out.append(AccountRow(acc.id, acc.source, acc.school, acc.username, acc.status, acc.status_reason,
                                      channels, acc.next_check_at, acc.last_ok_at))
        return out

    def _db_account(self, s: Session, name: str) -> Account:
        found = s.get(Account, name)
        if found is None:
            raise AccountError(f"no account named {name!r}")
        if found.source != "db":
            raise AccountError(f"account {name!r} is defined in the config file; edit or remove it there")
        return found

    def remove(self, name: str) -> None:
        """Delete the account with its grades, history and pending notifications."""
        with self.store.session() as s:
            s.delete(self._db_account(s, name))

    def pause(self, name: str, until: datetime | None = None) -> None:
        self.sync_config()  # a TOML account may not have its row yet
        with self.store.session() as s:
            acc = self._account(s, name)
            acc.status, acc.status_reason, acc.paused_until = "paused", PAUSE_REASON, until or PAUSED_FOREVER

    def resume(self, name: str) -> None:
        """Lift a pause (also a school lock's 24 h pause) and make the account due now."""
        with self.store.session() as s:
            acc = self._account(s, name)
            if acc.status != "paused":
                raise AccountError(f"account {name!r} is not paused (status {acc.status})")
            acc.status, acc.status_reason, acc.paused_until, acc.next_check_at = "ok", "", None, None

    def _account(self, s: Session, name: str) -> Account:
        found = s.get(Account, name)
        if found is None:
            raise AccountError(f"no account named {name!r}")
        return found

    def sync_config(self) -> None:
        """Make sure every TOML account has its row (source ``config``); idempotent."""
        for name, acc in self.config.accounts.items():
            school = self.config.schools[acc.school]
            self.store.ensure_account(name, school=acc.school, system=school.system, username=acc.username)


def db_account_names(store: Store) -> set[str]:
    """The names of the database-defined accounts (nothing decrypted: cheap enough for every tick)."""
    with store.session() as s:
        return set(s.scalars(select(Account.id).where(Account.source == "db")))


def db_accounts(store: Store, names: Collection[str] | None = None) -> dict[str, AccountConfig]:
    """The database-defined accounts (only ``names`` when given) as AccountConfig objects (password
    and URLs decrypted)."""
    vault = store.vault
    out: dict[str, AccountConfig] = {}
    query = select(Account).where(Account.source == "db").order_by(Account.id)
    if names is not None:
        query = query.where(Account.id.in_(list(names)))
    with store.session() as s:
        rows = list(s.scalars(query))
    for acc in rows:
        try:
            password = vault.decrypt(acc.stored_password).decode() if acc.stored_password else None
            notify = list(vault.decrypt_json(acc.notify_urls)) if acc.notify_urls else []
        except SecretsError as err:
            raise SecretsError(f"account {acc.id}: {err}") from None
        out[acc.id] = AccountConfig(school=acc.school, username=acc.username, password=password, notify=notify)
    return out


def effective_accounts(config: Config, store: Store) -> dict[str, AccountConfig]:
    """Every account the watcher checks: the TOML ones (synchronised into the database) and the
    database-defined ones whose school is still in the config. The TOML wins a name clash."""
    AccountBook(store, config).sync_config()
    merged = dict(config.accounts)
    for name, acc in db_accounts(store).items():
        if name not in merged and acc.school in config.schools:
            merged[name] = acc
    return merged


def with_db_accounts(config: Config, store: Store) -> Config:
    """The config with the database's accounts added to ``accounts`` (the hook ``open_app`` calls)."""
    return config.model_copy(update={"accounts": effective_accounts(config, store)})
