"""Measure a solver on a labelled folder or archive: accuracy, per-character accuracy, speed, confusions."""

from __future__ import annotations

import statistics
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gradewatch.captcha import dataset as ds
from gradewatch.captcha.errors import CaptchaError, DatasetError
from gradewatch.captcha.solver import Prediction
from gradewatch.captcha.spec import CaptchaSpec


class AnySolver(Protocol):
    name: str
    spec: CaptchaSpec

    def solve(self, image: bytes) -> Prediction: ...


@dataclass
class EvalReport:
    solver: str
    source: str
    n: int
    accuracy: float
    char_accuracy: float
    ms_per_image: float  # median wall time of one solve() call, bytes in, text out
    ms_mean: float
    confusions: list[tuple[str, str, int]] = field(default_factory=list)  # (true, predicted, count)
    errors: list[dict[str, str]] = field(default_factory=list)
    unreadable: int = 0
    # Labels the solver's spec cannot produce (another length or alphabet). Still scored (our models
    # get them wrong, as a login would), never dropped, and counted so a wrong model is plain to see.
    outside_spec: int = 0
    outside_examples: list[str] = field(default_factory=list)
    spec_summary: str = ""
    unreadable_examples: list[str] = field(default_factory=list)  # "file: why", the first few
    model: str = ""  # the model as the caller named it (a shipped name or a path)

    def to_json(self) -> dict[str, Any]:
        return {
            "solver": self.solver,
            "model": self.model,
            "source": self.source,
            "n": self.n,
            "accuracy": round(self.accuracy, 6),
            "char_accuracy": round(self.char_accuracy, 6),
            "ms_per_image": round(self.ms_per_image, 4),
            "ms_mean": round(self.ms_mean, 4),
            "unreadable": self.unreadable,
            "unreadable_examples": self.unreadable_examples[:10],
            "outside_spec": self.outside_spec,
            "outside_spec_examples": self.outside_examples[:10],
            "spec": self.spec_summary,
            "confusions": [{"true": t, "predicted": p, "count": c} for t, p, c in self.confusions],
            "errors": self.errors[:100],
        }


def _char_compare(truth: str, pred: str) -> tuple[int, list[tuple[str, str]]]:
    """Correct positions, and (true, predicted) pairs for wrong ones ('∅' for a missing character)."""
    correct = 0
    pairs = []
    for i, t in enumerate(truth):
        p = pred[i] if i < len(pred) else "∅"
        if p == t:
            correct += 1
        else:
            pairs.append((t, p))
    return correct, pairs


def evaluate(
    source: str | Path | Iterable[tuple[str, bytes]],
    solver: AnySolver,
    *,
    limit: int | None = None,
    progress: bool = False,
    top_confusions: int = 10,
) -> EvalReport:
    """Solve every labelled image of `source` one at a time (as a caller would) and score the answers.

    `source` is a folder or archive of `<label>.png`, or (file name, bytes) pairs. Every image
    counts: one whose label the solver's spec cannot produce is scored too (see `outside_spec`).
    """
    spec = solver.spec
    files = []
    outside: list[str] = []
    pairs = ds.iter_files(source) if isinstance(source, (str, Path)) else source
    source = str(source) if isinstance(source, (str, Path)) else "images"
    for name, data in pairs:
        label = ds.label_from_name(name, spec)
        files.append((name, label, data))
        if not spec.valid_label(label):
            outside.append(name)
        if limit is not None and len(files) >= limit:
            break
    if not files:
        raise DatasetError(f"{source}: no labelled <label>.png images")

    times: list[float] = []
    right = chars = chars_right = unreadable = 0
    confusions: Counter = Counter()
    errors: list[dict[str, str]] = []
    unreadable_examples: list[str] = []

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn(f"[bold]eval {solver.name}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        disable=not progress,
        transient=True,
    ) as bar:
        task = bar.add_task("eval", total=len(files))
        for name, label, data in files:
            t0 = time.perf_counter()
            try:
                text = solver.solve(data).text
            except CaptchaError as err:
                text = ""
                unreadable += 1
                if len(unreadable_examples) < 10:
                    unreadable_examples.append(f"{name}: {err}")
            times.append(time.perf_counter() - t0)
            ok, pairs = _char_compare(label, text)
            chars += len(label)
            chars_right += ok
            if text == label:
                right += 1
            else:
                confusions.update(pairs)
                errors.append({"file": name, "label": label, "predicted": text})
            bar.advance(task)
    n = len(files)
    return EvalReport(
        solver=solver.name,
        source=str(source),
        n=n,
        accuracy=right / n,
        char_accuracy=chars_right / chars if chars else 0.0,
        ms_per_image=statistics.median(times) * 1000,
        ms_mean=statistics.fmean(times) * 1000,
        confusions=[(t, p, c) for (t, p), c in confusions.most_common(top_confusions)],
        errors=errors,
        unreadable=unreadable,
        outside_spec=len(outside),
        outside_examples=outside[:10],
        spec_summary=describe(spec),
        unreadable_examples=unreadable_examples,
    )


def describe(spec: CaptchaSpec) -> str:
    """What a spec reads, in a few words: `length 4 over 'abc…'`."""
    chars = spec.charset if len(spec.charset) <= 40 else spec.charset[:37] + "…"
    lengths = f"{spec.min_length}-{spec.length}" if spec.variable_length else str(spec.length)
    return f"length {lengths} over {chars!r}"
