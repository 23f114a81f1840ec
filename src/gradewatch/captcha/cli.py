"""`gradewatch captcha …`: train, solve and evaluate captcha models.

Thin layer over `train`, `solver` and `evaluate`; every failure the user can
cause ends as one `gradewatch: error: …` line on stderr and exit code 2.
Torch is imported only by `train`, and only when that command runs.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import NoReturn, TypeVar

import typer

from gradewatch import exit_codes
from gradewatch.captcha.errors import CaptchaError, ModelError

app = typer.Typer(
    no_args_is_help=True,
    help="Captcha engine: train, solve, evaluate models.",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # as the root command: mounted by hand there
)

T = TypeVar("T")


def _fail(message: str) -> NoReturn:
    typer.echo(f"gradewatch: error: {message}", err=True)
    raise typer.Exit(code=2)


def _guard(fn: Callable[[], T]) -> T:
    """Run `fn`, turning expected failures into one error line: exit 6 for a model that cannot be
    loaded (docs/errors.md), 2 for anything else wrong with the command."""
    try:
        return fn()
    except ModelError as exc:
        typer.echo(f"gradewatch: error: {exc}", err=True)
        raise typer.Exit(code=exit_codes.CAPTCHA_MODEL) from None
    except CaptchaError as exc:
        _fail(str(exc))
    except (OSError, ValueError, KeyError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        _fail(msg.strip("'\""))
    except KeyboardInterrupt:
        _fail("interrupted")


class SolverKind(StrEnum):
    onnx = "onnx"
    tesseract = "tesseract"
    ddddocr = "ddddocr"


class Backend(StrEnum):
    torch = "torch"
    tensorflow = "tensorflow"


def _train_tensorflow(data, out, spec, synthetic, minutes, target, epochs, seed, val_fraction, threads, excluded,
                      init_from) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    if synthetic or init_from is not None:
        raise CaptchaError("--backend tensorflow trains on real images only (no --synthetic, no --init-from)")
    from gradewatch.captcha.train_tf import train_tf

    meta = train_tf(data, out, spec, minutes=minutes, epochs=epochs, target=target, seed=seed,
                    val_fraction=val_fraction, threads=threads, exclude=excluded)  # fmt: skip
    val, par, tr = meta["validation"], meta["parity"], meta["training"]
    typer.echo(
        f"validation accuracy {val['accuracy']:.4%} (real, n={val['n']}); trained {tr['epochs_run']:.2f} epochs on "
        f"{tr['real_train_images']} real images in {tr['seconds']:.0f} s with TensorFlow {tr['tensorflow']}; "
        f"ONNX/Keras agreement {par['agreement']:.2%} (max prob diff {par['max_abs_diff']:.1e})"
    )
    onnx = Path(out).with_suffix(".onnx")
    typer.echo(f"wrote {onnx} ({onnx.stat().st_size / 1024:.0f} KiB) and {onnx.with_suffix('.json')}")


@app.command()
def train(
    data: list[Path] | None = typer.Argument(
        None, help="Folders or .tar.gz archives of <label>.png captchas (none: train on --synthetic only)."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the model (.onnx; .json and .pt beside it)."),
    synthetic: int = typer.Option(0, min=0, help="Also train on N rendered captchas."),
    minutes: float = typer.Option(3.0, min=0.01, help="Stop after this much wall time."),
    target: float = typer.Option(
        0.999, min=0.0, max=1e6,
        help="Stop once validation accuracy reaches this (above 1.0, e.g. 2: never stop early)."
    ),
    epochs: int = typer.Option(8, min=1, help="Length of the learning-rate schedule, in passes over the data."),
    seed: int = typer.Option(0, help="Random seed (same seed, same data, one thread: same model)."),
    spec: str = typer.Option("ssfw", help="Model spec (charset, length, size, preprocessing)."),
    val_fraction: float = typer.Option(0.1, help="Share of each dataset held out for validation (by file-name hash)."),
    init_from: Path | None = typer.Option(
        None, help="Start from this model's checkpoint (.pt, or .onnx with a .pt beside it)."
    ),
    threads: int = typer.Option(1, min=1, max=256, help="Torch threads (1 is steadiest on a shared machine)."),
    exclude: Path | None = typer.Option(
        None, help="File listing file names (one a line, # comments) to leave out of training."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show the progress bar."),
    backend: Backend = typer.Option(
        Backend.torch, help="Training framework: torch (the 'train' extra) or tensorflow (the 'tensorflow' extra)."
    ),
    augment: bool = typer.Option(
        False, "--augment/--no-augment", help="Move and jitter each image per batch (for a few hundred real ones)."
    ),
    splice: float = typer.Option(
        0.0,
        min=0.0,
        max=0.9,
        help="Share of each batch spliced from two labelled captchas at a gap between characters.",
    ),
) -> None:
    """Train a model on labelled captchas and export it to ONNX with a metadata sidecar."""

    def run() -> None:
        from gradewatch.captcha.spec import get_spec

        the_spec = get_spec(spec)
        excluded: list[str] = []
        if exclude is not None:
            lines = exclude.read_text(encoding="utf-8").splitlines()
            excluded = [ln.split("#", 1)[0].strip() for ln in lines if ln.split("#", 1)[0].strip()]
        if backend is Backend.tensorflow:
            if augment or splice:
                raise CaptchaError("--backend tensorflow trains without --augment and --splice (torch has them)")
            _train_tensorflow(data, out, the_spec, synthetic, minutes, target, epochs, seed, val_fraction, threads,
                              excluded, init_from)  # fmt: skip
            return
        try:
            from gradewatch.captcha.train import train as do_train
        except ImportError as exc:
            raise CaptchaError(f"training needs the 'train' extra: pip install 'gradewatch[train]' ({exc})") from None
        result = do_train(
            data or [],
            out,
            the_spec,
            synthetic=synthetic,
            minutes=minutes,
            target=target,
            epochs=epochs,
            seed=seed,
            init_from=init_from,
            progress=progress,
            val_fraction=val_fraction,
            threads=threads,
            exclude=excluded,
            augment=augment,
            splice=splice,
        )
        reached = (
            f"target {target:.2%} reached after {result.seconds_to_target:.0f} s"
            if result.seconds_to_target is not None
            else f"target {target:.2%} {'reached' if result.reached_target else 'NOT reached'}"
        )
        typer.echo(
            f"validation accuracy {result.val_accuracy:.4%} ({result.val_source}, n={result.n_val}), "
            f"per character {result.val_char_accuracy:.4%}; {reached}"
        )
        if result.synthetic_accuracy is not None:
            typer.echo(f"rendered captchas: {result.synthetic_accuracy:.2%}")
        typer.echo(
            f"trained {result.epochs:.2f} epochs on {result.n_train_real} real + {result.n_synthetic} synthetic "
            f"images in {result.seconds:.0f} s; ONNX/PyTorch agreement {result.parity['agreement']:.2%} "
            f"(max prob diff {result.parity['max_abs_diff']:.1e})"
        )
        for err in result.val_errors[:10]:
            typer.echo(f"  wrong: {err['file']} label {err['label']} predicted {err['predicted']}")
        typer.echo(
            f"wrote {result.onnx_path} ({result.onnx_path.stat().st_size / 1024:.0f} KiB) and {result.metadata_path}"
        )

    _guard(run)


@app.command()
def solve(
    images: list[Path] = typer.Argument(..., help="Captcha images (colour as served, or binarized)."),
    model: str = typer.Option(
        "ssfw", help="Shipped model name (ssfw, generic, …), path to a .onnx file, 'ddddocr' or 'auto' (start solver)."
    ),
    as_json: bool = typer.Option(False, "--json", help="One JSON object per image."),
) -> None:
    """Read captchas: prints image, text and confidence (lowest per-character probability)."""
    from gradewatch.captcha.teacher import start_solver

    solver = _guard(lambda: start_solver(model))
    failed = 0
    for image in images:
        try:
            pred = solver.solve(image)
        except CaptchaError as exc:
            typer.echo(f"gradewatch: error: {exc}", err=True)
            failed += 1
            continue
        if as_json:
            typer.echo(json.dumps({"image": str(image), "text": pred.text, "confidence": round(pred.confidence, 6)}))
        else:
            typer.echo(f"{image}\t{pred.text}\t{pred.confidence:.4f}")
    if failed:
        raise typer.Exit(code=2)


def _validation_fraction(model: str, training: dict) -> float:
    """The hash rule's share of a model's validation split; a clear refusal where there is no such split."""
    if not training.get("real_train_images"):
        raise CaptchaError(f"model {model!r} was trained on rendered captchas only: every real image is unseen "
                           "by it, so judge it on the whole folder (without --validation-split)")
    frac = float(training.get("val_fraction", 0.1))
    if frac <= 0 or "sha256" not in str(training.get("split", "sha256")):
        raise CaptchaError(f"model {model!r} was validated on files its trainer chose (a bootstrap's held-out "
                           "verified captchas), which the file-name rule cannot find again: judge it on a "
                           "folder it never saw instead")
    return frac


@app.command("eval")
def eval_(
    data: Path = typer.Argument(..., help="Folder or .tar.gz of <label>.png captchas."),
    model: str = typer.Option(
        "ssfw",
        help="For --solver onnx: a shipped model name (ssfw, generic, …), a .onnx path, 'ddddocr' (the teacher, "
        "decoding 0-9a-z case-insensitively) or 'auto' (ddddocr when installed, else generic).",
    ),
    solver: SolverKind = typer.Option(SolverKind.onnx, help="Which solver to measure."),
    limit: int | None = typer.Option(None, min=1, help="Only the first N images (by name)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object as the last line."),
    show_errors: int = typer.Option(0, min=0, help="List up to N wrong answers (also in --json)."),
    validation_split: bool = typer.Option(
        False, "--validation-split", help="Only the files in the model's validation split (never trained on)."
    ),
) -> None:
    """Accuracy (whole captcha and per character), median ms per image and frequent confusions."""

    def run():
        from gradewatch.captcha import dataset as ds
        from gradewatch.captcha.baselines import make_solver
        from gradewatch.captcha.evaluate import evaluate
        from gradewatch.captcha.solver import load_solver

        the_solver = make_solver(solver.value, model)
        source = data
        if validation_split:
            if not hasattr(the_solver, "metadata"):
                raise CaptchaError(f"--validation-split needs a trained .onnx model, not {model!r}")
            frac = _validation_fraction(model, load_solver(model).metadata.get("training", {}))
            source = ((n, b) for n, b in ds.iter_files(data) if ds.is_validation(n, frac))
        report = evaluate(source, the_solver, limit=limit, progress=not as_json and sys.stderr.isatty())
        report.source = f"{data} (validation split)" if validation_split else str(data)
        report.model = model if solver is SolverKind.onnx else solver.value
        return report

    report = _guard(run)
    # Nothing readable measures nothing: the report is printed (it says why), and the exit code says
    # so to a script that reads only the code (0 would pass off an empty folder as a 0 % model).
    none_read = report.n > 0 and report.unreadable == report.n
    if as_json:
        out = report.to_json()
        if show_errors:
            out["errors"] = report.errors[:show_errors]
        typer.echo(json.dumps(out, ensure_ascii=False))
        if none_read:
            _fail(f"{data}: none of the {report.n} images could be read")
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    title = report.solver if report.model in ("", report.solver) else f"{report.solver} {report.model}"
    table = Table(title=f"captcha eval: {title}", show_header=False)
    table.add_row("data", report.source)
    table.add_row("images", str(report.n))
    table.add_row("accuracy (whole captcha)", f"{report.accuracy:.4%}")
    table.add_row("per character", f"{report.char_accuracy:.4%}")
    table.add_row("median ms per image", "–" if none_read else f"{report.ms_per_image:.3f}")
    if report.unreadable:
        why = f" (e.g. {report.unreadable_examples[0]})" if report.unreadable_examples else ""
        table.add_row("unreadable images", f"{report.unreadable}{why}")
    if report.outside_spec:
        shown = ", ".join(report.outside_examples[:3])
        table.add_row("labels the model cannot produce", f"{report.outside_spec}, kept in the score (e.g. {shown})")
    console.print(table)
    if none_read:
        _fail(f"{data}: none of the {report.n} images could be read (see the reason above)")
    if report.outside_spec == report.n:
        console.print(
            f"[yellow]none of the labels fits what the model reads ({report.spec_summary}): "
            "a model for another captcha?"
        )
    if report.confusions:
        console.print(
            "most frequent confusions (true → predicted): "
            + ", ".join(f"{t}→{p} ×{c}" for t, p, c in report.confusions)
        )
    for err in report.errors[:show_errors]:
        console.print(f"  {err['file']}: predicted {err['predicted']!r}")


from gradewatch.captcha import cli_harvest  # noqa: E402,F401 - registers harvest, bootstrap and review
