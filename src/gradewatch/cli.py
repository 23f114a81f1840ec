"""The `gradewatch` command line: parses arguments and calls the parts; no logic of its own."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from gradewatch import exit_codes
from gradewatch.cli_accounts import accounts_app as lockout_accounts_app
from gradewatch.cli_accounts_db import accounts_app
from gradewatch.cli_notify import app as notify_app
from gradewatch.schools.detect import detect_command

#: How long `run` waits after SIGTERM for a check to finish its step before abandoning it.
STOP_GRACE_SECONDS = 3.0

app = typer.Typer(
    name="gradewatch",
    help="Watch your grades in the school's academic system and get notified of every new or changed grade.",
    epilog=exit_codes.epilog().replace("\n", "\n\n"),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
# One `accounts` group: the database accounts (campus) and `accounts retry` (lockout-proof login).
accounts_app.registered_commands.extend(lockout_accounts_app.registered_commands)
app.add_typer(accounts_app, name="accounts", help="Accounts kept in the database: add, import CSV, list, pause …")
app.add_typer(notify_app, name="notify", help="Notification channels: `notify test [ACCOUNT]`.")


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


with contextlib.suppress(ImportError):  # the simulators land in their own module
    from gradewatch.sim.cli import app as sim_app

    app.add_typer(sim_app, name="sim", help="Run a school-system simulator on loopback (for trying things out).")

from gradewatch.cli_schools import app as schools_app  # noqa: E402
from gradewatch.cli_setup import app as key_app  # noqa: E402
from gradewatch.cli_setup import doctor_command  # noqa: E402

app.add_typer(schools_app, name="schools")
app.add_typer(key_app, name="key")
app.command("doctor")(doctor_command)
from gradewatch.cli_web import web_command  # noqa: E402

app.command("web")(web_command)

console = Console()
err_console = Console(stderr=True)

ConfigOpt = Annotated[
    Path,
    typer.Option("--config", "-c", envvar="GRADEWATCH_CONFIG", help="Config file (TOML).", show_default=True),
]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output (-vv for HTTP).")]
AccountOpt = Annotated[list[str] | None, typer.Option("--account", "-a", help="Only this account (repeatable).")]


def fail(message: str, code: int = exit_codes.CONFIG) -> NoReturn:
    err_console.print(f"[bold red]gradewatch: error:[/] {message}", highlight=False, soft_wrap=True, markup=True)
    raise typer.Exit(code)


def _code_of(err: BaseException) -> int | None:
    """The exit code of an expected failure, None for anything else (a bug)."""
    from gradewatch.captcha.errors import CaptchaError, ModelError
    from gradewatch.config import ConfigError
    from gradewatch.logs import LogFileError
    from gradewatch.schools.errors import CaptchaModelError, SchoolError, SchoolUnavailable
    from gradewatch.secrets import KeyFileAccessError, SecretsError
    from gradewatch.store.db import StoreError

    table: list[tuple[type[BaseException] | tuple[type[BaseException], ...], int]] = [
        ((KeyFileAccessError, LogFileError), exit_codes.FILE_ACCESS),
        ((ConfigError, SecretsError), exit_codes.CONFIG),  # a key that is not a key: a setting to fix
        (StoreError, exit_codes.DATABASE),
        ((ModelError, CaptchaModelError), exit_codes.CAPTCHA_MODEL),
        (SchoolUnavailable, exit_codes.SCHOOL_UNREACHABLE),
        ((SchoolError, CaptchaError), exit_codes.SCHOOL_ANSWER),
        (OSError, exit_codes.FILE_ACCESS),
    ]
    for kinds, code in table:
        if isinstance(err, kinds):
            return code
    return None


def _message_of(err: BaseException) -> str:
    if isinstance(err, OSError) and err.filename:
        return f"{err.filename}: {err.strerror or type(err).__name__}"
    return str(err) or type(err).__name__


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn every expected failure into one clear line on stderr and its exit code (docs/errors.md)."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as err:
        code = _code_of(err)
        if code is None:
            raise  # a bug: main() prints one line (the traceback with -v)
        fail(_escape(_message_of(err)), code)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _open(config: Path, verbose: int = 0):  # type: ignore[no-untyped-def]
    from gradewatch.app import open_app

    return open_app(config, verbose=verbose)


def _select(app_, accounts: list[str] | None) -> list[str]:  # type: ignore[no-untyped-def]
    names = list(app_.config.accounts)
    if not names:
        fail("no accounts in the config; add an [accounts.NAME] table")
    if accounts:
        unknown = [a for a in accounts if a not in names]
        if unknown:
            fail(f"no account named {', '.join(unknown)} (configured: {', '.join(names)})")
        return accounts
    return names


def print_reports(reports) -> None:  # type: ignore[no-untyped-def]
    table = Table(title="Check", title_justify="left")
    for col in ("account", "result", "grades", "new", "changed", "removed", "login", "detail"):
        table.add_column(col, overflow="fold")
    style = {"ok": "green", "skipped": "yellow"}
    for r in reports:
        table.add_row(r.account, f"[{style.get(r.outcome, 'red')}]{r.outcome}[/]", str(r.grades), str(r.new),
                      str(r.changed), str(r.removed), "yes" if r.logged_in else "reused", r.message)
    console.print(table)


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


StateOpt = Annotated[Path | None, typer.Option(
    "--state", help="Scheduled-runner mode: keep the whole state in this one file (the runner caches it).")]
BaselineOpt = Annotated[bool | None, typer.Option(
    "--baseline/--no-baseline", help="Mail the whole grade table on an account's first check "
    "(default: yes, except when --state names a file that is missing: a runner that lost its cache).")]


@app.command()
def check(config: ConfigOpt = Path("gradewatch.toml"), account: AccountOpt = None, verbose: Verbose = 0,
          state: StateOpt = None, baseline: BaselineOpt = None) -> None:
    """Check every configured account once, send what is new, and exit."""
    from gradewatch.app import open_app
    from gradewatch.config import load_config
    from gradewatch.runner import with_state

    with user_errors():
        runner = with_state(load_config(config), state, baseline=baseline)
        if runner.notice:
            err_console.print(f"[yellow]gradewatch:[/] {runner.notice}", highlight=False, soft_wrap=True)
        gw = open_app(runner.config, verbose=verbose, send_baseline=runner.send_baseline)
        names = _select(gw, account)
        with console.status("Checking…", spinner="dots"):
            reports = gw.watcher.check_all(names)
            sent = gw.watcher.send_pending()
        print_reports(reports)
        if sent.sent or sent.failed:
            console.print(f"Notifications: {sent.sent} sent, {sent.failed} to retry later"
                          + (f" ({sent.errors[-1]})" if sent.errors else ""))
        gw.close()
    code = exit_codes.for_outcomes([r.outcome for r in reports])
    if code:
        raise typer.Exit(code)


@app.command()
def run(config: ConfigOpt = Path("gradewatch.toml"), verbose: Verbose = 0) -> None:
    """Keep checking every account (interval with jitter, per-school backoff) until Ctrl-C or SIGTERM."""
    from gradewatch.watch.scheduler import Scheduler

    with user_errors():
        gw = _open(config, verbose)
        _select(gw, None)
        sched = Scheduler(gw.watcher)
        stop = threading.Event()
        install_stop_handlers(stop)
        console.print(f"Watching {len(gw.config.accounts)} account(s) every {gw.config.interval_minutes:g} min "
                      f"(±{gw.config.jitter_minutes:g}). Ctrl-C stops.")
        failure: list[BaseException] = []

        def loop() -> None:
            try:
                sched.run(stop, on_tick=print_reports)
            except BaseException as err:  # noqa: BLE001 - handed to the main thread, which reports it
                failure.append(err)
                stop.set()

        # The checks run in a worker thread so the main thread stays free to honour a signal at once.
        worker = threading.Thread(target=loop, name="gradewatch-run", daemon=True)
        worker.start()
        while worker.is_alive() and not stop.wait(0.5):
            pass
        worker.join(STOP_GRACE_SECONDS)
        if failure:
            raise failure[0]
        if worker.is_alive():
            # A check is still blocked inside one network read. It has written nothing yet (grades are
            # stored in one transaction after the fetch), so leaving now loses nothing; SQLite rolls
            # back any transaction that was open. The executor's threads would block a normal exit.
            err_console.print("stopped (abandoned a check waiting on a school)")
            logging.shutdown()
            os._exit(exit_codes.OK)
        gw.close()
        err_console.print("stopped")


def install_stop_handlers(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` and make every HTTP exchange end at its next chunk."""
    from gradewatch.schools.http import cancel_all

    def on_signal(_signum: int, _frame: object) -> None:
        stop.set()
        cancel_all()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, on_signal)


@app.command()
def send(config: ConfigOpt = Path("gradewatch.toml"), verbose: Verbose = 0,
         retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Queue failed ones again first.")] = False,
         ) -> None:
    """Deliver the notifications waiting in the outbox (those due for a retry)."""
    with user_errors():
        gw = _open(config, verbose)
        if retry_failed:
            console.print(f"{gw.store.retry_failed(list(gw.config.accounts))} failed notification(s) queued again")
        res = gw.watcher.send_pending()
        console.print(f"{res.sent} sent, {res.failed} failed (will retry), {res.dropped} dropped")
        gw.close()


@app.command()
def grades(config: ConfigOpt = Path("gradewatch.toml"), account: AccountOpt = None) -> None:
    """Print the stored grades as a table."""
    from gradewatch.notify.render import COLUMNS

    with user_errors():
        gw = _open(config)
        for name in _select(gw, account):
            rows = gw.store.grades(name) if name in {a.id for a in gw.store.accounts()} else []
            table = Table(title=f"{name}: {len(rows)} grades", title_justify="left")
            for col in COLUMNS:
                table.add_column(col)
            for g in rows:
                table.add_row(g.term, g.course_code, g.course_name, "" if g.credits is None else f"{g.credits:g}",
                              g.score, g.exam_type, g.course_nature)
            console.print(table if rows else f"{name}: no grades stored yet (run `gradewatch check`)")
        gw.close()


@app.command()
def status(config: ConfigOpt = Path("gradewatch.toml")) -> None:
    """Account health, last checks and the outbox."""
    with user_errors():
        gw = _open(config)
        table = Table(title="Accounts", title_justify="left")
        for col in ("account", "status", "last check", "last ok", "session", "detail"):
            table.add_column(col)
        from gradewatch.watch.health import account_health

        health = {h.account: h for h in account_health(gw.config, gw.store)}
        for st in gw.store.accounts():
            h = health[st.id]
            table.add_row(st.id, h.status, f"{st.last_check_at:%Y-%m-%d %H:%M}" if st.last_check_at else "-",
                          f"{st.last_ok_at:%Y-%m-%d %H:%M}" if st.last_ok_at else "-",
                          "stored" if st.has_session else "-", h.detail)
        console.print(table)
        print_channel_health(gw.store)
        counts = gw.store.outbox_counts()
        console.print("Outbox: " + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "empty"))
        gw.close()


def print_channel_health(store) -> None:  # type: ignore[no-untyped-def]
    from gradewatch.notify.health import channel_health

    bad = [h for h in channel_health(store) if h.state != "ok"]
    if bad:
        table = Table(title="Notification channels not working", title_justify="left")
        for col in ("account", "channel", "state", "last error"):
            table.add_column(col, overflow="fold")
        for h in bad:
            table.add_row(h.account_id, h.channel, f"[red]{h.state}[/]", h.last_error)
        console.print(table)


@app.command()
def gpa(
    config: ConfigOpt = Path("gradewatch.toml"),
    account: AccountOpt = None,
    scale: Annotated[str | None, typer.Option("--scale", "-s", help="Scale id or name, or 'all'. "
                                              "Default: each account's configured scale.")] = None,
    term: Annotated[str | None, typer.Option("--term", "-t", help="Only this term, e.g. 2023-2024-1.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """GPA and 加权平均分 per term and cumulative, on any common scale."""
    from gradewatch.gpa import gpa_command

    with user_errors():
        gw = _open(config)
        names = _select(gw, account)
        known = {a.id for a in gw.store.accounts()}
        grades_by = {n: gw.store.grades(n) if n in known else [] for n in names}
        settings = {n: gw.config.gpa_settings(n) for n in names}
        gw.close()
    raise typer.Exit(gpa_command(grades_by, scale=scale, term=term, as_json=as_json, settings_by_account=settings,
                                 console=console, err_console=err_console))


app.command("detect")(detect_command)

password_app = typer.Typer(no_args_is_help=True, help="Keep an account's password encrypted in the store.")
app.add_typer(password_app, name="password")


@password_app.command("set")
def password_set(account: str, config: ConfigOpt = Path("gradewatch.toml")) -> None:
    """Ask for the password (hidden) and store it encrypted with the key file."""
    with user_errors():
        gw = _open(config)
        if account not in gw.config.accounts:
            fail(f"no account named {account}")
        acc = gw.config.accounts[account]
        school = gw.config.schools[acc.school]
        gw.store.ensure_account(account, school=acc.school, system=school.system, username=acc.username)
        pw = typer.prompt(f"Password for {acc.username}", hide_input=True, confirmation_prompt=True)
        gw.store.set_password(account, pw)
        console.print(f"Stored (encrypted with {gw.config.key_path}).")
        gw.close()


@app.command()
def demo(keep: Annotated[bool, typer.Option(help="Keep the temporary folder and print its path.")] = False) -> None:
    """Try everything locally: simulator, SMTP sink, first check, a new grade, second check."""
    from gradewatch.demo import run_demo

    with user_errors():
        run_demo(console, keep=keep)


def main() -> None:  # pragma: no cover
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # see docs/captcha.md: spin-waiting threads stall training
    try:
        app(prog_name="gradewatch")
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
    except Exception as err:  # last resort: a bug still gets one line, the trace only on request
        if os.environ.get("GRADEWATCH_DEBUG") or _verbose_requested(sys.argv[1:]):
            raise
        from gradewatch.logs import redact

        err_console.print(f"[bold red]gradewatch: internal error:[/] {_escape(redact(f'{type(err).__name__}: {err}'))}"
                          " (rerun with -v or GRADEWATCH_DEBUG=1 for the traceback)", highlight=False)
        sys.exit(exit_codes.INTERNAL)


def _verbose_requested(args: list[str]) -> bool:
    return any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
