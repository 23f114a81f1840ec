"""Getting started: `init` (guided set-up or template), `demo`, `doctor` and `key new` (a runner's GRADEWATCH_KEY)."""

from __future__ import annotations

import os
import sys
from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from gradewatch.cli.errors import console, fail, user_errors
from gradewatch.cli.params import DEFAULT_CONFIG, ConfigOpt

#: The top-level commands of this module (root.py lists them); `key` is a group of its own.
app = typer.Typer()
key_app = typer.Typer(help="The encryption key (sessions, stored passwords).", no_args_is_help=True)


@key_app.command("new")
def new_key() -> None:
    """Print a new key. Store it as the runner's secret GRADEWATCH_KEY; never commit it."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


@app.command()
def init(
    path: Annotated[Path | None, typer.Argument(help="Write a commented template here (no questions).")] = None,
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
    out: Annotated[Path, typer.Option("--out", "-o", help="Where the guided set-up writes the config.")] = Path(
        "gradewatch.toml"),
    school: Annotated[str | None, typer.Option(help="School name, abbreviation, pinyin initials or URL.")] = None,
    system: Annotated[str | None, typer.Option(help="The system id (with --base-url: skips the search).")] = None,
    base_url: Annotated[str | None, typer.Option(help="The system's base_url.")] = None,
    username: Annotated[str | None, typer.Option(help="Student number.")] = None,
    password_env: Annotated[str | None, typer.Option(help="Read the password from this environment variable.")] = None,
    email: Annotated[str | None, typer.Option(help="Notify this e-mail address (sent from itself).")] = None,
    smtp_server: Annotated[str | None, typer.Option(
        help="host:port for --email, optionally with /ssl, /starttls or /insecure.")] = None,
    smtp_code_env: Annotated[str | None, typer.Option(help="Environment variable with the SMTP code.")] = None,
    notify: Annotated[str | None, typer.Option(help="A notification URL instead of --email.")] = None,
) -> None:
    """Set up gradewatch: a guided set-up in a terminal, or a commented template with FILE."""
    if path is not None:
        if path.exists() and not force:
            fail(f"{path} exists; use --force to overwrite it")
        text = resources.files("gradewatch").joinpath("config_template.toml").read_text(encoding="utf-8")
        with user_errors():  # a missing folder, a directory, /proc: one line, not a traceback
            path.write_text(text, encoding="utf-8")
        console.print(f"Wrote {path}. Edit the school and account, then run [bold]gradewatch check -c {path}[/].")
        return
    import getpass

    from gradewatch.setup_wizard import Flags, WizardError, run

    answered = any(v is not None for v in (school, system, username, password_env, email, notify))
    if not answered and not sys.stdin.isatty():
        fail("no terminal to ask in: give the answers as flags (gradewatch init --help), or FILE for a template")
    if out.exists() and not force:
        fail(f"{out} exists; use --force to overwrite it, or --out for another file")
    env = os.environ
    if password_env and not env.get(password_env):
        fail(f"--password-env: environment variable {password_env} is not set")
    flags = Flags(school=school, system=system, base_url=base_url, username=username,
                  password=env.get(password_env) if password_env else None, notify=notify, email=email,
                  smtp_code=env.get(smtp_code_env, "") if smtp_code_env else None, smtp_server=smtp_server,
                  interactive=not answered)
    with user_errors():
        try:
            run(out, flags, ask=lambda q: typer.prompt(q, default="", show_default=False),
                ask_secret=lambda q: getpass.getpass(q + ": "), say=lambda t: console.print(t, highlight=False))
        except WizardError as err:
            fail(str(err))


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="Keep the temporary folder and print its path.")] = False) -> None:
    """Try everything locally: simulator, SMTP sink, first check, a new grade, second check."""
    from gradewatch.demo import run_demo

    with user_errors():
        run_demo(console, keep=keep)


@app.command("doctor")
def doctor_command(
    config: ConfigOpt = DEFAULT_CONFIG,
    send_test: bool = typer.Option(False, "--send-test", help="Also send a test message on every channel."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.5, max=3600, help="Seconds to wait for each school."),
) -> None:
    """Check the config, files, database, schools, captcha models and channels; print what to fix."""
    from gradewatch.doctor import diagnose

    findings = diagnose(config, timeout=timeout, send_test=send_test)
    for f in findings:
        typer.secho(f.line(), fg=None if f.ok else typer.colors.RED)
    problems = sum(not f.ok for f in findings)
    typer.echo(f"{problems} problem(s) to fix." if problems else "All good.")
    if problems:
        raise typer.Exit(1)
