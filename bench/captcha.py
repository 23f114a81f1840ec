"""Captcha benchmark: our ONNX model vs ddddocr vs tesseract on the same real images.

    .venv/bin/python bench/captcha.py                      # 300 images of the shipped model's validation split
    .venv/bin/python bench/captcha.py --limit 0            # the whole validation split (tesseract takes a while)
    .venv/bin/python bench/captcha.py --data DIR_OR_TGZ    # any labelled folder / .tar.gz, all images
    .venv/bin/python bench/captcha.py --train              # also: train from scratch, time to 99.9 %

Speed is the median wall time of one `solve()` call (image bytes in, text out),
each solver measured in this same process on the same images. ddddocr and
tesseract come from the `ocr` extra (pip install 'gradewatch[ocr]', and
apt-get install tesseract-ocr); a missing one is reported and skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data" / "ssfw-captcha" / "train.tar.gz"


def _validation_images(data: Path, solver, limit: int) -> list[tuple[str, bytes]]:
    """The images of `data` in the shipped model's validation split (so none was trained on)."""
    from gradewatch.captcha import dataset as ds

    frac = solver.metadata["training"]["val_fraction"]
    out = [(n, b) for n, b in ds.iter_files(data) if ds.is_validation(n, frac)]
    return out[:limit] if limit else out


def bench_solvers(args) -> dict:
    from gradewatch.captcha import dataset as ds
    from gradewatch.captcha.baselines import make_solver
    from gradewatch.captcha.errors import CaptchaError
    from gradewatch.captcha.evaluate import evaluate
    from gradewatch.captcha.solver import load_solver

    ours = load_solver(args.model)
    if args.data is None:
        if not DEFAULT_DATA.is_file():
            sys.exit(f"bench: no data: {DEFAULT_DATA} is absent; pass --data DIR_OR_TGZ")
        images = _validation_images(DEFAULT_DATA, ours, args.limit)
        what = f"{len(images)} images of the validation split of {DEFAULT_DATA.name}"
    else:
        images = list(ds.iter_files(args.data))
        images = images[: args.limit] if args.limit else images
        what = f"{len(images)} images of {args.data}"
    print(f"# captcha bench: {what}", flush=True)
    results = {}
    for kind in args.solvers:
        try:
            solver = ours if kind == "onnx" else make_solver(kind)
        except CaptchaError as exc:
            print(f"{kind:10s} skipped: {exc}", flush=True)
            continue
        solver.solve(images[0][1])  # warm-up (first call loads models, allocates)
        t0 = time.perf_counter()
        rep = evaluate(images, solver, progress=sys.stderr.isatty())
        total = time.perf_counter() - t0
        results[kind] = rep.to_json() | {"wall_s": round(total, 1)}
        conf = ", ".join(f"{t}->{p} x{c}" for t, p, c in rep.confusions[:5])
        print(
            f"{kind:10s} n={rep.n:5d}  accuracy {rep.accuracy:8.3%}  per char {rep.char_accuracy:8.3%}  "
            f"median {rep.ms_per_image:8.3f} ms/image  (top confusions: {conf or 'none'})",
            flush=True,
        )
    if "onnx" in args.solvers and args.rendered:
        results["onnx_rendered"] = bench_rendered(ours, args.rendered)
    if "onnx" in results and "ddddocr" in results:
        ratio = results["onnx"]["ms_per_image"] / results["ddddocr"]["ms_per_image"]
        print(f"speed ratio ours/ddddocr = {ratio:.4f} (1/{1 / ratio:.0f}); target <= 1/60 = 0.0167")
        results["ratio_ours_ddddocr"] = ratio
    if "onnx" in results and "tesseract" in results:
        ratio = results["onnx"]["ms_per_image"] / results["tesseract"]["ms_per_image"]
        print(f"speed ratio ours/tesseract = {ratio:.5f} (1/{1 / ratio:.0f})")
    return results


def bench_rendered(solver, n: int) -> dict:
    """Our model on captchas drawn by render_ssfw and served as the simulator does (JPEG, quality 95)."""
    import io
    import random
    import time

    from gradewatch.captcha.render import random_text, render_ssfw

    rng = random.Random(20240601)
    right = 0
    render_s = solve_s = 0.0
    for _ in range(n):
        text = random_text(solver.spec, rng)
        buf = io.BytesIO()
        t0 = time.perf_counter()
        render_ssfw(text, rng).save(buf, "JPEG", quality=95)
        t1 = time.perf_counter()
        right += solver.solve(buf.getvalue()).text == text
        solve_s += time.perf_counter() - t1
        render_s += t1 - t0
    # The simulator draws one captcha per login page: rendering should cost about what reading does.
    print(f"onnx on {n} rendered (simulator) captchas: accuracy {right / n:.3%}; "
          f"render {render_s / n * 1000:.2f} ms, solve {solve_s / n * 1000:.2f} ms per captcha "
          f"(ratio render/solve {render_s / max(solve_s, 1e-9):.1f})", flush=True)
    return {"n": n, "accuracy": right / n, "render_ms": render_s / n * 1000, "solve_ms": solve_s / n * 1000}


def bench_training(args) -> dict:
    """Train from scratch on the real data (default recipe, no synthetic), stop at 99.9 % validation accuracy."""
    from gradewatch.captcha.spec import SPECS
    from gradewatch.captcha.train import train

    data = Path(args.data) if args.data else DEFAULT_DATA
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = train(
            [data],
            Path(tmp) / "scratch.onnx",
            SPECS["ssfw"],
            minutes=3.0,
            target=0.999,
            seed=args.seed,
            threads=args.threads,
            progress=sys.stderr.isatty(),
        )
        wall = time.perf_counter() - t0
    print(
        f"train from scratch: {'reached' if r.seconds_to_target else 'did NOT reach'} 99.9 % "
        f"(val {r.val_accuracy:.3%}, n={r.n_val}) "
        + (f"after {r.seconds_to_target:.0f} s " if r.seconds_to_target else "")
        + f"({r.epochs:.2f} epochs; {wall:.0f} s wall including data loading and export; "
        f"{args.threads} torch thread(s); load average before: {args.load_before})"
    )
    return {"seconds_to_target": r.seconds_to_target, "val_accuracy": r.val_accuracy, "wall_s": wall}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="labelled folder or .tar.gz (default: validation split of ../shared)")
    p.add_argument("--limit", type=int, default=300, help="number of images (0 = all)")
    p.add_argument("--model", default="ssfw")
    p.add_argument(
        "--solvers", nargs="+", default=["onnx", "ddddocr", "tesseract"], choices=["onnx", "ddddocr", "tesseract"]
    )
    p.add_argument("--rendered", type=int, default=2000, help="also read N rendered captchas with ours (0: skip)")
    p.add_argument("--train", action="store_true", help="also time training from scratch to 99.9 %%")
    p.add_argument("--threads", type=int, default=1, help="torch threads for --train")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print all results as one JSON line at the end")
    args = p.parse_args()
    args.load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    results = {"solvers": bench_solvers(args)}
    if args.train:
        results["training"] = bench_training(args)
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
