"""`gradewatch captcha harvest | bootstrap | review`: label captchas with the login oracle and by hand.

Registered onto the engine's Typer app (``captcha/cli.py`` imports this module). Usage errors end
as one ``gradewatch: error: …`` line and exit 2; a harvest stopped by the school (wrong password,
lock, unreachable) ends with its reason and exit 1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

from gradewatch.captcha import render_generic  # noqa: F401 - registers the `generic` spec and renderer
from gradewatch.captcha.cli import app
from gradewatch.captcha.errors import CaptchaError

T = TypeVar("T")

# Optimiser steps per round at least when the spec is learned (a few hundred real images, seen many
# times). 3,000 rather than 1,500: trained on a pool's true labels, five seeds each, 中山大学 CAS 91.6 ->
# 95.2 %, seu 96.2 -> 96.5 %, the 北京大学 kaptcha 97.2 -> 97.3 %; bootstraps paired by seed climb
# faster and end level or higher (docs/bootstrap.md, "Longer rounds"). A round trains 90-125 s
# instead of about 50 s on one thread.
LEARNED_MIN_STEPS = 3000

ConfigOpt = typer.Option(..., "--config", "-c", envvar="GRADEWATCH_CONFIG", help="Config file (TOML).")
AccountOpt = typer.Option(..., "--account", "-a", help="Account id from the config (its \\[accounts.ID] table).")


def _fail(message: str, code: int = 2) -> NoReturn:
    typer.echo(f"gradewatch: error: {message}", err=True)
    raise typer.Exit(code=code)


def _guard(fn: Callable[[], T]) -> T:
    from gradewatch.config import ConfigError
    from gradewatch.schools.errors import SchoolError

    try:
        return fn()
    except (CaptchaError, ConfigError, SchoolError) as exc:
        _fail(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
    except (OSError, ValueError, KeyError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(msg.strip("'\""))
    except KeyboardInterrupt:
        _fail("interrupted")


def _stderr_console():  # type: ignore[no-untyped-def]
    from rich.console import Console

    return Console(stderr=True)


def _harvest_progress(total: int, console):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("accepted {task.fields[accepted]}  ({task.fields[rate]})  skipped {task.fields[skipped]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def _default_review(out: Path) -> Path:
    return out.with_name(out.name + "-review")


@app.command()
def harvest(
    config: Path = ConfigOpt,
    account: str = AccountOpt,
    out: Path = typer.Option(..., "--out", "-o", help="Folder for verified captchas (<text>.png)."),
    count: int = typer.Option(100, "--count", "-n", min=1, help="Login attempts to make."),
    rate: float = typer.Option(1.0, "--rate", min=0.001, help="At most this many logins per second."),
    model: str | None = typer.Option(
        None,
        help="Solver: shipped model name, .onnx path, 'ddddocr' (the teacher, ocr extra) or 'auto' "
        "(default: the school's model, else 'auto': ddddocr when installed, else 'generic').",
    ),
    review: Path | None = typer.Option(None, help="Review queue for rejected captchas (default: OUT-review)."),
    min_confidence: float = typer.Option(0.0, min=0.0, max=1.0, help="Do not submit readings below this."),
) -> None:
    """Label captchas by logging in: accepted → OUT/<text>.png, rejected → the review queue.

    Stops at once on a wrong password or a lock (exit 1). One fresh session per attempt.
    """
    from gradewatch.captcha.harvest import Harvester, TargetReader, account_target
    from gradewatch.captcha.solver import shipped_models
    from gradewatch.captcha.teacher import start_solver

    def setup() -> Harvester:
        if out.exists() and not out.is_dir():
            raise CaptchaError(f"{out}: exists and is not a folder")
        tgt = account_target(config, account)
        name = model or (tgt.target.name if tgt.target and tgt.target.name in shipped_models() else "auto")
        reader = TargetReader(start_solver(name), tgt.target, min_confidence)
        return Harvester(tgt.make_adapter, tgt.creds, reader, out, review or _default_review(out), rate=rate)

    harvester = _guard(setup)
    console = _stderr_console()
    with _harvest_progress(count, console) as bar:
        task = bar.add_task("harvest", total=count, accepted=0, rate="–", skipped=0)

        def show(st) -> None:  # type: ignore[no-untyped-def]
            bar.update(
                task, completed=st.attempts, accepted=st.accepted, rate=f"{st.acceptance_rate:.1%}", skipped=st.skipped
            )

        result = harvester.run(count, show)
    st = result.stats
    typer.echo(
        f"{st.attempts} login attempts: {st.accepted} accepted ({st.acceptance_rate:.1%}), "
        f"{st.rejected} rejected, {st.skipped} readings not submitted, {st.duplicates} duplicates; "
        f"saved {len(result.saved)} to {out}, queued {len(result.queued)} in {harvester.review.path}"
    )
    if not result.ok:
        _fail(result.message, code=_stop_code(result.stop))


@app.command()
def bootstrap(
    config: Path = ConfigOpt,
    account: str = AccountOpt,
    target: float = typer.Option(0.999, min=0.0, max=1.0, help="Stop once held-out verified accuracy reaches this."),
    out: Path = typer.Option(Path("captcha-bootstrap"), "--out", "-o", help="Working folder (data, models, curve)."),
    max_attempts: int = typer.Option(3000, min=1, help="Login attempts in all, at most."),
    rate: float = typer.Option(1.0, "--rate", min=0.001, help="At most this many logins per second."),
    start_model: str = typer.Option(
        "auto",
        help="Solver of round 1: 'auto' (ddddocr when the ocr extra is installed, else 'generic'), "
        "'ddddocr', a shipped model name or a .onnx path.",
    ),
    learn_spec: bool = typer.Option(
        False,
        "--learn-spec",
        help="Learn the captcha's length, alphabet, case rule and size from the accepted answers instead of "
        "using the school system's spec (always so when the system has none).",
    ),
    first_round: int | None = typer.Option(
        None, min=1, help="Login attempts of round 1 (default 250; 300 with --learn-spec)."
    ),
    growth: float | None = typer.Option(
        None, min=0.05, help="Each later round: this share of the attempts so far (default 0.5; 1 with --learn-spec)."
    ),
    synthetic: int = typer.Option(20000, min=0, help="Rendered captchas mixed into training (tapering)."),
    minutes: float | None = typer.Option(
        None, min=0.05, help="Training time cap per round (default 3; 6 with --learn-spec)."
    ),
    epochs: int | None = typer.Option(None, min=1, help="Training epochs per round (default 6; 40 with --learn-spec)."),
    min_val: int | None = typer.Option(
        None,
        min=1,
        help="Held-out verified images needed before the target counts (default 200; 100 with --learn-spec).",
    ),
    eval_data: Path | None = typer.Option(None, help="Also measure each round on this labelled folder/.tar.gz."),
    threads: int = typer.Option(1, min=1, max=8, help="Torch threads."),
    seed: int = typer.Option(0, help="Random seed."),
    batch_size: int | None = typer.Option(None, min=2, help="Training batch (default 128; 32 with --learn-spec)."),
    augment: bool | None = typer.Option(
        None, "--augment/--no-augment", help="Augment the real images per batch (default: on with --learn-spec)."
    ),
    min_steps: int | None = typer.Option(
        None, min=0, help=f"Optimiser steps per round at least (default 0; {LEARNED_MIN_STEPS} with --learn-spec)."
    ),
    splice: float = typer.Option(
        0.0,
        min=0.0,
        max=0.9,
        help="Share of each batch spliced from two verified captchas at a gap between characters "
        "(default 0: off).",
    ),
    transfer: bool = typer.Option(
        False,
        "--transfer/--no-transfer",
        help="With --learn-spec: start the school's first network from the generic model's convolutions "
        "(default: from scratch, which measured better on the real SSFW captchas).",
    ),
    pseudo_labels: bool = typer.Option(
        True,
        "--pseudo-labels/--no-pseudo-labels",
        help="Also train on rejected captchas the newest model reads confidently and differently "
        "(they never judge a model).",
    ),
    pseudo_confidence: float = typer.Option(
        0.9, min=0.0, max=1.0, help="Per-character confidence a pseudo-label needs."
    ),
) -> None:
    """Harvest → train → switch → harvest more, until the target accuracy; prints and plots the curve."""
    from gradewatch.captcha.bootstrap import Plan, RoundResult
    from gradewatch.captcha.bootstrap import bootstrap as run_bootstrap
    from gradewatch.captcha.harvest import account_target
    from gradewatch.captcha.teacher import start_solver

    def setup():  # type: ignore[no-untyped-def]
        tgt = account_target(config, account)
        start_solver(start_model)  # fails now (one line) for an unknown model or a missing ddddocr
        if eval_data is not None and not eval_data.exists():
            raise CaptchaError(f"{eval_data}: no such file or folder")
        if out.exists() and not out.is_dir():
            raise CaptchaError(f"{out}: exists and is not a folder")
        try:
            import torch  # noqa: F401
        except ImportError:
            raise CaptchaError("bootstrap trains models: pip install 'gradewatch[train]'") from None
        return tgt

    tgt = _guard(setup)
    learning = learn_spec or tgt.target is None  # no declared spec: real images only, and few at first

    def plan_for(learns: bool) -> Plan:
        return Plan(
            target=target,
            max_attempts=max_attempts,
            # Learning a school's captcha from its answers alone: the plan measured in bench/shared_sets.py
            # (SSFW harvest-only reached 99.5 % after 1,200 attempts with it). 200 held-out images would
            # need 2,000 verified ones, more than a 1,500-attempt budget can give.
            first_round=first_round or (300 if learns else 250),
            growth=growth or (1.0 if learns else 0.5),
            rate=rate,
            synthetic=synthetic,
            minutes=minutes or (6.0 if learns else 3.0),
            epochs=epochs or (40 if learns else 6),
            min_val=min_val or (100 if learns else 200),
            threads=threads,
            seed=seed,
            batch_size=batch_size or (32 if learns else 128),
            augment=augment if augment is not None else learns,
            min_steps=min_steps if min_steps is not None else (LEARNED_MIN_STEPS if learns else 0),
            # Cut-and-splice is off unless asked for: on seu_auth_cas's pool it gained 1.7 points with the
            # old 80x32 grayscale input and nothing at the colour input of the captcha's own size.
            splice=splice,
            transfer=transfer,
            pseudo_labels=pseudo_labels,
            pseudo_confidence=pseudo_confidence,
        )

    plan = plan_for(learning)
    console = _stderr_console()
    table_rows: list[RoundResult] = []
    with _harvest_progress(max_attempts, console) as bar:
        task = bar.add_task("logins", total=max_attempts, accepted=0, rate="–", skipped=0)

        def on_attempt(total: int, st) -> None:  # type: ignore[no-untyped-def]
            bar.update(
                task, completed=total, accepted=st.accepted, rate=f"{st.acceptance_rate:.1%}", skipped=st.skipped
            )

        def on_round(r: RoundResult) -> None:
            table_rows.append(r)
            extra = f", held-out real {r.eval_accuracy:.3%}" if r.eval_accuracy is not None else ""
            bar.console.print(
                f"round {r.round}: {r.attempts} attempts, {r.verified} verified, acceptance {r.acceptance_rate:.1%}, "
                f"validation {r.val_accuracy:.3%} (n={r.n_val}){extra}, trained {r.train_seconds:.0f} s"
                + (
                    "; a candidate: the next round tries it at the school"
                    if r.switched
                    else "; not a candidate: no better than the harvesting model"
                )
            )

        result = _guard(
            lambda: run_bootstrap(
                tgt.make_adapter,
                tgt.creds,
                None if learning else tgt.target,
                out,
                plan,
                start_model=start_model,
                eval_data=eval_data,
                on_attempt=on_attempt,
                on_round=on_round,
                on_phase=lambda m: bar.console.print(f"[dim]{m}[/]"),
                learn_plan=plan_for(True),
            )
        )
    _print_curve(result, target)
    if result.final_model is not None:
        typer.echo(f"final model: {result.final_model} (curve: {out / 'curve.png'}, {out / 'curve.json'})")
    if result.stop != "done":
        _fail(result.message, code=_stop_code(result.stop))
    if result.message:
        typer.echo(result.message, err=True)
    if not result.reached:
        typer.echo(f"target {target:.2%} not reached within {max_attempts} login attempts", err=True)
        raise typer.Exit(code=1)


def _stop_code(stop: str) -> int:
    """The exit code of a harvest that the school stopped (docs/errors.md): its account (1), its
    reachability (4) or its answers (5)."""
    from gradewatch import exit_codes
    from gradewatch.captcha import harvest

    return {harvest.STOP_UNAVAILABLE: exit_codes.SCHOOL_UNREACHABLE, harvest.STOP_UNEXPECTED: exit_codes.SCHOOL_ANSWER,
            harvest.STOP_UNREADABLE: exit_codes.SCHOOL_ANSWER,
            harvest.STOP_INTERRUPTED: exit_codes.INTERRUPTED}.get(stop, exit_codes.CHECK_FAILED)


def _print_curve(result, target: float) -> None:  # type: ignore[no-untyped-def]
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"bootstrap learning curve (target {target:.2%})")
    columns = (
        "round",
        "harvested with",
        "attempts",
        "verified",
        "pseudo",
        "acceptance",
        "validation",
        "n val",
        "held-out real",
    )
    for col in columns:
        table.add_column(col, justify="left" if col == "harvested with" else "right")
    for r in result.rounds:
        table.add_row(
            str(r.round),
            r.model,
            str(r.attempts),
            str(r.verified),
            "–" if r.pseudo is None else str(r.pseudo["kept"]),  # rejected captchas trained on as pseudo-labels
            f"{r.acceptance_rate:.1%}",
            f"{r.val_accuracy:.3%}",
            str(r.n_val),
            "–" if r.eval_accuracy is None else f"{r.eval_accuracy:.3%}",
        )
    Console().print(table)
    state = "reached" if result.reached else "not reached"
    typer.echo(f"target {state}: {result.attempts} login attempts in {result.seconds / 60:.1f} min")


@app.command()
def review(
    queue_dir: Path = typer.Argument(..., help="Review queue folder (the harvest's OUT-review)."),
    dataset: Path | None = typer.Option(None, help="Dataset folder to move labelled images into (default: OUT)."),
    spec: str | None = typer.Option(None, help="Check answers against this captcha spec (e.g. ssfw)."),
    terminal: bool = typer.Option(False, "--terminal", help="Label in the terminal instead of a web page."),
    host: str = typer.Option("127.0.0.1", help="Address of the local review page."),
    port: int = typer.Option(8765, min=0, max=65535, help="Port of the local review page (0 = any)."),
) -> None:
    """Label the review queue by hand: each image enlarged, typed answer, moved into the dataset."""
    from gradewatch.captcha.review import ReviewQueue, default_dataset_for, review_app, review_terminal

    def setup() -> ReviewQueue:
        from gradewatch.captcha.spec import get_spec

        target = dataset or default_dataset_for(queue_dir)
        if target is None:
            raise CaptchaError(f"{queue_dir}: not named <dataset>-review; give --dataset")
        return ReviewQueue(queue_dir, target, get_spec(spec) if spec else None)

    queue = _guard(setup)
    if terminal:
        from rich.console import Console

        console = Console(highlight=False)

        def ask(prompt: str) -> str:
            console.print(prompt, end="")
            line = sys.stdin.readline()
            if not line:
                raise EOFError
            return line

        labelled, discarded = _guard(lambda: review_terminal(queue, ask, console.print))
        typer.echo(f"labelled {labelled}, discarded {discarded}, {len(queue.items())} left in the queue")
        return
    import uvicorn

    from gradewatch.sim.server import bind, url_of

    sock = _guard(lambda: bind(host, port))
    typer.echo(f"review page: {url_of(sock)}/  ({len(queue.items())} queued; Ctrl-C to stop)")
    uvicorn.Server(uvicorn.Config(review_app(queue), log_level="warning", lifespan="off")).run(sockets=[sock])
