"""The `gradewatch` command line: parses arguments and calls the parts; no logic of its own."""

from __future__ import annotations

import typer

from gradewatch.captcha.cli import app as captcha_app

app = typer.Typer(
    name="gradewatch",
    help="Watch your grades in the school's academic system and get notified of every new or changed grade.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.add_typer(captcha_app, name="captcha", help="Captcha engine: train, solve, evaluate models.")


if __name__ == "__main__":  # pragma: no cover
    app()
