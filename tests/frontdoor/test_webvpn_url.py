"""The WebVPN URL scheme: known vectors, ports, paths, queries, and the simulator's own links."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import pytest

from gradewatch.frontdoor.webvpn import WebVpn, WebVpnError

VPN = WebVpn("https://webvpn.neu.edu.cn")


def test_a_published_vector():
    # A public client's documented example (NEU): host 219.216.96.4 with the default key and IV.
    url = VPN.encode("http://219.216.96.4/eams/homeExt.action")
    assert url.startswith("https://webvpn.neu.edu.cn/http/77726476706e69737468656265737421a2a618d275613e1e275ec")
    assert url.endswith("/eams/homeExt.action")


@pytest.mark.parametrize("url", [
    "http://jwxt.example.edu.cn/jwglxt/xtgl/login_slogin.html",
    "https://jw.example.edu.cn:8443/jsxsd/kscj/cjcx_list?kksj=2023-2024-1&x=%E4%B8%AD",
    "http://10.1.2.3:8080/",
    "http://jwxt.example.edu.cn",
    "https://ssfw.example.edu.cn/ssfw/jwnavmenu.do?menuItemWid=1E057E24ABAB4CAFE0540010E0235690#top",
])
def test_round_trip(url):
    encoded = VPN.encode(url)
    assert "example.edu.cn" not in encoded and "10.1.2.3" not in encoded
    expected = url if urlsplit(url).path else url + "/"
    assert VPN.decode(encoded) == expected


def test_port_goes_into_the_scheme_part():
    assert "/https-8443/" in VPN.encode("https://jw.example.edu.cn:8443/x")
    assert "/http/" in VPN.encode("http://jw.example.edu.cn:80/x")


def test_another_key_gives_another_path_and_bad_input_is_refused():
    other = WebVpn("https://webvpn.example.edu.cn", "Wxzxvpn2023key@$", "Wxzxvpn2023key@$")
    a, b = VPN.encode("http://jw.example.edu.cn/"), other.encode("http://jw.example.edu.cn/")
    assert a.split("/")[4] != b.split("/")[4]
    assert other.decode(b) == "http://jw.example.edu.cn/"
    with pytest.raises(WebVpnError):
        WebVpn("https://v", "short", "short")
    with pytest.raises(WebVpnError):
        VPN.encode("ftp://jw.example.edu.cn/")
    assert VPN.decode("https://webvpn.neu.edu.cn/login") == "https://webvpn.neu.edu.cn/login"
    assert VPN.decode("https://elsewhere.example/http/7772/x") == "https://elsewhere.example/http/7772/x"


def test_the_simulators_own_redirects_decode_to_the_system(make_fronted):
    fronted = make_fronted("zf", cas=False, vpn=True)
    assert fronted.vpn is not None
    vpn = fronted.vpn.vpn
    school_login = fronted.base_url + "/xtgl/login_slogin.html"
    # Sign in to the VPN through the CAS by hand, then ask for the ZF root through the VPN.
    with httpx.Client(follow_redirects=True, timeout=10) as http:
        page = http.get(fronted.vpn.base_url + "/")
        assert "authserver/login" in str(page.url)
        from gradewatch.frontdoor.cas_crypto import encrypt_password
        from gradewatch.schools.base import SchoolAdapter

        tree = SchoolAdapter.html(page.text)
        salt = tree.css_first("#pwdEncryptSalt").attributes["value"]
        execution = tree.css_first('input[name="execution"]').attributes["value"]
        form = {"username": fronted.username, "password": encrypt_password(fronted.password, salt),
                "execution": execution, "_eventId": "submit"}
        done = http.post(str(page.url), data=form)
        assert "门户" in done.text
        root = vpn.encode(fronted.base_url + "/")
        resp = http.get(root, follow_redirects=False)
        assert resp.status_code in (301, 302, 303, 307)
        # The link the VPN hands out is its own encoding of the system's URL, and decodes back to it.
        assert vpn.decode(resp.headers["location"]) == school_login
