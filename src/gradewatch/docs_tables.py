"""Generate the tables of docs/schools.md from the adapters' declarations.

    python -m gradewatch.docs_tables          # rewrite the generated parts of docs/schools.md
    python -m gradewatch.docs_tables --check  # exit 1 when they are out of date (the tests run this)

Each generated part sits between ``<!-- begin NAME -->`` and ``<!-- end NAME -->``; the text
around it is hand-written and left alone.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from gradewatch.schools import systems
from gradewatch.schools.options import option_rows

DOC = Path(__file__).resolve().parents[2] / "docs" / "schools.md"


def systems_table() -> str:
    lines = ["| `system` | What it is | `base_url` | captcha model |", "|---|---|---|---|"]
    for name, cls in systems().items():
        model = f"`{cls.captcha_model}`" if cls.captcha_model else "none"
        lines.append(f"| `{name}` | {cls.title} | {cls.base_url_hint} | {model} |")
    return "\n".join(lines)


def options_table() -> str:
    lines = ["| `system` | option | type | default | what it sets |", "|---|---|---|---|---|"]
    for name, cls in systems().items():
        rows = option_rows(cls.Options)
        if not rows:
            lines.append(f"| `{name}` | (none) | | | |")
        for option, kind, default, help_text in rows:
            cells = (f"`{name}`", f"`{option}`", _cell(kind), f"`{default}`", _cell(help_text))
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


PARTS = {"systems": systems_table, "options": options_table}


def render(text: str) -> str:
    """``text`` with every generated part replaced by its current content."""
    for name, make in PARTS.items():
        pattern = re.compile(rf"(<!-- begin {name} -->\n).*?(<!-- end {name} -->)", re.S)
        if not pattern.search(text):
            raise ValueError(f"{DOC.name} has no '<!-- begin {name} -->' … '<!-- end {name} -->' part")
        text = pattern.sub(lambda m, make=make: m[1] + make() + "\n" + m[2], text)  # type: ignore[misc]
    return text


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    wanted = render(current)
    if "--check" in argv:
        if wanted != current:
            print(f"{DOC} is out of date: run python -m gradewatch.docs_tables", file=sys.stderr)
            return 1
        return 0
    if wanted != current:
        DOC.write_text(wanted, encoding="utf-8")
        print(f"updated {DOC}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
