"""tools/build_school_directory.py: which facts of a public list become directory entries.

The rules that keep a wrong entry out: a system is read from a URL's host and path only, an
OpenWakeUp entry needs a URL that names its system, that a student can reach, and a parser type
that agrees; an address or a school already listed is not added twice."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "build_school_directory.py"


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("build_school_directory", TOOL)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("url", "system"), [
    ("http://jwxt.example.edu.cn/jsxsd/", "qiangzhi"),
    ("https://jw.example.edu.cn/jwglxt/xtgl/login_slogin.html", "zf"),
    ("https://jwglxt.example.edu.cn/", "zf"),
    ("http://jwgl.example.edu.cn/default2.aspx", "zf_legacy"),
    ("http://jw.example.edu.cn/exjw/cas/login.action", "kingosoft"),
    ("http://jw.example.edu.cn/jwapp/sys/emaphome/portal/index.do", "jwapp"),
    ("http://urp.example.edu.cn/", "urp"),
    # the marker is in the query: it names the service, not the login server in front of it
    ("https://ids.example.edu.cn/authserver/login?service=http://jw.example.edu.cn/jsxsd/", None),
    ("https://jwapp.example.edu.cn/", None),  # a host named jwapp is not the jwapp path
])
def test_a_system_is_read_from_the_host_and_path(build, url, system):
    assert build.system_from_url(url) == system


def test_base_urls_stop_above_the_systems_own_path(build):
    assert build.base_url("kingosoft", "http://jw.example.edu.cn/exjw/cas/login.action") == "http://jw.example.edu.cn/exjw"
    assert build.base_url("zf", "https://jw.example.edu.cn/jwglxt/xtgl/login_slogin.html") == "https://jw.example.edu.cn/jwglxt"
    assert build.base_url("qiangzhi", "http://jw.example.edu.cn:8080/jsxsd/") == "http://jw.example.edu.cn:8080"


def test_openwakeup_entries_need_a_reachable_url_that_names_their_system(build, tmp_path):
    rows = [
        ("甲大学", "zf", "https://jw.a.edu.cn/jwglxt/xtgl/login_slogin.html"),  # taken
        ("乙学院", "kingo_new", "http://jw.b.edu.cn/bjw/cas/login.action"),  # taken
        ("丙学院", "ziyan", "https://jw.c.edu.cn/jsxsd/"),  # taken: "ziyan" makes no claim
        ("丁学院", "zf", "http://192.168.1.2/jwglxt/xtgl/login_slogin.html"),  # private address
        ("戊学院", "zf", "https://10-1-1-1.webvpn.e.edu.cn/jwglxt/xtgl/login_slogin.html"),  # WebVPN host
        ("己学院", "cf", "http://jw.f.edu.cn/jwglxt/xtgl/login_slogin.html"),  # another product's parser
        ("庚学院", "zf", "https://jw.g.edu.cn/"),  # nothing in the URL names a system
        ("辛学院", "qz", "https://jw.h.edu.cn/hxy_jsxsd/"),  # jsxsd under another context path
        ("甲大学 - 研究生", "zf", "https://yjs.a.edu.cn/jwglxt/"),  # a graduate school's system
        ("壬学院", "zf", "http://jw.i.edu.cn/xtgl/lo gin_slogin.html"),  # a blank inside the URL
    ]
    src = tmp_path / "schools.json"
    src.write_text(json.dumps({"data": [{"name": n, "sortKey": "X", "type": t, "url": u} for n, t, u in rows]},
                              ensure_ascii=False), encoding="utf-8")
    taken, dropped = build.openwakeup(src)
    assert [(e["name"], e["system"]) for e in taken] == [
        ("甲大学", "zf"), ("乙学院", "kingosoft"), ("丙学院", "qiangzhi")]
    assert all(e["system_from"] == "url" and e["source"].startswith("LonelyMarch/OpenWakeUp@") for e in taken)
    assert dropped == {"graduate": 1, "unreachable": 3, "no system in the URL": 2, "type disagrees": 1}


def test_a_build_adds_new_schools_once_and_keeps_the_earlier_lists_entries(build, tmp_path, monkeypatch):
    wakeup = tmp_path / "wakeup.kt"
    wakeup.write_text('add(SchoolInfo("A", "甲大学", "http://jw.a.edu.cn/jsxsd/", TYPE_QZ))\n', encoding="utf-8")
    cherry = tmp_path / "cherry.kt"
    cherry.write_text('School("乙学院", "https://jwglxt.b.edu.cn/")\n', encoding="utf-8")
    ow = tmp_path / "ow.json"
    ow.write_text(json.dumps({"data": [
        {"name": "甲大学", "type": "zf", "url": "https://new.a.edu.cn/jwglxt/xtgl/login_slogin.html"},  # listed
        # the same address under another name
        {"name": "乙学院（新校区）", "type": "zf", "url": "https://jwglxt.b.edu.cn/xtgl/login_slogin.html"},
        {"name": "丙学院", "type": "jz", "url": "http://jw.c.edu.cn/jwapp/sys/emaphome/portal/index.do"},
    ]}, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "schools.json"
    monkeypatch.setattr(sys, "argv", ["build", "--wakeup", str(wakeup), "--cherry", str(cherry),
                                      "--openwakeup", str(ow), "--out", str(out)])
    build.main()
    schools = {e["name"]: e for e in json.loads(out.read_text(encoding="utf-8"))["schools"]}
    assert set(schools) == {"甲大学", "乙学院", "丙学院"}
    assert schools["甲大学"]["base_url"] == "http://jw.a.edu.cn" and schools["甲大学"]["system_from"] == "source"
    assert schools["丙学院"]["system"] == "jwapp" and schools["丙学院"]["front_door"] == "cas"
    assert schools["丙学院"]["base_url"] == "http://jw.c.edu.cn"
    assert all(not e["verified"] and e["initials"] for e in schools.values())
