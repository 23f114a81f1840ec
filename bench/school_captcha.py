"""Zero-shot accuracy of a captcha model on folders of real labelled captchas, beside ddddocr's.

    .venv/bin/python bench/school_captcha.py --model zf_legacy /tmp/zfl_real/*
    .venv/bin/python bench/school_captcha.py --model out/zfl.onnx ctu=/tmp/zfl_real/ctudoudou --no-ddddocr

Each source is a folder (or .tar.gz) of ``<label>.png|gif`` files, given as ``DIR`` or ``NAME=DIR``.
None of these images is trained on: the score says how well the renderer imitates the real
server. Accuracy is whole-string (all characters right), case-folded the way the model's spec
folds labels; ddddocr is its stock OCR model on the same bytes. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path


def _sources(args: list[str]) -> list[tuple[str, Path]]:
    out = []
    for arg in args:
        name, sep, path = arg.partition("=")
        out.append((name, Path(path)) if sep else (Path(arg).name, Path(arg)))
    return out


def _score(truth: list[str], read: list[str], names: list[str], keep_errors: int) -> dict:
    right = sum(t == r for t, r in zip(truth, read, strict=True))
    chars = sum(len(t) for t in truth)
    chars_right = sum(a == b for t, r in zip(truth, read, strict=True) for a, b in zip(t, r, strict=False))
    confusions: Counter = Counter()
    errors = []
    for name, t, r in zip(names, truth, read, strict=True):
        if t != r:
            confusions.update((a, b) for a, b in zip(t, r, strict=False) if a != b)  # ddddocr may read 3 or 5
            errors.append({"file": name, "label": t, "read": r})
    return {
        "n": len(truth),
        "accuracy": round(right / len(truth), 4),
        "char_accuracy": round(chars_right / chars, 4),
        "confusions": [f"{a}->{b} x{c}" for (a, b), c in confusions.most_common(10)],
        "errors": errors[:keep_errors],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sources", nargs="+", help="DIR or NAME=DIR of <label>.png|gif captchas")
    parser.add_argument("--model", default="zf_legacy", help="shipped model name or .onnx path")
    parser.add_argument("--no-ddddocr", action="store_true", help="score our model only")
    parser.add_argument("--errors", type=int, default=20, help="misreads listed per source and solver")
    args = parser.parse_args(argv)

    from gradewatch.captcha import dataset as ds
    from gradewatch.captcha.errors import CaptchaError
    from gradewatch.captcha.solver import load_solver

    try:
        solver = load_solver(args.model)
    except CaptchaError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    spec = solver.spec
    dddd = None
    if not args.no_ddddocr:
        from gradewatch.captcha.baselines import DdddocrSolver

        try:
            dddd = DdddocrSolver(spec)
        except CaptchaError as exc:
            print(f"note: ddddocr skipped ({exc})", file=sys.stderr)

    report: dict = {"model": str(args.model), "spec": spec.name,
                    "validation": solver.metadata.get("validation", {}).get("synthetic_accuracy"), "sources": {}}
    totals: dict[str, list[int]] = {}
    for name, path in _sources(args.sources):
        if not path.exists():
            print(f"error: {path}: no such folder or archive", file=sys.stderr)
            return 2
        files = []
        for fname, data in ds.iter_files(path):
            label = ds.label_from_name(fname, spec)
            if spec.valid_label(label):
                files.append((fname, label, data))
        if not files:
            print(f"error: {path}: no <label>.png|gif images that fit spec {spec.name!r}", file=sys.stderr)
            return 2
        names = [f for f, _, _ in files]
        truth = [t for _, t, _ in files]
        t0 = time.perf_counter()
        ours = [p.text for p in solver.solve_many([d for _, _, d in files])]
        entry = {"ours": _score(truth, ours, names, args.errors) | {"seconds": round(time.perf_counter() - t0, 2)}}
        if dddd is not None:
            t0 = time.perf_counter()
            theirs = []
            for _, _, data in files:
                try:
                    theirs.append(dddd.solve(data).text)
                except CaptchaError:
                    theirs.append("")
            entry["ddddocr"] = _score(truth, theirs, names, args.errors) | {
                "seconds": round(time.perf_counter() - t0, 2)}
        report["sources"][name] = {"path": str(path), **entry}
        for who, res in entry.items():
            tot = totals.setdefault(who, [0, 0])
            tot[0] += round(res["accuracy"] * res["n"])
            tot[1] += res["n"]
    report["overall"] = {who: {"n": n, "accuracy": round(r / n, 4)} for who, (r, n) in totals.items()}
    json.dump(report, sys.stdout, ensure_ascii=False, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
