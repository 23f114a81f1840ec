"""Stock kaptcha drawn by the kaptcha library itself, to judge our models and our renderer by.

No labelled capture of a stock-kaptcha login (正方 jwglxt's default) is public, but the library that
draws it is: ``KaptchaServlet`` only asks ``Producer`` for a text and an image and writes the image as
JPEG, so the library's own output *is* what a stock server sends (the fonts are the JVM's; a Linux JVM
without Arial and Courier draws DejaVu Sans Bold and DejaVu Sans Mono Bold, as this one does).

Nothing is downloaded here: give the two source trees as git directories (``fetch`` puts them under
/work/.mirror), and a JDK (``javac``, ``java``) must be on the PATH.

    python bench/stock_kaptcha.py build --kaptcha /work/.mirror/penggle+kaptcha/repo \\
        --filters /work/.mirror/tomalloc+jhlabs-image-filter/repo
    python bench/stock_kaptcha.py generate /tmp/stock-kaptcha/set --count 3000
    python bench/stock_kaptcha.py generate /tmp/stock-kaptcha/shadow --count 1000 \
        --set kaptcha.obscurificator.impl=com.google.code.kaptcha.impl.ShadowGimpy

``generate`` writes ``<text>_<n>.jpg`` (the label, then a number, as several published sets name
theirs) and ``about.json`` (library commits, Java version, the settings). Both take ``--work``
(default /tmp/stock-kaptcha), the build folder.

``configured`` draws what schools that change kaptcha's settings serve (as 北京大学 does: white ink,
no noise, 130x52, a green border): ``--configs`` random configurations, ``--each`` captchas of each,
all in one folder as ``<text>_<config>-<n>.jpg``, the settings of every configuration in
``about.json``:

    python bench/stock_kaptcha.py configured /tmp/stock-kaptcha/configured --configs 40 --each 50

``breakdown`` reads such a folder with a model (``zf``, a path, or ``ddddocr``: the teacher) and prints
its whole-captcha accuracy per setting (ink, obscurificator, noise, size, fonts, spacing):

    python bench/stock_kaptcha.py breakdown /tmp/stock-kaptcha/configured --model zf
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent / "stock_kaptcha"
#: Needs the servlet API, which only serving over HTTP uses.
_LEFT_OUT = "com/google/code/kaptcha/servlet/"


def _run(*cmd: str, cwd: Path | None = None) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{' '.join(cmd[:2])} failed:\n{done.stderr.strip()[-2000:]}")
    return done.stdout


def _commit(git_dir: Path) -> str:
    done = subprocess.run(["git", f"--git-dir={git_dir}", "rev-parse", "HEAD"], capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{git_dir} is not a git directory with a HEAD: {done.stderr.strip()}")
    return done.stdout.strip()


def build(kaptcha: Path, filters: Path, work: Path) -> None:
    for tool in ("git", "javac", "java"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not on the PATH")
    commits = {"kaptcha": _commit(kaptcha), "filters": _commit(filters)}  # fails before anything is removed
    src, classes = work / "src", work / "classes"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(classes, ignore_errors=True)
    src.mkdir(parents=True)
    for git_dir in (kaptcha, filters):
        archive = subprocess.run(["git", f"--git-dir={git_dir}", "archive", "HEAD"], capture_output=True)
        if archive.returncode:
            sys.exit(f"git archive of {git_dir} failed: {archive.stderr.decode().strip()}")
        subprocess.run(["tar", "-x", "-f", "-", "-C", str(src)], input=archive.stdout, check=True)
    files = [str(p) for p in src.rglob("*.java") if _LEFT_OUT not in p.as_posix() and "/src/test/" not in p.as_posix()]
    files.append(str(HERE / "StockKaptcha.java"))
    (work / "sources.txt").write_text("\n".join(files) + "\n", encoding="utf-8")
    _run("javac", "-nowarn", "-encoding", "UTF-8", "-d", str(classes), f"@{work / 'sources.txt'}")
    (work / "built.json").write_text(json.dumps(commits), encoding="utf-8")
    print(f"built {len(files)} sources into {classes}")


def _draw(out: Path, count: int, length: int, work: Path, settings: list[str]) -> None:
    """Run our generator on the built library: ``count`` captchas into ``out``."""
    if not (work / "built.json").is_file():
        sys.exit(f"nothing built in {work}: run `build` first")
    if shutil.which("java") is None:
        sys.exit("java is not on the PATH")
    out.mkdir(parents=True, exist_ok=True)
    classes = str(work / "classes")
    _run("java", "-Djava.awt.headless=true", "-cp", classes, "StockKaptcha", str(out), str(count), str(length),
         *settings)


def _about(work: Path) -> dict:
    """The library commits and the Java that drew a set, for its about.json."""
    version = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    return {**json.loads((work / "built.json").read_text(encoding="utf-8")), "java": version}


def generate(out: Path, count: int, length: int, work: Path, settings: list[str]) -> None:
    _draw(out, count, length, work, settings)
    about = {**_about(work), "count": count,
             "settings": {"kaptcha.textproducer.char.length": length, **dict(kv.split("=", 1) for kv in settings),
                          "everything else": "kaptcha's defaults"}}
    (out / "about.json").write_text(json.dumps(about, indent=1), encoding="utf-8")
    print(f"{count} captchas in {out}")


def _rgb(rng: random.Random, lo: int, hi: int) -> str:
    return ",".join(str(rng.randint(lo, hi)) for _ in range(3))


def random_settings(rng: random.Random) -> list[str]:
    """One school's kaptcha settings: each setting kept at the default or changed within what a login
    page can use (the sizes keep four characters on the canvas). The ranges are our guess: no survey of
    schools' settings is public."""
    w, h = (200, 50) if rng.random() < 0.4 else (rng.randint(120, 220), rng.randint(40, 60))
    size = 40 if rng.random() < 0.5 else rng.randint(30, 44)
    settings: dict[str, object] = {"kaptcha.image.width": w, "kaptcha.image.height": h,
                                   "kaptcha.textproducer.font.size": min(size, h - 6)}
    obscurificator = rng.choices(["WaterRipple", "ShadowGimpy", "FishEyeGimpy"], [0.7, 0.15, 0.15])[0]
    settings["kaptcha.obscurificator.impl"] = f"com.google.code.kaptcha.impl.{obscurificator}"
    ink = rng.random()
    if ink < 0.3 and obscurificator != "FishEyeGimpy":  # a light ink shows only by a ripple's rim or a shadow
        settings["kaptcha.textproducer.font.color"] = rng.choice(["white", _rgb(rng, 235, 255)])
    elif ink < 0.7:
        settings["kaptcha.textproducer.font.color"] = _rgb(rng, 0, 100)
    if rng.random() < 0.3:
        settings["kaptcha.textproducer.font.names"] = "Liberation Sans,Liberation Mono"  # Arial, Courier New installed
    if rng.random() < 0.3:
        settings["kaptcha.textproducer.char.space"] = rng.randint(1, 6)
    if rng.random() < 0.4:
        settings["kaptcha.noise.impl"] = "com.google.code.kaptcha.impl.NoNoise"
    elif rng.random() < 0.5:
        settings["kaptcha.noise.color"] = _rgb(rng, 0, 160)
    if rng.random() < 0.5:
        settings["kaptcha.background.clear.from"] = _rgb(rng, 170, 235)
        settings["kaptcha.background.clear.to"] = _rgb(rng, 225, 255)
    border = rng.random()
    if border < 0.3:
        settings["kaptcha.border"] = "no"
    elif border < 0.6:
        settings["kaptcha.border.color"] = _rgb(rng, 0, 200)
    return [f"{key}={value}" for key, value in settings.items()]


def configured(out: Path, configs: int, each: int, length: int, work: Path, seed: int) -> None:
    rng = random.Random(seed)
    drawn = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(configs):
            settings = random_settings(rng)
            folder = Path(tmp) / str(n)
            _draw(folder, each, length, work, settings)
            for image in folder.glob("*.jpg"):
                text, _, i = image.stem.rpartition("_")
                shutil.move(image, out / f"{text}_{n}-{i}.jpg")
            drawn[n] = settings
    about = {**_about(work), "count": configs * each, "length": length, "seed": seed, "configurations": drawn}
    (out / "about.json").write_text(json.dumps(about, indent=1), encoding="utf-8")
    print(f"{configs * each} captchas of {configs} configurations in {out}")


def _features(settings: list[str]) -> dict[str, str]:
    """What one configuration changes, as a few coarse groups to count accuracy by."""
    kv = dict(pair.split("=", 1) for pair in settings)
    colour = kv.get("kaptcha.textproducer.font.color", "black")
    light = colour == "white" or (colour != "black" and min(int(c) for c in colour.split(",")) >= 200)
    size = (int(kv["kaptcha.image.width"]), int(kv["kaptcha.image.height"]))
    return {
        "ink": "black (default)" if colour == "black" else "light" if light else "dark colour",
        "obscurificator": kv["kaptcha.obscurificator.impl"].rsplit(".", 1)[1],
        "noise": "none" if "kaptcha.noise.impl" in kv else "coloured" if "kaptcha.noise.color" in kv else "black",
        "canvas": "200x50 (default)" if size == (200, 50) else "other",
        "fonts": "Liberation" if "kaptcha.textproducer.font.names" in kv else "JVM default",
        "char.space": "2 (default)" if "kaptcha.textproducer.char.space" not in kv else "other",
    }


def breakdown(folder: Path, model: str) -> None:
    from gradewatch.captcha.spec import SPECS
    from gradewatch.captcha.teacher import start_solver

    about = folder / "about.json"
    configs = json.loads(about.read_text(encoding="utf-8")).get("configurations") if about.is_file() else None
    if not configs:
        sys.exit(f"{folder} holds no `configured` set (no configurations in {about})")
    solver = start_solver(model, SPECS["zf"])  # the target spec matters to the teacher only
    tally: dict[tuple[str, str], list[int]] = {}
    for image in sorted(folder.glob("*.jpg")):
        text, _, tail = image.stem.rpartition("_")
        right = solver.solve(image.read_bytes()).text.lower() == text.lower()
        config = tail.split("-")[0]
        for group in [("all", ""), ("configuration", config)] + list(_features(configs[config]).items()):
            tally.setdefault(group, [0, 0])[0] += right
            tally[group][1] += 1
    print(f"{model} on {folder} ({len(configs)} configurations)")
    for (group, value), (right, n) in sorted(tally.items()):
        if group != "configuration":
            print(f"  {group:15} {value:17} {right / n:7.1%}  ({right}/{n})")
    worst = sorted((right / n, config) for (group, config), (right, n) in tally.items() if group == "configuration")
    for share, config in worst[:5]:
        print(f"  worst: {share:6.1%}  configuration {config}: {' '.join(configs[config])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile kaptcha, the jhlabs filters and our generator")
    b.add_argument("--kaptcha", type=Path, required=True, help="git dir of penggle/kaptcha (2.3.2)")
    b.add_argument("--filters", type=Path, required=True, help="git dir of the jhlabs image filters")
    g = sub.add_parser("generate", help="draw captchas with the built library")
    c = sub.add_parser("configured", help="draw captchas with random school settings")
    c.add_argument("out", type=Path)
    c.add_argument("--configs", type=int, default=40, help="how many random configurations")
    c.add_argument("--each", type=int, default=50, help="captchas of each configuration")
    c.add_argument("--length", type=int, default=4)
    c.add_argument("--seed", type=int, default=0)
    k = sub.add_parser("breakdown", help="a model's accuracy per setting on a `configured` folder")
    k.add_argument("folder", type=Path)
    k.add_argument("--model", default="zf", help="a model name or path, or ddddocr (the teacher)")
    for command in (b, g, c):
        command.add_argument("--work", type=Path, default=Path("/tmp/stock-kaptcha"), help="build folder")
    g.add_argument("out", type=Path)
    g.add_argument("--count", type=int, default=3000)
    g.add_argument("--length", type=int, default=4, help="4 is the 正方 vendor's setting (kaptcha's own default: 5)")
    g.add_argument("--set", dest="settings", action="append", default=[], metavar="KEY=VALUE",
                   help="another kaptcha setting, e.g. "
                   "kaptcha.obscurificator.impl=com.google.code.kaptcha.impl.ShadowGimpy")
    args = parser.parse_args()
    if args.command == "build":
        build(args.kaptcha, args.filters, args.work)
    elif args.command == "breakdown":
        breakdown(args.folder, args.model)
    elif args.command == "configured":
        if min(args.configs, args.each, args.length) < 1:
            parser.error("--configs, --each and --length must be at least 1")
        args.out.mkdir(parents=True, exist_ok=True)
        configured(args.out, args.configs, args.each, args.length, args.work, args.seed)
    else:
        bad = [kv for kv in args.settings if not kv.startswith("kaptcha.") or not kv.partition("=")[2]]
        if bad:
            parser.error(f"--set takes kaptcha.KEY=VALUE, not {bad[0]!r}")
        if args.count < 1 or args.length < 1:
            parser.error("--count and --length must be at least 1")
        generate(args.out, args.count, args.length, args.work, args.settings)


if __name__ == "__main__":
    main()
