"""`gradewatch detect` names front doors: a pasted CAS login URL (with the system its service is), a
system URL that sends the browser to the CAS, a WebVPN portal and a WebVPN link; against the
simulators, printing TOML the config accepts."""

from __future__ import annotations

import tomllib

import pytest
from typer.testing import CliRunner

from gradewatch.cli import app
from gradewatch.config import SchoolConfig
from gradewatch.schools.detect import fetch, recognise_door


def _detect(url):
    final, text, _ = fetch(url)
    return recognise_door(url, final, text)


def _school(door):
    school = tomllib.loads("\n".join(door.toml))
    return SchoolConfig(**{"system": "zf", "base_url": "http://x.invalid", **school})


@pytest.mark.parametrize("generation", ["old", "new"])
@pytest.mark.parametrize(("system", "backend"), [("zf", {}), ("qiangzhi", {"login": "seed"})])
def test_a_cas_login_url_names_the_cas_and_the_system(make_fronted, generation, system, backend):
    fronted = make_fronted(system, cas=True, generation=generation, **backend)
    cas_url = fronted.cas_url
    from gradewatch.schools import adapter_class

    service = adapter_class(system).sso_service(fronted.base_url, {})
    door = _detect(f"{cas_url}/login?service={service}")
    assert door is not None and door.kind == "cas"
    school = _school(door)
    assert (school.system, school.base_url, school.front_door, school.cas_url) == \
        (system, fronted.base_url, "cas", cas_url)


def test_a_system_that_redirects_to_the_cas_is_named_as_behind_it(make_fronted):
    fronted = make_fronted("jwapp", cas=True, cipher="rsa")
    door = _detect(fronted.base_url + "/jwapp/sys/cjcx/*default/index.do")  # the app sends us to the CAS
    assert door is not None and door.kind == "cas"
    school = _school(door)
    assert (school.system, school.base_url, school.front_door) == ("jwapp", fronted.base_url, "cas")


def test_a_webvpn_portal_and_a_webvpn_link(make_fronted):
    fronted = make_fronted("zf", cas=False, vpn=True)
    assert fronted.vpn is not None
    cas_url = fronted.cas_url
    portal = _detect(fronted.vpn.base_url + "/")
    assert portal is not None and portal.kind == "webvpn"
    school = _school(portal)
    assert (school.transport, school.webvpn_url, school.cas_url) == ("webvpn", fronted.vpn.base_url, cas_url)

    link = fronted.vpn.vpn.encode(fronted.base_url + "/xtgl/login_slogin.html")
    door = _detect(link)
    assert door is not None and door.kind == "webvpn" and fronted.base_url + "/xtgl/login_slogin.html" in door.summary
    assert _school(door).webvpn_url == fronted.vpn.base_url


def test_the_cli_prints_the_door_lines(make_fronted):
    fronted = make_fronted("zf", cas=False, vpn=True)
    assert fronted.vpn is not None
    result = CliRunner().invoke(app, ["detect", fronted.vpn.base_url])
    assert result.exit_code == 0, result.output
    assert "WebVPN" in result.output and 'transport = "webvpn"' in result.output
    assert f'webvpn_url = "{fronted.vpn.base_url}"' in result.output


def test_a_system_page_is_no_door(make_fronted):
    fronted = make_fronted("zf", cas=False, vpn=False)
    assert _detect(fronted.base_url + "/xtgl/login_slogin.html") is None
