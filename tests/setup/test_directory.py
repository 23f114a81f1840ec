"""The school directory: every entry is consistent with its system's URL shape and names its source;
search finds schools by name, abbreviation and pinyin initials."""

from __future__ import annotations

import json
import re

import pytest

from gradewatch.directory import DirectoryError, School, builtin, load, search

#: URL markers that belong to one system only: an entry of another system must not carry them.
MARKERS = {"qiangzhi": re.compile(r"/jsxsd", re.I), "zf": re.compile(r"/jwglxt|/xtgl/|^https?://jwglxt\.", re.I),
           "zf_legacy": re.compile(r"default\d?\.aspx|xs_main\.aspx", re.I),
           "kingosoft": re.compile(r"cas/login\.action", re.I), "jwapp": re.compile(r"/jwapp/", re.I)}
KNOWN = {"ssfw", "zf", "qiangzhi", "zf_legacy", "urp", "kingosoft", "jwapp"}


def test_every_entry_has_a_system_a_base_url_and_a_source():
    schools = builtin()
    assert len(schools) >= 180  # see the note in docs/setup.md: the two public sources give 183
    assert len({s.name for s in schools}) == len(schools)
    for s in schools:
        assert s.system in KNOWN, s
        assert re.match(r"^https?://[^/\s]+(/\S*)?$", s.base_url), s
        assert not s.base_url.endswith("/"), s
        assert s.source and re.match(r"\d{4}-\d{2}-\d{2}$", s.last_seen), s
        assert not s.verified  # nothing is verified until a login through it succeeded


def test_no_entry_carries_another_systems_url_marker():
    for s in builtin():
        for system, marker in MARKERS.items():
            if system != s.system and marker.search(s.base_url):
                pytest.fail(f"{s.name}: {s.system} but its URL {s.base_url} looks like {system}")


@pytest.mark.parametrize(("query", "expected"), [
    ("中国矿业大学", "中国矿业大学"), ("矿大", "中国矿业大学"), ("zgkydx", "中国矿业大学"),
    ("zgky", "中国矿业大学"), ("安徽建筑", "安徽建筑大学"), ("建大", "安徽建筑大学"),
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
