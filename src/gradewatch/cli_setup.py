"""Setting up: `gradewatch key new` (a runner's GRADEWATCH_KEY) and `gradewatch doctor`."""

from __future__ import annotations

from pathlib import Path

import typer

app = typer.Typer(help="The encryption key (sessions, stored passwords).", no_args_is_help=True)


@app.command("new")
def new_key() -> None:
    """Print a new key. Store it as the runner's secret GRADEWATCH_KEY; never commit it."""
    from cryptography.fernet import Fernet

    typer.echo(Fernet.generate_key().decode())


def doctor_command(
    config: Path = typer.Option(Path("gradewatch.toml"), "--config", "-c", envvar="GRADEWATCH_CONFIG",
                                help="Config file (TOML)."),
    send_test: bool = typer.Option(False, "--send-test", help="Also send a test message on every channel."),
    timeout: float = typer.Option(10.0, "--timeout", min=0.5, help="Seconds to wait for each school."),
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
