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
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
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


def generate(out: Path, count: int, length: int, work: Path, settings: list[str]) -> None:
    built = work / "built.json"
    if not built.is_file():
        sys.exit(f"nothing built in {work}: run `build` first")
    out.mkdir(parents=True, exist_ok=True)
    classes = str(work / "classes")
    _run("java", "-Djava.awt.headless=true", "-cp", classes, "StockKaptcha", str(out), str(count), str(length),
         *settings)
    version = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
    about = {**json.loads(built.read_text(encoding="utf-8")), "java": version, "count": count,
             "settings": {"kaptcha.textproducer.char.length": length, **dict(kv.split("=", 1) for kv in settings),
                          "everything else": "kaptcha's defaults"}}
    (out / "about.json").write_text(json.dumps(about, indent=1), encoding="utf-8")
    print(f"{count} captchas in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="compile kaptcha, the jhlabs filters and our generator")
    b.add_argument("--kaptcha", type=Path, required=True, help="git dir of penggle/kaptcha (2.3.2)")
    b.add_argument("--filters", type=Path, required=True, help="git dir of the jhlabs image filters")
    g = sub.add_parser("generate", help="draw captchas with the built library")
    for command in (b, g):
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
    else:
        bad = [kv for kv in args.settings if not kv.startswith("kaptcha.") or not kv.partition("=")[2]]
        if bad:
            parser.error(f"--set takes kaptcha.KEY=VALUE, not {bad[0]!r}")
        if args.count < 1 or args.length < 1:
            parser.error("--count and --length must be at least 1")
        generate(args.out, args.count, args.length, args.work, args.settings)


if __name__ == "__main__":
    main()
