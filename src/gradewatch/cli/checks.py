"""Checking: `check` (once), `run` (until stopped) and `send` (the outbox)."""

from __future__ import annotations

import logging
import os
import signal
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from gradewatch import exit_codes
from gradewatch.cli.context import open_app, select_accounts
from gradewatch.cli.errors import console, err_console, user_errors
from gradewatch.cli.params import DEFAULT_CONFIG, AccountOpt, BaselineOpt, ConfigOpt, StateOpt, Verbose

if TYPE_CHECKING:
    from gradewatch.watch.checker import CheckReport

#: How long `run` waits after SIGTERM for a check to finish its step before abandoning it.
STOP_GRACE_SECONDS = 3.0

#: The commands of this module; root.py lists them at the top level.
app = typer.Typer()


def print_reports(reports: Sequence[CheckReport]) -> None:
    table = Table(title="Check", title_justify="left")
    for col in ("account", "result", "grades", "new", "changed", "removed", "login", "detail"):
        table.add_column(col, overflow="fold")
    style = {"ok": "green", "skipped": "yellow"}
    for r in reports:
        table.add_row(r.account, f"[{style.get(r.outcome, 'red')}]{r.outcome}[/]", str(r.grades), str(r.new),
                      str(r.changed), str(r.removed), _login_column(r), r.message)
    console.print(table)


def _login_column(r: CheckReport) -> str:
    """"yes" for a password login, "reused" for a check done on the stored session, "refused" when
    the school refused the login, "–" when the check ended before one (unreachable, paused)."""
    if r.logged_in:
        return "yes"
    if r.outcome == "ok":
        return "reused"
    return "refused" if r.outcome in ("wrong_password", "locked", "wrong_captcha") else "–"


@app.command()
def check(config: ConfigOpt = DEFAULT_CONFIG, account: AccountOpt = None, verbose: Verbose = 0,
          state: StateOpt = None, baseline: BaselineOpt = None) -> None:
    """Check every configured account once, send what is new, and exit."""
    from gradewatch.app import open_app as open_with
    from gradewatch.config import load_config
    from gradewatch.runner import with_state

    with user_errors():
        runner = with_state(load_config(config), state, baseline=baseline)
        if runner.notice:
            err_console.print(f"[yellow]gradewatch:[/] {runner.notice}", highlight=False, soft_wrap=True)
        gw = open_with(runner.config, verbose=verbose, send_baseline=runner.send_baseline)
        names = select_accounts(gw, account)
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
def run(config: ConfigOpt = DEFAULT_CONFIG, verbose: Verbose = 0) -> None:
    """Keep checking every account (interval with jitter, per-school backoff) until Ctrl-C or SIGTERM."""
    from gradewatch.watch.scheduler import Scheduler

    with user_errors():
        gw = open_app(config, verbose)
        select_accounts(gw, None)
        sched = Scheduler(gw.watcher)
        stop = threading.Event()
        install_stop_handlers(stop)
        console.print(f"Watching {len(gw.config.accounts)} account(s) every {gw.config.interval_minutes:g} min "
                      f"(±{sched.jitter.total_seconds() / 60:g}). Ctrl-C stops.")
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
def send(config: ConfigOpt = DEFAULT_CONFIG, verbose: Verbose = 0,
         retry_failed: Annotated[bool, typer.Option("--retry-failed", help="Queue failed ones again first.")] = False,
         ) -> None:
    """Deliver the notifications waiting in the outbox (those due for a retry)."""
    with user_errors():
        gw = open_app(config, verbose)
        if retry_failed:
            console.print(f"{gw.store.retry_failed(list(gw.config.accounts))} failed notification(s) queued again")
        res = gw.watcher.send_pending()
        console.print(f"{res.sent} sent, {res.failed} failed (will retry), {res.dropped} dropped")
        gw.close()

