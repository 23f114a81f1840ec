"""`gradewatch accounts …`: accounts kept in the database, for a campus of students.

    gradewatch accounts add NAME --school S --username U [--password-env VAR] [--notify URL]...
    gradewatch accounts import students.csv      # columns: name,school,username,password,notify
    gradewatch accounts list
    gradewatch accounts remove NAME
    gradewatch accounts pause NAME / resume NAME
    gradewatch accounts retry NAME               # one more login after a wrong-password verdict
    gradewatch password set NAME                 # a TOML account's password, encrypted in the store

Passwords are asked for hidden (or read from an environment variable) and stored encrypted with
the key file; they are never printed, not even from a CSV with errors.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gradewatch.cli.context import open_app
from gradewatch.cli.errors import console, fail, user_errors
from gradewatch.cli.params import DEFAULT_CONFIG, ConfigOpt

if TYPE_CHECKING:
    from gradewatch.store.accounts import AccountBook

accounts_app = typer.Typer(no_args_is_help=True, help="Accounts kept in the database (a campus of students).")
password_app = typer.Typer(no_args_is_help=True, help="Keep an account's password encrypted in the store.")


@contextlib.contextmanager
def _book(config: Path) -> Iterator[AccountBook]:
    """The AccountBook over the config's database; every expected failure becomes clear lines."""
    from gradewatch.config import load_config
    from gradewatch.secrets import Vault
    from gradewatch.store.accounts import AccountBook
    from gradewatch.store.db import Store

    store = None
    with user_errors():
        try:
            cfg = load_config(config)
            store = Store.open(cfg.database_url, Vault.open(cfg.key_path))
            yield AccountBook(store, cfg)
        finally:
            if store is not None:
                store.close()


#: How `accounts add` names an account's fields in its errors: as the user gave them.
ADD_OPTIONS = {"name": "NAME", "school": "--school", "username": "--username", "password": "password",
               "notify": "--notify"}


@accounts_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Account name (unique; letters, digits, _ . @ -).")],
    school: Annotated[str, typer.Option("--school", "-s", help="A school defined in the config.")],
    username: Annotated[str, typer.Option("--username", "-u", help="The student's login (学号).")],
    notify: Annotated[list[str] | None, typer.Option("--notify", "-n", help="Notification URL (repeatable).")] = None,
    password_env: Annotated[str | None, typer.Option(
        "--password-env", help="Read the password from this environment variable instead of asking.")] = None,
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add one account; the password is asked for hidden and stored encrypted."""
    from gradewatch.store.accounts import NewAccount

    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            fail(f"--password-env: environment variable {password_env} is not set")
    elif not sys.stdin.isatty():  # getpass would read a line from a pipe, or end in "Aborted."
        fail("no terminal to ask the password in: give --password-env VAR")
    else:
        password = getpass.getpass(f"Password for {username}: ")
    with _book(config) as book:
        book.add(NewAccount(name, school, username, password, tuple(notify or ())), labels=ADD_OPTIONS)
        console.print(f"Added {name} ({school}, {username}); password stored encrypted.")


@accounts_app.command("import")
def import_csv(
    csv_file: Annotated[Path, typer.Argument(help="CSV with a header line: name,school,username,password,notify "
                                              "(notify: URLs separated by spaces).")],
    config: ConfigOpt = DEFAULT_CONFIG,
) -> None:
    """Add every account of a CSV file, all or none: each bad line is reported with its line and column."""
    from gradewatch.store.accounts import parse_csv

    try:
        text = csv_file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        fail(f"{csv_file}: cannot read: {type(err).__name__}")
    with _book(config) as book:
        new = parse_csv(text, book.config, source=str(csv_file))
        if not new:
            fail(f"{csv_file}: no accounts in the file")
        n = book.add_many(new)
        console.print(f"Imported {n} account(s) from {csv_file}; passwords stored encrypted.")


@accounts_app.command("list")
def list_accounts(config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Every account (TOML and database), its state and its next check."""
    with _book(config) as book:
        rows = book.rows()
    table = Table(title=f"Accounts: {len(rows)}", title_justify="left")
    for col in ("name", "source", "school", "username", "status", "channels", "next check", "last ok", "detail"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r.name, r.source, r.school, r.username, r.status, str(r.channels),
                      f"{r.next_check_at:%Y-%m-%d %H:%M}" if r.next_check_at else "due",
                      f"{r.last_ok_at:%Y-%m-%d %H:%M}" if r.last_ok_at else "-", r.status_reason)
    console.print(table)


@accounts_app.command("remove")
def remove(name: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Delete a database account with its grades, history and pending notifications."""
    with _book(config) as book:
        book.remove(name)
        console.print(f"Removed {name}.")


@accounts_app.command("pause")
def pause(name: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Stop checking an account until `resume`."""
    with _book(config) as book:
        book.pause(name)
        console.print(f"Paused {name}.")


@accounts_app.command("resume")
def resume(name: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Check a paused account again (due at once)."""
    with _book(config) as book:
        book.resume(name)
        console.print(f"Resumed {name}; it is due now.")


@accounts_app.command("retry")
def retry(account: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Allow one more login with the current password after a wrong-password verdict or an
    answer gradewatch could not read (check the password first: schools lock accounts)."""
    with user_errors():
        gw = open_app(config)
        if account not in {a.id for a in gw.store.accounts()}:
            fail(f"no account named {account} in the store (known: "
                 f"{', '.join(a.id for a in gw.store.accounts()) or 'none'})")
        gw.store.allow_retry(account)
        console.print(f"{account}: one more login is allowed; it is checked at the next `check` or `run` tick.")
        gw.close()


@password_app.command("set")
def password_set(account: str, config: ConfigOpt = DEFAULT_CONFIG) -> None:
    """Ask for the password (hidden) and store it encrypted with the key file."""
    with user_errors():
        gw = open_app(config)
        if account not in gw.config.accounts:
            fail(f"no account named {account}")
        acc = gw.config.accounts[account]
        school = gw.config.schools[acc.school]
        gw.store.ensure_account(account, school=acc.school, system=school.system, username=acc.username)
        pw = typer.prompt(f"Password for {acc.username}", hide_input=True, confirmation_prompt=True)
        gw.store.set_password(account, pw)
        console.print(f"Stored (encrypted with {gw.config.key_path}).")
        gw.close()
