"""Build src/gradewatch/directory/schools.json from public school lists (facts: names and URLs).

Sources (passed as files, read as text; nothing is copied but the facts):
  --wakeup FILE                   YZune/WakeupSchedule_Kotlin@a69fb75 (2020-05-07):
                                  schedule_import/SchoolListActivity.kt (name, URL, import type)
  --cherry FILE                   Yngu196/Schedule@24cc8d4 (2026-06-26):
                                  app/.../wakeupschedule/SchoolListActivity.kt (name, URL)

A school's system comes from the source's own classification where it has one, and from the URL
otherwise (only unambiguous markers: /jsxsd → 强智, /jwglxt or /xtgl/ → 正方, default2.aspx → old
正方, cas/login.action → 青果, /jwapp → 金智 jwapp; a host named jwglxt.… → 正方, urp.… → URP).
Entries start unverified.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

WAKEUP = ("YZune/WakeupSchedule_Kotlin@a69fb75 (2020-05-07)", "2020-05-07")
CHERRY = ("Yngu196/Schedule@24cc8d4 (2026-06-26)", "2026-06-26")
TYPES = {  # the source's import types → our system ids (None: a system gradewatch does not speak yet)
    "TYPE_ZF_NEW": "zf", "TYPE_ZF": "zf_legacy", "TYPE_ZF_1": "zf_legacy", "TYPE_URP_NEW": "urp",
    "TYPE_QZ": "qiangzhi", "TYPE_QZ_WITH_NODE": "qiangzhi", "TYPE_QZ_BR": "qiangzhi", "TYPE_QZ_CRAZY": "qiangzhi",
    "TYPE_URP": None, "TYPE_QZ_OLD": None, "TYPE_CF": None, "TYPE_HNUST": None, "TYPE_LOGIN": None,
}


def system_from_url(url: str) -> str | None:
    u = url.lower()
    host = urlsplit(u).netloc
    if host.startswith("jwglxt."):  # the 正方 product's own name as the host
        return "zf"
    if host.startswith("urp.") or ".urp." in host:
        return "urp"
    if "jsxsd" in u:
        return "qiangzhi"
    if "default2.aspx" in u:
        return "zf_legacy"
    if "/jwglxt" in u or "/xtgl/" in u:
        return "zf"
    if "cas/login.action" in u:
        return "kingosoft"
    if "/jwapp" in u:
        return "jwapp"
    return None


def base_url(system: str, url: str) -> str:
    parts = urlsplit(url.strip())
    path = parts.path
    cuts = {"qiangzhi": ("/jsxsd", "/sso.jsp"), "zf": ("/xtgl/",), "zf_legacy": ("/default2.aspx",),
            "kingosoft": ("/cas/login.action",), "jwapp": ("/jwapp",), "urp": ("/login",)}[system]
    for marker in cuts:
        i = path.lower().find(marker)
        if i >= 0:
            path = path[:i]
            break
    else:
        path = path if not path.endswith((".html", ".htm", ".aspx", ".jsp")) else path.rsplit("/", 1)[0]
    return f"{parts.scheme}://{parts.netloc}{path.rstrip('/')}"


def initials(name: str) -> str:
    from pypinyin import Style, lazy_pinyin

    return "".join(p[0] for p in lazy_pinyin(name, style=Style.FIRST_LETTER) if p and p[0].isalpha()).lower()


def wakeup(list_file: Path) -> list[dict[str, str]]:
    text = list_file.read_text(encoding="utf-8")
    out = []
    for name, url, kind in re.findall(r'SchoolInfo\("[^"]*", "([^"]+)", "([^"]*)", (TYPE_\w+)\)', text):
        system = TYPES.get(kind) or (system_from_url(url) if kind not in TYPES else None)
        if system and url.startswith("http"):
            out.append({"name": name, "system": system, "url": url, "source": WAKEUP[0], "seen": WAKEUP[1]})
    return out


def cherry(file: Path) -> list[dict[str, str]]:
    out = []
    for name, url in re.findall(r'School\("([^"]+)", "([^"]*)"\)', file.read_text(encoding="utf-8")):
        system = system_from_url(url)
        if system and url.startswith("http"):
            out.append({"name": name, "system": system, "url": url, "source": CHERRY[0], "seen": CHERRY[1]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wakeup", type=Path, required=True)
    ap.add_argument("--cherry", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("src/gradewatch/directory/schools.json"))
    args = ap.parse_args()
    merged: dict[str, dict[str, str]] = {}
    # The newer source wins for a school both name.
    for entry in wakeup(args.wakeup) + cherry(args.cherry):
        name = entry["name"].replace("（", "(").replace("）", ")")
        entry["name"] = name
        merged[name] = entry
    schools = []
    for e in sorted(merged.values(), key=lambda e: initials(e["name"])):
        schools.append({"name": e["name"], "initials": initials(e["name"]), "system": e["system"],
                        "base_url": base_url(e["system"], e["url"]), "seen_url": e["url"],
                        "front_door": "cas" if "sso.jsp" in e["url"] or "caslogin" in e["url"] else None,
                        "source": e["source"], "last_seen": e["seen"], "verified": False})
    args.out.write_text(json.dumps({"schools": schools}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(schools)} schools → {args.out}")


if __name__ == "__main__":
    main()
