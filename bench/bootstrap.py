"""Benchmarks of the captcha bootstrap on the real SSFW captchas (../shared/data/ssfw-captcha).

    python bench/bootstrap.py zero-shot      # generic model vs ddddocr on the real images, zero-shot
    python bench/bootstrap.py run            # the full bootstrap against the simulator serving real captchas
    python bench/bootstrap.py train-generic  # (re)train the shipped generic model on synthetic captchas only

The real images never enter the repository. Both measurements use the engine's validation split
of ``train.tar.gz`` (file-name hash < 0.1, as ``gradewatch captcha train`` splits it):

- ``zero-shot`` reads those images with the shipped ``generic`` model, which has never seen a
  real SSFW captcha, and with ddddocr (when installed), on the same images.
- ``run`` lets the SSFW simulator serve only the other ~90 % (``--captcha-dir``), runs
  ``gradewatch captcha bootstrap`` against it from the generic model with no human labels, and
  measures every round's model on the validation split, which the harvest can never see.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path, PurePosixPath

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "ssfw-captcha"
GRADEWATCH = Path(sys.executable).with_name("gradewatch")


def need_data() -> Path:
    archive = DATA / "train.tar.gz"
    if not archive.is_file():
        sys.exit(f"real SSFW captchas not found at {archive} (they live in ../shared, not in the repository)")
    return archive


def split_real(work: Path, val_fraction: float = 0.1) -> tuple[Path, Path]:
    """Extract train.tar.gz into WORK/served (training side) and WORK/heldout (the engine's validation split)."""
    from gradewatch.captcha.dataset import is_validation

    served, heldout = work / "served", work / "heldout"
    if served.is_dir() and heldout.is_dir() and any(heldout.iterdir()):
        return served, heldout
    served.mkdir(parents=True, exist_ok=True)
    heldout.mkdir(parents=True, exist_ok=True)
    with tarfile.open(need_data()) as tar:
        for m in tar:
            name = PurePosixPath(m.name).name
            if not m.isfile() or not name.endswith(".png"):
                continue
            dest = heldout if is_validation(name, val_fraction) else served
            f = tar.extractfile(m)
            if f is not None:
                (dest / name).write_bytes(f.read())
    return served, heldout


# ---- zero-shot -------------------------------------------------------------------------------


def _char_hits(text: str, label: str) -> int:
    return sum(a == b for a, b in zip(text, label, strict=False))


def zero_shot(args: argparse.Namespace) -> None:
    from gradewatch.captcha import render_generic  # noqa: F401 - registers the generic spec
    from gradewatch.captcha.harvest import TargetReader
    from gradewatch.captcha.solver import load_solver
    from gradewatch.captcha.spec import SPECS

    work = Path(args.work)
    _, heldout = split_real(work)
    files = sorted(heldout.glob("*.png"))[: args.limit]
    images = [(p.stem, p.read_bytes()) for p in files]
    ssfw = SPECS["ssfw"]
    rows = []

    generic = load_solver("generic")
    reader = TargetReader(generic, ssfw)
    t = time.perf_counter()
    readings = [reader.read(data) for _, data in images]
    ms = (time.perf_counter() - t) / len(images) * 1000
    right = sum(r.text == label for r, (label, _) in zip(readings, images, strict=True))
    submittable = [(r, label) for r, (label, _) in zip(readings, images, strict=True) if r.submittable]
    sub_right = sum(r.text == label for r, label in submittable)
    chars = sum(_char_hits(r.text, label) for r, (label, _) in zip(readings, images, strict=True))
    rows.append(
        {
            "solver": "generic (ours, synthetic only)",
            "accuracy": right / len(images),
            "char_accuracy": chars / (4 * len(images)),
            "submitted_share": len(submittable) / len(images),
            "accuracy_of_submitted": sub_right / max(1, len(submittable)),
            "ms_per_image": ms,
        }
    )

    try:
        from gradewatch.captcha.baselines import DdddocrSolver

        dddd = DdddocrSolver(ssfw)
    except Exception as exc:  # noqa: BLE001 - report, do not fail the benchmark
        rows.append({"solver": "ddddocr", "unavailable": str(exc)})
    else:
        from importlib.metadata import version

        t = time.perf_counter()
        texts = [dddd.solve(data).text for _, data in images]
        ms = (time.perf_counter() - t) / len(images) * 1000
        right = sum(tx == label for tx, (label, _) in zip(texts, images, strict=True))
        chars = sum(_char_hits(tx, label) for tx, (label, _) in zip(texts, images, strict=True))
        ok_len = [(tx, label) for tx, (label, _) in zip(texts, images, strict=True) if ssfw.valid_label(tx)]
        rows.append(
            {
                "solver": f"ddddocr {version('ddddocr')}, default model",
                "accuracy": right / len(images),
                "char_accuracy": chars / (4 * len(images)),
                "submitted_share": len(ok_len) / len(images),
                "accuracy_of_submitted": sum(a == b for a, b in ok_len) / max(1, len(ok_len)),
                "ms_per_image": ms,
            }
        )

    print(f"zero-shot on {len(images)} real SSFW captchas (the engine's validation split of train.tar.gz)")
    print(f"{'solver':34} {'accuracy':>9} {'per char':>9} {'submitted':>10} {'acc. of submitted':>18} {'ms/img':>7}")
    for r in rows:
        if "unavailable" in r:
            print(f"{r['solver']:34} not available: {r['unavailable']}")
            continue
        print(
            f"{r['solver']:34} {r['accuracy']:9.2%} {r['char_accuracy']:9.2%} {r['submitted_share']:10.2%} "
            f"{r['accuracy_of_submitted']:18.2%} {r['ms_per_image']:7.2f}"
        )
    ours = rows[0]["accuracy"]
    if len(rows) > 1 and "accuracy" in rows[1] and rows[1]["accuracy"]:
        print(f"ratio generic / ddddocr (whole-captcha accuracy): {ours / rows[1]['accuracy']:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"n": len(images), "rows": rows}, indent=2) + "\n")


# ---- the full bootstrap run ------------------------------------------------------------------


def write_config(path: Path, base_url: str, user: str, password: str) -> Path:
    """The config of the simulator's one account, readable by us only (it holds the demo password)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(
        f'[schools.sim]\nsystem = "ssfw"\nbase_url = "{base_url}"\n\n'
        f'[accounts.demo]\nschool = "sim"\nusername = "{user}"\npassword = "{password}"\n',
        encoding="utf-8",
    )
    return path


def start_sim(served: Path, seed: int, log: Path) -> tuple[subprocess.Popen, str, str, str]:
    """`gradewatch sim ssfw` serving ``served``; its output goes to ``log`` (a pipe nobody reads would stall it)."""
    out = log.open("w")
    proc = subprocess.Popen(
        [
            str(GRADEWATCH),
            "sim",
            "ssfw",
            "--port",
            "0",
            "--captcha-dir",
            str(served),
            "--students",
            "0",
            "--seed",
            str(seed),
        ],
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base_url = user = password = ""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (base_url and user) and proc.poll() is None:
        time.sleep(0.2)
        for line in log.read_text().splitlines():
            parts = line.split()
            if parts[:1] == ["base_url"]:
                base_url = parts[1]
            elif parts[:2] == ["demo", "login"]:
                user, password = parts[2], parts[4]
    if not (base_url and user):
        proc.kill()
        sys.exit(f"the simulator did not start (see {log})")
    time.sleep(1.0)
    return proc, base_url, user, password


def run(args: argparse.Namespace) -> None:
    work = Path(args.work)
    served, heldout = split_real(work)
    print(
        f"simulator serves {len(list(served.glob('*.png')))} real captchas; "
        f"held-out validation split: {len(list(heldout.glob('*.png')))} (never served)"
    )
    out = work / "bootstrap"
    if out.exists():
        shutil.rmtree(out)
    sim, base_url, user, password = start_sim(served, args.seed, work / "sim.log")
    try:
        config = write_config(work / "bootstrap.toml", base_url, user, password)
        cmd = [
            str(GRADEWATCH),
            "captcha",
            "bootstrap",
            "--config",
            str(config),
            "--account",
            "demo",
            "--target",
            str(args.target),
            "--max-attempts",
            str(args.max_attempts),
            "--rate",
            str(args.rate),
            "--out",
            str(out),
            "--eval-data",
            str(heldout),
            "--threads",
            str(args.threads),
            "--seed",
            str(args.seed),
            "--start-model",
            "generic",  # the documented SSFW runs start from the generic model (the CLI default is now `auto`)
            *args.extra,
        ]
        print("$ " + " ".join(cmd))
        t = time.monotonic()
        code = subprocess.call(cmd)
        print(f"bootstrap exited {code} after {(time.monotonic() - t) / 60:.1f} min")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    curve = json.loads((out / "curve.json").read_text())
    last = curve["rounds"][-1] if curve["rounds"] else None
    if last:
        print(
            f"final model {out / 'final.onnx'}: {last['attempts']} login attempts, "
            f"held-out verified {last['val_accuracy']:.3%} (n={last['n_val']}), "
            f"real validation split {last['eval_accuracy']:.3%} (n={last['n_eval']})"
        )
    if args.docs and (out / "curve.png").is_file():
        shutil.copyfile(out / "curve.png", REPO / "docs" / "bootstrap-curve.png")
        shutil.copyfile(out / "curve.json", REPO / "docs" / "bootstrap-curve.json")
        for suffix in (".onnx", ".json"):
            shutil.copyfile(out / f"final{suffix}", REPO / "docs" / f"bootstrap-ssfw{suffix}")
        print("copied the curve and the final model to docs/")


# ---- training the generic model --------------------------------------------------------------


def _render_chunk(job: tuple[int, int]):  # noqa: ANN202 - runs in a worker process
    import random

    import numpy as np

    from gradewatch.captcha.render import random_text
    from gradewatch.captcha.render_generic import GENERIC_SPEC, render_generic

    seed, n = job
    rng = random.Random(seed)
    texts = [random_text(GENERIC_SPEC, rng) for _ in range(n)]
    x = np.stack([GENERIC_SPEC.prepare(render_generic(t, rng)) for t in texts])
    y = np.array([GENERIC_SPEC.encode(t) for t in texts], dtype=np.int64).reshape(n, GENERIC_SPEC.length)
    return x, y, texts


def _parallel_synthetic(spec, n: int, seed: int):  # noqa: ANN001, ANN202 - same shape as train._synthetic
    """Render in worker processes, straight to model input (train._synthetic keeps every PIL image)."""
    import multiprocessing

    import numpy as np

    chunk = 2000
    jobs = [(seed * 100003 + i, min(chunk, n - i * chunk)) for i in range((n + chunk - 1) // chunk)]
    with multiprocessing.get_context("fork").Pool(max(1, min(2, os.cpu_count() or 1))) as pool:
        parts = pool.map(_render_chunk, jobs)
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        [t for p in parts for t in p[2]],
    )


def train_generic(args: argparse.Namespace) -> None:
    from gradewatch.captcha import train as train_module
    from gradewatch.captcha.render_generic import GENERIC_SPEC
    from gradewatch.captcha.train import train

    train_module._synthetic = _parallel_synthetic  # render on 2 cores, keep only the model input

    out = Path(args.out)
    result = train(
        [],
        out,
        GENERIC_SPEC,
        synthetic=args.synthetic,
        minutes=args.minutes,
        target=2.0,
        epochs=args.epochs,
        seed=args.seed,
        threads=args.threads,
        progress=sys.stderr.isatty(),
        lr=args.lr,
    )
    import torch

    # Ship only the convolution weights as the checkpoint: bootstrap copies those into a school's
    # network (the head never fits another spec), and it keeps the repository small.
    ckpt = torch.load(result.checkpoint_path, map_location="cpu", weights_only=True)
    features = {k: v for k, v in ckpt["model"].items() if k.startswith("features.")}
    torch.save(
        {"model": features, "spec": ckpt["spec"], "note": "features only, for bootstrap transfer"},
        result.checkpoint_path,
    )
    print(
        f"generic model: synthetic validation {result.val_accuracy:.2%} (n={result.n_val}), "
        f"per char {result.val_char_accuracy:.2%}; {result.epochs:.1f} epochs in {result.seconds / 60:.1f} min; "
        f"wrote {result.onnx_path} ({result.onnx_path.stat().st_size / 1e6:.2f} MB)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--work",
        default=str(Path(tempfile.gettempdir()) / "gradewatch-bootstrap-bench"),
        help="scratch folder for the extracted real captchas and the run (never the repository)",
    )
    sub = ap.add_subparsers(dest="mode", required=True)
    z = sub.add_parser("zero-shot")
    z.add_argument("--limit", type=int, default=None)
    z.add_argument("--json", default=None)
    r = sub.add_parser("run")
    r.add_argument("--target", type=float, default=0.999)
    r.add_argument("--max-attempts", type=int, default=3000)
    r.add_argument("--rate", type=float, default=20.0, help="logins per second (a local simulator, not a school)")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--docs", action="store_true", help="copy the curve and the final model into docs/")
    r.add_argument("extra", nargs="*", help="more `gradewatch captcha bootstrap` options (after --)")
    g = sub.add_parser("train-generic")
    g.add_argument("--out", default=str(REPO / "src" / "gradewatch" / "captcha" / "models" / "generic.onnx"))
    g.add_argument("--synthetic", type=int, default=70000)
    g.add_argument("--epochs", type=int, default=6)
    g.add_argument("--minutes", type=float, default=24.0)
    g.add_argument("--threads", type=int, default=1)
    g.add_argument("--lr", type=float, default=3e-3)
    g.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    {"zero-shot": zero_shot, "run": run, "train-generic": train_generic}[args.mode](args)


if __name__ == "__main__":
    main()
