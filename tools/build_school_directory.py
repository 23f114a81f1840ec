"""Build src/gradewatch/directory/schools.json from public school lists (facts: names and URLs).

Sources (passed as files, read as text; nothing is copied but the facts):
  --wakeup FILE      YZune/WakeupSchedule_Kotlin@a69fb75 (2020-05-07), WAKEUP_PATH below
                     (name, URL, the app's import type)
  --cherry FILE      Yngu196/Schedule@24cc8d4 (2026-06-26), CHERRY_PATH below (name, URL)
  --openwakeup FILE  LonelyMarch/OpenWakeUp@684f1bc, app/src/main/assets/schools.json (name, URL,
                     the app's parser type). That repository cannot be cloned here, so the file
                     passed is tools/school_sources/openwakeup-684f1bc-excerpt.json: the entries of
                     the part read through the public code index whose URL names a system, copied
                     unchanged (the full upstream file, same shape, works too).

A school's system comes from the source's own classification where it has one, and from the URL
otherwise — only from its host and path, never from a query string (a login server's
``?service=…/jsxsd`` says nothing about the login server itself): /jsxsd → 强智, /jwglxt or /xtgl/
→ 正方, default2.aspx → old 正方, cas/login.action → 青果, /jwapp → 金智 jwapp; a host named
jwglxt.… → 正方, urp.… → URP. Each entry records which of the two decided (``system_from``).

OpenWakeUp entries are taken only when the URL decides the system, the source's type does not
contradict it, the URL is one a student can reach (no private address, no VPN/WebVPN host), and
neither the school nor its address is listed already (they only add; their date is the day they
were read, not a date the list gives). Between WakeUp and Schedule, a school both name keeps the
newer one's entry. Entries start unverified.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import re
from pathlib import Path
from urllib.parse import urlsplit

WAKEUP_PATH = "app/src/main/java/com/suda/yzune/wakeupschedule/schedule_import/SchoolListActivity.kt"
CHERRY_PATH = "app/src/main/java/com/cherry/wakeupschedule/SchoolListActivity.kt"
OPENWAKEUP_PATH = "app/src/main/assets/schools.json"
# (source as repository@commit:path, the date the facts were seen there: the commit's date, or the
# day it was read for a source read through the code index without its history)
WAKEUP = (f"YZune/WakeupSchedule_Kotlin@a69fb75:{WAKEUP_PATH}", "2020-05-07")
CHERRY = (f"Yngu196/Schedule@24cc8d4:{CHERRY_PATH}", "2026-06-26")
OPENWAKEUP = (f"LonelyMarch/OpenWakeUp@684f1bc:{OPENWAKEUP_PATH}", "2026-12-02")
TYPES = {  # the source's import types → our system ids (None: a system gradewatch does not speak yet)
    "TYPE_ZF_NEW": "zf", "TYPE_ZF": "zf_legacy", "TYPE_ZF_1": "zf_legacy", "TYPE_URP_NEW": "urp",
    "TYPE_QZ": "qiangzhi", "TYPE_QZ_WITH_NODE": "qiangzhi", "TYPE_QZ_BR": "qiangzhi", "TYPE_QZ_CRAZY": "qiangzhi",
    "TYPE_URP": None, "TYPE_QZ_OLD": None, "TYPE_CF": None, "TYPE_HNUST": None, "TYPE_LOGIN": None,
}
# OpenWakeUp's parser types → the systems they agree with. "ziyan" makes no claim; qz_* are 强智
# variants (qz_old is the pre-jsxsd one, handled below); any other type names a different product.
OPENWAKEUP_TYPES = {"zf": {"zf", "zf_legacy"}, "kingo_new": {"kingosoft"}, "jz": {"jwapp"}, "urp_new": {"urp"}}
VPN_HOST = re.compile(r"(^|[.-])(web)?vpn|sslvpn|atrust|wvpn|onevpn", re.I)


def system_from_url(url: str) -> str | None:
    parts = urlsplit(url.strip().lower())
    host, path = parts.hostname or "", parts.path
    if host.startswith("jwglxt."):  # the 正方 product's own name as the host
        return "zf"
    if host.startswith("urp.") or ".urp." in host:
        return "urp"
    if "jsxsd" in path:
        return "qiangzhi"
    if "default2.aspx" in path:
        return "zf_legacy"
    if "/jwglxt" in path or "/xtgl/" in path:
        return "zf"
    if "cas/login.action" in path:
        return "kingosoft"
    if path.startswith("/jwapp") or "/jwapp/" in path:
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


def entry(name: str, system: str, url: str, source: tuple[str, str], decided_by: str) -> dict[str, str]:
    return {"name": name, "system": system, "url": url, "source": source[0], "seen": source[1],
            "system_from": decided_by}


def wakeup(list_file: Path) -> list[dict[str, str]]:
    text = list_file.read_text(encoding="utf-8")
    out = []
    for name, url, kind in re.findall(r'SchoolInfo\("[^"]*", "([^"]+)", "([^"]*)", (TYPE_\w+)\)', text):
        if kind in TYPES:
            system, decided_by = TYPES[kind], "source"
        else:
            system, decided_by = system_from_url(url), "url"
        if system and url.startswith("http"):
            out.append(entry(name, system, url, WAKEUP, decided_by))
    return out


def cherry(file: Path) -> list[dict[str, str]]:
    out = []
    for name, url in re.findall(r'School\("([^"]+)", "([^"]*)"\)', file.read_text(encoding="utf-8")):
        system = system_from_url(url)
        if system and url.startswith("http"):
            out.append(entry(name, system, url, CHERRY, "url"))
    return out


def reachable(url: str) -> bool:
    """A URL a student can open from outside: http(s), no blanks, no private address, no VPN host."""
    if not re.match(r"^https?://\S+$", url):
        return False
    host = urlsplit(url).hostname or ""
    try:
        if not ipaddress.ip_address(host).is_global:
            return False
    except ValueError:
        pass  # a name, not an address
    return not VPN_HOST.search(host)


def openwakeup(file: Path) -> tuple[list[dict[str, str]], dict[str, int]]:
    """OpenWakeUp's entries whose URL decides the system; also how many were left out and why."""
    data = json.loads(file.read_text(encoding="utf-8"))
    out, dropped = [], {"graduate": 0, "unreachable": 0, "no system in the URL": 0, "type disagrees": 0}
    for item in data["data"] if isinstance(data, dict) else data:
        name, kind, url = item.get("name", ""), item.get("type", ""), (item.get("url") or "").strip()
        system = system_from_url(url) if url else None
        path = urlsplit(url.lower()).path
        if "研究生" in name:  # graduate schools' systems are other products
            dropped["graduate"] += 1
        elif system is None or (system == "qiangzhi" and "/jsxsd" not in path):
            dropped["no system in the URL"] += 1  # a jsxsd under another context path needs options
        elif not reachable(url):
            dropped["unreachable"] += 1
        elif kind != "ziyan" and system not in OPENWAKEUP_TYPES.get(
                kind, {"qiangzhi"} if kind.startswith("qz") and kind != "qz_old" else set()):
            dropped["type disagrees"] += 1
        else:
            out.append(entry(name, system, url, OPENWAKEUP, "url"))
    return out, dropped


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wakeup", type=Path, required=True)
    ap.add_argument("--cherry", type=Path, required=True)
    ap.add_argument("--openwakeup", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=Path("src/gradewatch/directory/schools.json"))
    args = ap.parse_args()
    merged: dict[str, dict[str, str]] = {}
    # The newer source wins for a school both name (WakeUp 2020, then Schedule 2026).
    for e in wakeup(args.wakeup) + cherry(args.cherry):
        e["name"] = e["name"].replace("（", "(").replace("）", ")")
        merged[e["name"]] = e
    taken = {base_url(e["system"], e["url"]).lower(): name for name, e in merged.items()}
    extra, dropped = openwakeup(args.openwakeup)
    dropped["school already listed"] = dropped["address already listed"] = 0
    for e in extra:
        e["name"] = e["name"].replace("（", "(").replace("）", ")")
        base = base_url(e["system"], e["url"]).lower()
        if e["name"] in merged:  # its date is the day it was read, not when the list said so: add only
            dropped["school already listed"] += 1
            continue
        if base in taken:
            dropped["address already listed"] += 1  # one address, two names: keep the first
            continue
        taken[base] = e["name"]
        merged[e["name"]] = e
    schools = []
    for e in sorted(merged.values(), key=lambda e: initials(e["name"])):
        system = e["system"]
        front_door = "cas" if system == "jwapp" or "sso.jsp" in e["url"] or "caslogin" in e["url"] else None
        schools.append({"name": e["name"], "initials": initials(e["name"]), "system": system,
                        "base_url": base_url(system, e["url"]), "seen_url": e["url"], "front_door": front_door,
                        "system_from": e["system_from"], "source": e["source"], "last_seen": e["seen"],
                        "verified": False})
    args.out.write_text(json.dumps({"schools": schools}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    by_source = {s: sum(1 for e in schools if e["source"] == s) for s in (WAKEUP[0], CHERRY[0], OPENWAKEUP[0])}
    print(f"{len(schools)} schools → {args.out}")
    for source, n in by_source.items():
        print(f"  {n:4d} from {source}")
    print("  OpenWakeUp entries left out: " + ", ".join(f"{why} {n}" for why, n in dropped.items()))


if __name__ == "__main__":
    main()
