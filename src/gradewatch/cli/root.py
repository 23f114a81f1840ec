"""The `gradewatch` command: the typer app, which mounts each command module, and `main()`.

Nothing here does work of its own. The command modules import only typer and rich at the top, so
`gradewatch --help` loads no numpy, Pillow, onnxruntime or torch; `captcha` is loaded on use.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import typer

from gradewatch import exit_codes
from gradewatch.cli import accounts, checks, notify, schools, setup, view, web
from gradewatch.cli.errors import err_console
from gradewatch.schools.detect import detect_command
from gradewatch.sim.cli import app as sim_app

app = typer.Typer(
    name="gradewatch",
    help="Watch your grades in the school's academic system and get notified of every new or changed grade.",
    epilog=exit_codes.epilog().replace("\n", "\n\n"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

# Top-level commands, in the order `--help` lists them.
for group in (setup, checks, view):
    app.registered_commands.extend(group.app.registered_commands)
app.command("detect")(detect_command)
app.command("web")(web.web_command)

app.add_typer(accounts.accounts_app, name="accounts",
              help="Accounts kept in the database: add, import CSV, list, pause …")
app.add_typer(accounts.password_app, name="password")
app.add_typer(notify.app, name="notify", help="Notification channels: `notify test [ACCOUNT]`.")
app.add_typer(schools.app, name="schools")
app.add_typer(setup.key_app, name="key")
app.add_typer(sim_app, name="sim", help="Run a school-system simulator on loopback (for trying things out).")


@app.command(
    "captcha",
    help="Captcha engine: train, solve and evaluate models.",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def captcha(ctx: typer.Context) -> None:
    # Loaded only when used: the engine pulls in numpy, Pillow and onnxruntime, which `--help`,
    # `check` and the other commands do not need.
    from gradewatch.captcha.cli import app as captcha_app

    captcha_app(args=ctx.args, prog_name=f"{ctx.find_root().info_name or 'gradewatch'} captcha")


def main() -> None:  # pragma: no cover - run as a subprocess by the tests
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see docs/captcha.md: spin-waiting threads stall training
    try:
        app(prog_name="gradewatch")
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(exit_codes.INTERRUPTED)
    except Exception as err:  # last resort: a bug still gets one line, the trace only on request
        if os.environ.get("GRADEWATCH_DEBUG") or _verbose_requested(sys.argv[1:]):
            raise
        from rich.markup import escape

        from gradewatch.logs import redact

        # Not every command takes -v; the variable works for all of them.
        try:  # the bug being reported may be in what this looks at
            takes_v = _takes_verbose(sys.argv[1:])
        except Exception:  # noqa: BLE001 - the one line must still be printed
            takes_v = False
        again = "GRADEWATCH_DEBUG=1" + (" or -v" if takes_v else "")
        err_console.print(f"[bold red]gradewatch: internal error:[/] {escape(redact(f'{type(err).__name__}: {err}'))}"
                          f" (rerun with {again} for the traceback)", highlight=False, soft_wrap=True)
        sys.exit(exit_codes.INTERNAL)


def _takes_verbose(args: list[str]) -> bool:
    """Whether the command these arguments name has a -v option (sub-command names, in order)."""
    command: Any = typer.main.get_command(app)
    for arg in args:
        if arg == "captcha":  # mounted by hand, so its commands are not the root's sub-commands
            from gradewatch.captcha.cli import app as captcha_app

            command = typer.main.get_command(captcha_app)
            continue
        subcommands = getattr(command, "commands", None)  # a group (typer's own click classes)
        if subcommands is None or arg.startswith("-") or arg not in subcommands:
            break
        command = subcommands[arg]
    return any("-v" in p.opts for p in command.params)


def _verbose_requested(args: list[str]) -> bool:
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)
