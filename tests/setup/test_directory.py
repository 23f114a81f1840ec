"""The school directory: every entry is consistent with its system's URL shape and names its source;
search finds schools by name, abbreviation and pinyin initials."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from gradewatch.directory import DirectoryError, School, builtin, load, search

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "src" / "gradewatch" / "directory" / "schools.json"
#: URL markers that belong to one system only: an entry of another system must not carry them.
MARKERS = {"qiangzhi": re.compile(r"/jsxsd", re.I), "zf": re.compile(r"/jwglxt|/xtgl/|^https?://jwglxt\.", re.I),
           "zf_legacy": re.compile(r"default\d?\.aspx|xs_main\.aspx", re.I),
           "kingosoft": re.compile(r"cas/login\.action", re.I), "jwapp": re.compile(r"/jwapp/", re.I)}
#: What a URL of each system looks like (host and path): an entry whose system was read from its URL
#: must show its own system's pattern there.
OWN = {"qiangzhi": re.compile(r"jsxsd", re.I), "zf": re.compile(r"/jwglxt|/xtgl/|^https?://jwglxt\.", re.I),
       "zf_legacy": re.compile(r"default2\.aspx", re.I), "kingosoft": re.compile(r"/cas/login\.action", re.I),
       "jwapp": re.compile(r"/jwapp(/|$)", re.I), "urp": re.compile(r"^https?://(urp\.|[^/]*\.urp\.)", re.I)}
KNOWN = {"ssfw", "zf", "qiangzhi", "zf_legacy", "urp", "kingosoft", "jwapp"}
#: The one source that classifies schools itself (the WakeUp app's import types).
CLASSIFYING_SOURCE = "YZune/WakeupSchedule_Kotlin@"


def shipped_entries() -> list[dict]:
    return json.loads(SHIPPED.read_text(encoding="utf-8"))["schools"]


def host_and_path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def test_every_entry_has_a_system_a_base_url_and_a_source():
    schools = builtin()
    assert len(schools) >= 250  # docs/setup.md: three public lists give 285
    assert len({s.name for s in schools}) == len(schools)
    for s in schools:
        assert s.system in KNOWN, s
        assert re.match(r"^https?://[^/\s]+(/\S*)?$", s.base_url), s
        assert not s.base_url.endswith("/"), s
        # repository@commit:path, so anyone can look the fact up where it was read
        assert re.match(r"^[\w.-]+/[\w.-]+@[0-9a-f]{7,40}:\S+$", s.source), s
        assert re.match(r"\d{4}-\d{2}-\d{2}$", s.last_seen), s
        assert not s.verified  # nothing is verified until a login through it succeeded


def test_no_entry_carries_another_systems_url_marker():
    for s in builtin():
        for system, marker in MARKERS.items():
            if system != s.system and marker.search(s.base_url):
                pytest.fail(f"{s.name}: {s.system} but its URL {s.base_url} looks like {system}")


def test_every_entry_matches_its_own_systems_url_pattern_or_its_sources_classification():
    by_url = 0
    for e in shipped_entries():
        seen = host_and_path(e["seen_url"])
        assert e["system_from"] in ("url", "source"), e
        if e["system_from"] == "url":
            by_url += 1
            assert OWN[e["system"]].search(seen), f"{e['name']}: {e['system']} but {seen} does not look like it"
        else:  # only a source with its own per-school classification may decide without the URL
            assert e["source"].startswith(CLASSIFYING_SOURCE), e
        for system, marker in MARKERS.items():
            assert system == e["system"] or not marker.search(seen), f"{e['name']}: {seen} looks like {system}"
    assert by_url >= 150


def test_jwapp_schools_say_their_front_door_is_cas():
    jwapp = [s for s in builtin() if s.system == "jwapp"]
    assert jwapp and all(s.front_door == "cas" for s in jwapp)  # jwapp has no login form of its own


def test_openwakeup_entries_are_in_the_committed_excerpt_unchanged():
    excerpt = json.loads((ROOT / "tools" / "school_sources" / "openwakeup-684f1bc-excerpt.json")
                         .read_text(encoding="utf-8"))
    listed = {(d["name"].replace("（", "(").replace("）", ")"), d["url"]) for d in excerpt["data"]}
    taken = [e for e in shipped_entries() if e["source"].startswith("LonelyMarch/OpenWakeUp@")]
    assert len(taken) >= 100
    for e in taken:
        assert (e["name"], e["seen_url"]) in listed, e


@pytest.mark.parametrize(("query", "expected"), [
    ("中国矿业大学", "中国矿业大学"), ("矿大", "中国矿业大学"), ("zgkydx", "中国矿业大学"),
    ("zgky", "中国矿业大学"), ("安徽建筑", "安徽建筑大学"), ("建大", "安徽建筑大学"),
    # schools from the third list: initials, abbreviations, a part of the address
    ("gxkjdx", "广西科技大学"), ("贵师大", "贵州师范大学"), ("渤大", "渤海大学"), ("桂旅", "桂林旅游学院"),
    ("鄂职大", "鄂州职业大学"), ("jwxt.aku", "安康学院"),
    # an abbreviation starts where the name starts: 北师大 is 北京师范大学 before 河北师范大学
    ("北师大", "北京师范大学"),
])
def test_search_by_name_abbreviation_and_initials(query, expected):
    assert search(query)[0].name == expected


def test_search_finds_nothing_for_nonsense_and_empty():
    assert search("zzzzqqqq") == [] and search("  ") == []


def test_an_operators_directory_comes_first_and_bad_files_are_clear(tmp_path, monkeypatch):
    own = tmp_path / "mine.json"
    own.write_text(json.dumps({"schools": [{"name": "山东建筑大学", "system": "ssfw", "aliases": ["建大"],
                                            "base_url": "http://127.0.0.1:9/", "source": "operator",
                                            "last_seen": "2026-12-02"}]}, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("GRADEWATCH_SCHOOLS", str(own))
    first = search("建大", load())[0]
    assert first == School.from_dict(json.loads(own.read_text(encoding="utf-8"))["schools"][0])
    assert first.initials == "sdjzdx" and first.base_url == "http://127.0.0.1:9"
    assert search("sdjz", load())[0].name == "山东建筑大学"
    (tmp_path / "bad.json").write_text("{", encoding="utf-8")
    with pytest.raises(DirectoryError, match="bad.json"):
        load(tmp_path / "bad.json")
