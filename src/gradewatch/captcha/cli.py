"""`gradewatch captcha …` commands (placeholder until the captcha engine lands)."""

import typer

app = typer.Typer(no_args_is_help=True)
