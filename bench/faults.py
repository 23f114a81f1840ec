"""Play every school fault against every adapter and every SMTP fault against delivery; print the tables
of docs/reliability-faults.md.

    python bench/faults.py > /tmp/faults.md

School faults: a simulator behind gradewatch.testing.faults.FaultProxy, the fault on the grade page (or
the captcha image), one real check with the shipped captcha model and small deadlines (1.5 s per
request, 4 s per check). SMTP faults: gradewatch.testing.smtp_faults, each delivered through
gradewatch.notify.channels.deliver and retried while it raises (at most 3 tries), copies counted at the
server.
"""

from __future__ import annotations

import argparse

from gradewatch.testing.faults import FAULTS
from gradewatch.testing.school_outcomes import all_outcomes
from gradewatch.testing.smtp_faults import run_smtp_faults


def school_table(systems: list[str]) -> str:
    rows = all_outcomes(systems)
    by = {(o.system, o.fault): o for o in rows}
    faults = [f for f in FAULTS if f != "static"]
    lines = ["| school fault | " + " | ".join(systems) + " |", "| --- |" + " --- |" * len(systems)]
    for f in faults:
        cells = []
        for s in systems:
            o = by[(s, f)]
            text = o.message.replace("|", "\\|")
            if len(text) > 110:
                text = text[:107] + "…"
            cells.append(f"**{o.kind}** ({o.seconds:.1f} s): {text}")
        lines.append(f"| `{f}`: {FAULTS[f][1]} | " + " | ".join(cells) + " |")
    untyped = [o for o in rows if not o.typed]
    lines.append("")
    lines.append(f"{len(rows)} runs, {len(untyped)} untyped exceptions.")
    return "\n".join(lines)


def smtp_table() -> str:
    lines = ["| SMTP fault | what a correct client does | what gradewatch did | tries | copies (a, b) | last error |",
             "| --- | --- | --- | --- | --- | --- |"]
    for o in run_smtp_faults():
        mark = "" if o.as_expected else " ✗" + (" (notify fix pending)" if o.needs_notify_fix else "")
        err = (o.errors[-1] if o.errors else "").replace("|", "\\|")
        if len(err) > 90:
            err = err[:87] + "…"
        copies = ", ".join(str(n) for n in o.copies.values())
        lines.append(f"| `{o.case}`: {o.description} | {o.expected} | {o.got}{mark} | {o.rounds} | {copies} | {err} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="ssfw,zf,qiangzhi")
    ap.add_argument("--only", choices=["school", "smtp"])
    args = ap.parse_args()
    if args.only != "smtp":
        print(school_table(args.systems.split(",")))
        print()
    if args.only != "school":
        print(smtp_table())


if __name__ == "__main__":
    main()
