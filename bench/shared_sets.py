"""Benchmarks on the real captchas of other schools (../shared/data/other-captchas): no renderer, no hand labels.

    python bench/shared_sets.py zero-shot [--limit N]       # start solvers vs ddddocr, same run, both sets
    python bench/shared_sets.py zero-shot --folder DIR --model zf_legacy   # and more folders, more models
    python bench/shared_sets.py bootstrap SET|ssfw [--max-attempts 1500] [more bootstrap options, e.g. --epochs 30]
    python bench/shared_sets.py bootstrap FOLDER [--held-out 0.3]   # any folder of labelled real captchas
    python bench/shared_sets.py price SET|FOLDER-NAME [--model M.onnx] [--record]   # solve time next to ddddocr
    python bench/shared_sets.py ceiling SET|FOLDER-NAME   # the same training on the whole pool's true labels

Each set is split once by a salted hash of its file path into a *pool* (what the simulator serves
with its login oracle) and a disjoint *held-out* part (never served; it judges). ``zero-shot``
reads the held-out part with every start solver; ``bootstrap`` runs ``gradewatch captcha
bootstrap --learn-spec`` against ``gradewatch sim ssfw --captcha-dir POOL`` (the SSFW simulator
only as a login oracle: its adapter's own captcha spec is not used) and measures every round's
model on the held-out part. Images and runs stay in the scratch folder, never in the repository.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from importlib.metadata import version
from pathlib import Path, PurePosixPath

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "other-captchas"
SETS = ("seu_auth_cas", "henan_digits")
HELD_OUT = {"seu_auth_cas": 0.3, "henan_digits": 0.15}  # share never served (seu has only 1,000 images)
SALT = "bench-shared-heldout:"
#: Letters drawn as the same glyph in a set: seu_auth_cas draws capital I and lower-case l as one plain
#: bar, and its labels are lower case, so a bar is `i` or `l` and no reader can tell which.
SAME_GLYPH = {"seu_auth_cas": ("i", "l")}
GRADEWATCH = Path(sys.executable).with_name("gradewatch")
CORRECTIONS = Path(__file__).with_name("shared_sets_corrections.json")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bootstrap import split_real, start_sim, write_config  # noqa: E402 - the SSFW bench's split and simulator runner


def split_set(name: str, work: Path) -> tuple[Path, Path, int]:
    """WORK/NAME/pool.tar.gz (served; keeps dupN/ folders so equal labels coexist) and WORK/NAME/heldout/."""
    from gradewatch.captcha.dataset import is_validation

    archive = DATA / f"{name}.tar.gz"
    if not archive.is_file():
        sys.exit(f"{archive} not found (the real sets live in ../shared, not in the repository)")
    base = work / name
    pool, heldout = base / "pool.tar.gz", base / "heldout"
    if pool.is_file() and heldout.is_dir():
        with tarfile.open(pool) as t:
            return pool, heldout, sum(1 for m in t if m.isfile())
    heldout.mkdir(parents=True, exist_ok=True)
    served = 0
    with tarfile.open(archive) as src, tarfile.open(pool, "w:gz") as dst:
        for m in src:
            rel = PurePosixPath(m.name)
            if not m.isfile() or rel.suffix != ".png":
                continue
            data = src.extractfile(m).read()  # type: ignore[union-attr]
            if is_validation(str(rel), HELD_OUT[name], SALT):
                dest = heldout / PurePosixPath(*rel.parts[1:])
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(data)
            else:
                info = tarfile.TarInfo(str(rel))
                info.size = len(data)
                dst.addfile(info, io.BytesIO(data))
                served += 1
    return pool, heldout, served


def split_folder(folder: Path, work: Path, held_out: float) -> tuple[Path, Path, int]:
    """Any folder (or .tar.gz) of labelled real captchas, e.g. a published set: WORK/NAME/pool/ and
    WORK/NAME/heldout/. Made again when the source is another one than the split's (same name)."""
    from gradewatch.captcha.dataset import is_archive, is_validation

    if not folder.exists():
        raise SystemExit(f"{folder}: no such folder or archive")
    name = folder.name
    if folder.is_file():
        name = name.removesuffix(".gz").removesuffix(".tar").removesuffix(".tgz")
    base = work / name
    pool, heldout, stamp = base / "pool", base / "heldout", base / "source.json"
    if folder.is_dir():
        files = [(p.relative_to(folder).as_posix(), p.read_bytes()) for p in _images(folder)]
    elif is_archive(folder):
        files = _members(folder)
    else:
        raise SystemExit(f"{folder}: neither a folder nor a .tar.gz of <label>.png captchas")
    if not files:
        raise SystemExit(f"{folder}: no <label>.png (.jpg, .gif …) captchas in it")
    source = {"source": str(folder.resolve()), "images": len(files), "held_out": held_out}
    if not (pool.is_dir() and heldout.is_dir()) or _stamp(stamp) != source:
        shutil.rmtree(pool, ignore_errors=True)
        shutil.rmtree(heldout, ignore_errors=True)
        for rel, data in files:
            dest = (heldout if is_validation(rel, held_out, SALT) else pool) / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        stamp.write_text(json.dumps(source) + "\n")
    return pool, heldout, len(_images(pool))


def _members(archive: Path) -> list[tuple[str, bytes]]:
    """(path inside the archive, bytes) of its images: with their folders, so that equal labels in
    dupN/ folders stay apart (iter_files keeps only the file names)."""
    from gradewatch.captcha.dataset import is_image_name

    try:
        with tarfile.open(archive) as tar:
            return sorted((m.name, tar.extractfile(m).read()) for m in tar  # type: ignore[union-attr]
                          if m.isfile() and is_image_name(Path(m.name).name))
    except (tarfile.TarError, OSError, EOFError) as err:
        raise SystemExit(f"{archive}: unreadable archive ({err})") from None


def _stamp(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _images(folder: Path) -> list[Path]:
    from gradewatch.captcha.dataset import is_image_name

    return sorted(p for p in folder.rglob("*") if p.is_file() and is_image_name(p.name))


def _labelled(folder: Path) -> list[tuple[str, bytes]]:
    """(label, bytes) of the readable images; a broken file of a published set is left out (and said)."""
    from gradewatch.captcha.dataset import label_from_name
    from gradewatch.captcha.errors import CaptchaError
    from gradewatch.captcha.spec import open_image

    out, broken = [], []
    for p in _images(folder):
        data = p.read_bytes()
        try:
            open_image(data)
        except CaptchaError:
            broken.append(p.name)
            continue
        out.append((label_from_name(p.name), data))
    if broken:
        print(f"{folder}: {len(broken)} unreadable image(s) left out (e.g. {', '.join(broken[:3])})")
    return out


def corrected_labels(name: str, heldout: Path) -> list[str]:
    """The held-out labels in ``_labelled`` order, with our by-eye corrections of wrong published labels
    (``shared_sets_corrections.json``; found among the teacher's disagreements, each checked on the
    enlarged image). So the teacher reads the corrected labels right by construction; the figure is
    for the other readers (and says how far the published labels cap every reader)."""
    fixes = json.loads(CORRECTIONS.read_text(encoding="utf-8")).get(name, {})
    from gradewatch.captcha.dataset import label_from_name

    return [fixes.get(p.relative_to(heldout).as_posix(), label_from_name(p.name)) for p in _images(heldout)]


def zero_shot(args: argparse.Namespace) -> None:
    from gradewatch.captcha.baselines import DdddocrSolver
    from gradewatch.captcha.errors import CaptchaError
    from gradewatch.captcha.solver import load_solver
    from gradewatch.captcha.teacher import GENERIC_TARGET, DdddocrTeacher

    work = Path(args.work)
    solvers = {
        "generic (ours, synthetic only)": load_solver("generic"),
        f"ddddocr {version('ddddocr')} (its own decoding)": DdddocrSolver(GENERIC_TARGET),
        "ddddocr teacher (ours: restricted CTC decoding)": DdddocrTeacher(GENERIC_TARGET),
        **{f"{m} (ours, shipped)": load_solver(m) for m in args.model},
    }
    # The shared sets' held-out parts, then any folder given (read whole: nothing of it is served).
    # Every reader here is case-insensitive (0-9a-z), so labels are compared in lower case.
    judged = [(name, split_set(name, work)[1]) for name in SETS] + [(Path(f).name, Path(f)) for f in args.folder]
    report: dict = {}
    for name, heldout in judged:
        images = [(truth.lower(), data) for truth, data in _labelled(heldout)[: args.limit or None]]
        fixed = corrected_labels(name, heldout)[: len(images)] if name in SETS else [t for t, _ in images]
        n_fixed = sum(a != b for (a, _), b in zip(images, fixed, strict=True))
        print(f"\n# {name}: {len(images)} held-out real captchas")
        rows = {}
        for label, solver in solvers.items():
            right = chars = same_glyph = right_fixed = 0
            pair = SAME_GLYPH.get(name)
            times = []
            for (truth, data), truth_fixed in zip(images, fixed, strict=True):
                t = time.perf_counter()
                try:
                    text = solver.solve(data).text
                except CaptchaError:  # e.g. a shipped model fixed to another image size: a miss
                    text = ""
                times.append(time.perf_counter() - t)
                right += text == truth
                right_fixed += text == truth_fixed
                if pair and text != truth and text.replace(*pair) == truth.replace(*pair):
                    same_glyph += 1  # wrong only where the image shows the shared glyph
                chars += sum(a == b for a, b in zip(text, truth, strict=False)) if len(text) == len(truth) else 0
            times.sort()
            rows[label] = {
                "accuracy": right / len(images),
                "char_accuracy": chars / sum(len(t) for t, _ in images),
                "ms_median": times[len(times) // 2] * 1000,
            }
            r = rows[label]
            extra = ""
            if n_fixed:
                r["accuracy_corrected_labels"] = right_fixed / len(images)
                extra += f"  ({r['accuracy_corrected_labels']:.2%} against the {n_fixed} by-eye corrections)"
            if pair:
                r["same_glyph_misses"] = same_glyph
                r["accuracy_glyph_merged"] = (right + same_glyph) / len(images)
                merged = r["accuracy_glyph_merged"]
                extra += f"  ({same_glyph} misses only {pair[0]}/{pair[1]}: {merged:.2%} with them merged)"
            print(
                f"{label:48} {r['accuracy']:8.2%} whole  {r['char_accuracy']:8.2%} per char  {r['ms_median']:7.2f} ms"
                + extra
            )
        report[name] = {"n": len(images), "solvers": rows, "labels_corrected_by_eye": n_fixed}
        if name in SAME_GLYPH:
            a, b = SAME_GLYPH[name]
            shared = sum(1 for truth, _ in images if a in truth or b in truth)
            report[name]["labels_with_the_shared_glyph_letters"] = shared
            print(f"{shared} of {len(images)} labels contain {a} or {b} (each may be drawn as the shared glyph)")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


def bootstrap(args: argparse.Namespace) -> None:
    work = Path(args.work)
    # Harvest-only on SSFW means no model of ours drawn for it: `auto` would try the shipped ssfw one.
    start = args.start_model or ("ddddocr" if args.set == "ssfw" else "auto")
    if args.set == "ssfw":  # the real SSFW captchas too, but harvest-only: no SSFW spec, no renderer
        pool, heldout = split_real(work / "ssfw")
        served = sum(1 for _ in pool.glob("*.png"))
    elif args.set in SETS:
        pool, heldout, served = split_set(args.set, work)
    else:  # a folder of labelled real captchas, e.g. a published set
        pool, heldout, served = split_folder(Path(args.set), work, args.held_out)
        args.set = Path(args.set).name
    n_held = len(_images(heldout))
    print(f"{args.set}: simulator serves {served} real captchas (pool); held-out {n_held} (never served)")
    out = work / args.set / "bootstrap"
    if out.exists():
        shutil.rmtree(out)
    sim, base_url, user, password = start_sim(pool, args.seed, work / args.set / "sim.log")
    try:
        config = write_config(work / args.set / "bootstrap.toml", base_url, user, password)
        cmd = [
            str(GRADEWATCH), "captcha", "bootstrap", "--config", str(config), "--account", "demo",
            "--learn-spec", "--start-model", start, "--target", str(args.target),
            "--max-attempts", str(args.max_attempts), "--rate", str(args.rate), "--out", str(out),
            "--eval-data", str(heldout), "--threads", str(args.threads), "--seed", str(args.seed),
            "--synthetic", "0", *args.extra,
        ]  # fmt: skip
        print("$ " + " ".join(cmd), flush=True)
        t = time.monotonic()
        code = subprocess.call(cmd)
        print(f"bootstrap exited {code} after {(time.monotonic() - t) / 60:.1f} min wall time")
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    if not (out / "curve.json").is_file():
        sys.exit(f"the bootstrap wrote no curve (exit {code}): nothing to report; its message is above")
    curve = json.loads((out / "curve.json").read_text())
    judge = _corrected_judge(args.set, heldout)
    if judge:  # the published labels are wrong in places: also judge every round's model by our corrections
        for r in curve["rounds"]:
            if r.get("new_model"):
                r["eval_accuracy_corrected_labels"] = judge(Path(r["new_model"]))
    print(
        f"{'round':>5} {'harvested with':>16} {'attempts':>8} {'verified':>8} {'accept.':>8} {'held-out':>9}"
        + (f" {'corrected':>9}" if judge else "")
    )
    for r in curve["rounds"]:
        fixed_acc = r.get("eval_accuracy_corrected_labels")
        print(
            f"{r['round']:>5} {r['model']:>16} {r['attempts']:>8} {r['verified']:>8} "
            f"{r['acceptance_rate']:>8.1%} {r['eval_accuracy']:>9.2%}"
            + (f" {fixed_acc:>9.2%}" if fixed_acc is not None else "")
        )
    hit = next((r for r in curve["rounds"] if r.get("eval_accuracy_corrected_labels", 0) >= args.target), None)
    if hit:
        print(
            f"round {hit['round']}'s model, after {hit['attempts']} attempts, reads >= {args.target:.1%} of the "
            "held-out part by the corrected labels (the oracle judges by the published ones)"
        )
    speed = price(out / "final.onnx", heldout)
    curve["price"] = speed
    if judge:
        accuracy = judge(out / "final.onnx")
        curve["held_out_corrected_labels"] = {"n": n_held, "accuracy": accuracy}
        print(f"final model against the by-eye corrected held-out labels: {accuracy:.2%} of {n_held}")
    (out / "curve.json").write_text(json.dumps(curve, indent=2) + "\n")
    if args.docs:
        dest = REPO / "docs" / f"bootstrap-{args.set}{'-harvest-only' if args.set == 'ssfw' else ''}.json"
        shutil.copyfile(out / "curve.json", dest)
        if (out / "curve.png").is_file():
            shutil.copyfile(out / "curve.png", dest.with_suffix(".png"))
        print(f"copied the curve to {dest}")


def bootstrapped_split(set_: str, work: Path) -> tuple[str, Path, Path]:
    """(name, pool, held-out part) of a set or of a folder bootstrapped earlier into the work folder."""
    if set_ == "ssfw":
        pool, heldout = split_real(work / "ssfw")
        return set_, pool, heldout
    if set_ in SETS:
        pool, heldout, _ = split_set(set_, work)
        return set_, pool, heldout
    name = Path(set_).name
    return name, work / name / "pool", work / name / "heldout"


def reprice(args: argparse.Namespace) -> None:
    work = Path(args.work)
    name, _, heldout = bootstrapped_split(args.set, work)
    result = price(Path(args.model) if args.model else work / name / "bootstrap" / "final.onnx", heldout)
    curve = work / name / "bootstrap" / "curve.json"
    if args.record and (args.model or not curve.is_file()):
        print(f"not recorded: --record keeps the price of {curve.parent / 'final.onnx'} in {curve}, which it needs")
    elif args.record:
        # The price at the end of a bootstrap is taken while the machine may still be busy (two sets
        # at once, say); the runs measured alone afterwards go into the curve, next to it.
        data = json.loads(curve.read_text())
        data.setdefault("price_alone", []).append(result)
        curve.write_text(json.dumps(data, indent=2) + "\n")
        print(f"recorded in {curve} ({len(data['price_alone'])} run(s) alone)")


def ceiling(args: argparse.Namespace) -> None:
    """What the bootstrap's training gets from the most a harvest could verify: every pool image, true label.

    A harvest of a set's pool can verify at most its distinct images, so this separates what the
    login oracle and the rounds cost from what the pool's size and the training recipe allow.
    """
    from gradewatch.captcha.solver import load_solver, read_spec
    from gradewatch.captcha.train import train

    work = Path(args.work)
    name, pool, heldout = bootstrapped_split(args.set, work)
    final = work / name / "bootstrap" / "final.onnx"
    if not final.is_file():
        sys.exit(f"{final}: run `bootstrap {args.set}` first (its learned spec is the one trained here)")
    if args.seeds < 1:
        sys.exit("--seeds: at least 1")
    spec = read_spec(final)
    labelled = _labelled(heldout)
    runs = []
    for seed in range(args.seed, args.seed + args.seeds):  # one run varies by a few points: several seeds
        out = work / name / "ceiling" / f"seed-{seed}.onnx"
        # The learned plan's training settings (cli_harvest.plan_for; the model sidecar records only
        # batch size and augmentation), in one go over the whole pool.
        result = train(
            [pool],
            out,
            spec,
            minutes=args.minutes,
            epochs=40,
            batch_size=32,
            augment=True,
            min_steps=args.min_steps,
            splice=args.splice,
            target=2.0,  # as in a round: run the whole schedule
            seed=seed,
            threads=args.threads,
            progress=False,
        )
        texts = [p.text for p in load_solver(out).solve_many([data for _, data in labelled])]
        right = sum(t == truth.lower() for t, (truth, _) in zip(texts, labelled, strict=True))
        runs.append({"seed": seed, "right": right, "accuracy": right / len(labelled), "seconds": round(result.seconds)})
        print(f"{name}: seed {seed}: reads {right}/{len(labelled)} ({right / len(labelled):.2%}) of the held-out part")
    mean = sum(r["accuracy"] for r in runs) / len(runs)
    report = {
        "set": name,
        "trained_on": result.n_train_real,
        "validated_on": result.n_val,
        "splice": args.splice,
        "min_steps": args.min_steps,
        "held_out": len(labelled),
        "runs": runs,
        "mean_accuracy": mean,
        "bootstrap_final": str(final),
    }
    print(f"{name}: whole pool, true labels, splice {args.splice}: mean {mean:.2%} over {len(runs)} seeds")
    tag = f"splice-{args.splice:g}"
    (out.parent / f"ceiling-{tag}.json").write_text(json.dumps(report, indent=2) + "\n")


def _corrected_judge(name: str, heldout: Path):  # type: ignore[no-untyped-def]
    """model path -> held-out accuracy against our corrected labels; None when a set has no corrections."""
    if name not in SETS:
        return None
    labelled, fixed = _labelled(heldout), corrected_labels(name, heldout)
    if all(a == b for (a, _), b in zip(labelled, fixed, strict=True)):
        return None

    def judge(model: Path) -> float:
        from gradewatch.captcha.solver import load_solver

        solver = load_solver(model)
        texts = [p.text for p in solver.solve_many([data for _, data in labelled])]
        return sum(t == truth for t, truth in zip(texts, fixed, strict=True)) / len(fixed)

    return judge


def price(model: Path, heldout: Path, n: int = 300, passes: int = 3) -> dict:
    """Size of the bootstrapped model, and its solve time next to the ddddocr teacher's, same images, same run.

    The solvers take turns over the whole set, `passes` times, and each image's time is the
    fastest of its tries: the load of a shared 2-core machine drifts by ±50 % within a minute, so
    one pass each let that drift decide the ratio. Turns per image instead would measure our small
    model with its weights evicted from the cache by ddddocr's after every image.
    """
    from gradewatch.captcha.errors import MissingDependency
    from gradewatch.captcha.solver import Solver, load_solver
    from gradewatch.captcha.teacher import DdddocrTeacher

    ours = load_solver(model)
    teacher = DdddocrTeacher(ours.spec)
    images = [data for _, data in _labelled(heldout)[:n]]
    # Each at its default: ddddocr on every core (ONNX Runtime's default), ours on `solver_threads()`.
    # And both on one thread, so that the ratio can also be read thread for thread.
    solvers = {"ours": ours, "ddddocr": teacher, "ours_1_thread": Solver(ours.path, ours.metadata, threads=1)}
    try:
        solvers["ddddocr_1_thread"] = DdddocrTeacher(ours.spec, threads=1)
    except MissingDependency:
        pass  # this ddddocr runs its network only on its own threads: no thread-for-thread figure
    best = {label: [float("inf")] * len(images) for label in solvers}
    for solver in solvers.values():
        solver.solve(images[0])  # warm up
    for _ in range(passes):
        for label, solver in solvers.items():
            for i, data in enumerate(images):
                t = time.perf_counter()
                solver.solve(data)
                best[label][i] = min(best[label][i], time.perf_counter() - t)
    medians = {label: sorted(times)[len(times) // 2] * 1000 for label, times in best.items()}
    result = {
        "onnx_bytes": model.stat().st_size,
        "ms_ours": round(medians["ours"], 3),
        "ms_ddddocr": round(medians["ddddocr"], 3),
        "ratio": round(medians["ours"] / medians["ddddocr"], 4),
        "threads": ours.threads,
        # ddddocr leaves the count to ONNX Runtime, which picks one thread per physical core itself.
        "ddddocr_threads": "onnxruntime default",
        "ms_ours_1_thread": round(medians["ours_1_thread"], 3),
        "n": len(images),
        "passes": passes,
    }
    if "ddddocr_1_thread" in medians:
        result["ms_ddddocr_1_thread"] = round(medians["ddddocr_1_thread"], 3)
        result["ratio_1_thread"] = round(medians["ours_1_thread"] / medians["ddddocr_1_thread"], 4)
    one = (
        f"; both on one thread {result['ms_ours_1_thread']:.2f} vs {result['ms_ddddocr_1_thread']:.2f} ms "
        f"(1/{1 / result['ratio_1_thread']:.0f})"
        if "ratio_1_thread" in result
        else ""
    )
    print(
        f"final model {result['onnx_bytes'] / 1e6:.2f} MB; median solve {result['ms_ours']:.2f} ms on "
        f"{result['threads']} thread(s) vs ddddocr {result['ms_ddddocr']:.2f} ms on ONNX Runtime's default "
        f"threads (1/{1 / result['ratio']:.0f}){one}; "
        f"{len(images)} held-out images, fastest of {passes} turns each"
    )
    return result


def main() -> None:
    from gradewatch.captcha.cli_harvest import LEARNED_MIN_STEPS

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", default=str(Path(tempfile.gettempdir()) / "gradewatch-shared-bench"))
    sub = ap.add_subparsers(dest="mode", required=True)
    z = sub.add_parser("zero-shot")
    z.add_argument("--limit", type=int, default=0, help="images per set (0: the whole held-out part)")
    z.add_argument("--json", default=None)
    z.add_argument("--folder", action="append", default=[], help="also judge this folder of labelled real captchas")
    z.add_argument("--model", action="append", default=[], help="also judge this shipped model (e.g. zf_legacy)")
    b = sub.add_parser("bootstrap")
    b.add_argument("set", help=f"{', '.join(SETS)}, ssfw, or a folder of <label>.png (.gif, .jpg) real captchas")
    b.add_argument("--held-out", type=float, default=0.3, help="share of a folder never served (judges)")
    b.add_argument(
        "--start-model",
        default=None,
        help="default: auto; ddddocr for ssfw (harvest-only: auto would try our shipped ssfw model in round 1)",
    )
    b.add_argument("--target", type=float, default=0.995)
    b.add_argument("--max-attempts", type=int, default=1500)
    b.add_argument("--rate", type=float, default=20.0, help="logins per second (a local simulator, not a school)")
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--docs", action="store_true", help="copy the curve into docs/")
    q = sub.add_parser("price", help="re-measure a bootstrapped model's size and solve time next to ddddocr's")
    q.add_argument("set", help="as for bootstrap")
    q.add_argument("--model", default=None, help="default: the set's last bootstrap final.onnx")
    q.add_argument("--record", action="store_true", help="append the result to that bootstrap's curve.json")
    c = sub.add_parser("ceiling", help="train on the whole pool with its true labels; judge the held-out part")
    c.add_argument("set", help="as for price (after a bootstrap of it: its learned spec is used)")
    c.add_argument("--minutes", type=float, default=6.0)
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--seed", type=int, default=0, help="the first seed")
    c.add_argument("--seeds", type=int, default=1, help="train this many times, seeds from --seed on")
    c.add_argument("--splice", type=float, default=0.0, help="cut-and-splice share (the learned plan's: 0, off)")
    c.add_argument("--min-steps", type=int, default=LEARNED_MIN_STEPS, help="optimiser steps (the learned plan's)")
    args, extra = ap.parse_known_args()  # anything else goes to `gradewatch captcha bootstrap`
    args.extra = [a for a in extra if a != "--"]
    {"zero-shot": zero_shot, "bootstrap": bootstrap, "price": reprice, "ceiling": ceiling}[args.mode](args)


if __name__ == "__main__":
    main()
