"""A system simulator behind its front doors on loopback: the CAS, a WebVPN, the ZF slider, or both.

``fronted(stack, "zf", cas=True, vpn=True)`` starts the CAS simulator, the system simulator with
its SSO entry and the WebVPN simulator, each on its own loopback address (127.0.0.1 the VPN, .2 the
CAS, .3 the system) so that cookies are kept apart by host as they are between real servers. The
result carries the ``[schools.…]`` lines that put the doors into a config and one admin client
(:class:`FrontedAdmin`) that sends each switch to the layer it belongs to, so a test written
against a bare system simulator runs unchanged against the whole set-up.
"""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gradewatch.sim.cas import CasSimulator
from gradewatch.sim.server import SimAdmin, serve
from gradewatch.sim.sso import with_sso
from gradewatch.sim.transcripts import seeded_students
from gradewatch.sim.webvpn import WebVpnSimulator

if TYPE_CHECKING:
    from gradewatch.grades import Grade
    from gradewatch.schools.base import SchoolAdapter
    from gradewatch.sim.base import Simulator

#: Each system's SSO entry (where the CAS sends the ticket) and the home page it then opens.
SSO_ENTRIES = {"zf": "/jwglxt/xtgl/login_ssologin.html", "qiangzhi": "/jsxsd/sso.jsp", "jwapp": "/appShow"}
SSO_HOMES = {"zf": "/jwglxt/xtgl/index_initMenu.html", "qiangzhi": "/jsxsd/framework/xsMain.jsp",
             "jwapp": "/jwapp/sys/cjcx/*default/index.do"}
#: Switches that belong to where the password is checked (the CAS when there is one).
_LOGIN_SWITCHES = {"reject_captcha", "wrong_password_text"}


@dataclass
class FrontedAdmin:
    """The admin API of a fronted set-up, shaped like :class:`SimAdmin`: grades live in the system;
    login stats, captcha and lock switches at the login layer (the CAS, else the system); ``down`` and
    ``expire_sessions`` reach every layer (the campus is down, every server forgot every session)."""

    system: SimAdmin
    cas: SimAdmin | None = None
    vpn: WebVpnSimulator | None = None

    @property
    def login(self) -> SimAdmin:
        return self.cas or self.system

    def publish_grade(self, username: str, grade: Grade | dict[str, Any]) -> str:
        return self.system.publish_grade(username, grade)

    def set_grades(self, username: str, grades: Any) -> None:
        self.system.set_grades(username, grades)

    def grades(self, username: str) -> list[Grade]:
        return self.system.grades(username)

    def stats(self, username: str | None = None) -> dict[str, Any]:
        return self.login.stats(username)

    def control(self, **changes: Any) -> dict[str, Any]:
        login = {k: v for k, v in changes.items() if k in _LOGIN_SWITCHES}
        system = {k: v for k, v in changes.items() if k not in _LOGIN_SWITCHES}
        if "down" in changes:
            if self.cas is not None:
                self.cas.control(down=changes["down"])
            if self.vpn is not None:
                self.vpn.down = bool(changes["down"])
        result = self.system.control(**system) if system else {}
        if login:
            result |= self.login.control(**login)
        return result

    def expire_sessions(self, username: str | None = None) -> int:
        n = self.system.expire_sessions(username)
        if self.cas is not None:
            self.cas.expire_sessions(username)
        if self.vpn is not None:
            self.vpn.expire()
        return n

    def unlock(self, username: str) -> None:
        self.login.unlock(username)


@dataclass
class Fronted:
    system: str
    base_url: str  # what the config's base_url is (the system's own URL)
    root_url: str  # the system server's root (its admin API is there)
    username: str
    password: str
    sim: Simulator
    admin: FrontedAdmin
    cas: CasSimulator | None
    vpn: WebVpnSimulator | None
    school_toml: str  # the lines that put the front door into [schools.uni]
    options: dict[str, Any] = field(default_factory=dict)
    cas_url: str = ""  # the CAS's authserver root ("" without one)

    @property
    def cas_admin(self) -> SimAdmin:
        assert self.admin.cas is not None, "no CAS in this set-up"
        return self.admin.cas

    def adapter(self, **kwargs: object) -> SchoolAdapter:
        """An adapter built from the same school settings the watcher gets (doors wired in); ``kwargs``
        go to the adapter (e.g. ``sleep``)."""
        import tomllib

        from gradewatch.config import SchoolConfig
        from gradewatch.frontdoor.access import build_adapter
        from gradewatch.schools import adapter_class

        school = SchoolConfig(system=self.system, base_url=self.base_url, **tomllib.loads(self.school_toml))
        return build_adapter(school, adapter_class(self.system), **kwargs)


def fronted(stack: ExitStack, system: str, *, cas: bool = True, vpn: bool = False, slider: bool = False,
            generation: str = "new", cas_captcha: str = "none", cipher: str = "aes", single_login: bool = False,
            students: int = 3, seed: int = 0,
            **backend: Any) -> Fronted:
    """Start ``system``'s simulator behind the chosen doors; everything stops when ``stack`` closes.

    ``cas``: the system is entered through the CAS (its SSO entry); ``vpn``: reached through a WebVPN
    (which signs in through the same CAS); ``slider``: 正方 with its slider captcha switched on."""
    from gradewatch.sim import simulator_class

    records = seeded_students(seed, students)
    cas_sim = cas_url = None
    if cas or vpn:
        cas_sim = CasSimulator(records, generation=generation, captcha=cas_captcha, cipher=cipher,
                               single_login=single_login, seed=seed)
        cas_url = stack.enter_context(serve(cas_sim.app(), "127.0.0.2"))
    if system == "jwapp":
        backend = {**backend, "cas_url": cas_url or ""}
    sim = simulator_class(system)(records, seed=seed, **backend)
    if cas:
        assert cas_url is not None
        app = with_sso(sim, cas_url=cas_url, entry_path=SSO_ENTRIES[system], home_path=SSO_HOMES[system])
    elif slider:
        from gradewatch.sim.zf_slider import with_zf_slider

        app = with_zf_slider(sim)
    else:
        app = sim.app()
    root = stack.enter_context(serve(app, "127.0.0.3" if cas_url else "127.0.0.1"))
    lines = ['front_door = "cas"'] if cas else []
    if cas_url:
        lines.append(f'cas_url = "{cas_url}/authserver"')
    if cas_captcha in ("always", "after_failures"):
        lines.append('cas_captcha_model = "ssfw"')  # the CAS simulator draws SSFW-style captchas
    vpn_sim = None
    if vpn:
        assert cas_url is not None
        vpn_sim = WebVpnSimulator(cas_url=cas_url)
        vpn_sim.base_url = stack.enter_context(serve(vpn_sim.app(), "127.0.0.1"))
        lines += ['transport = "webvpn"', f'webvpn_url = "{vpn_sim.base_url}"']
    admin = FrontedAdmin(stack.enter_context(SimAdmin(root, sim.admin_token)),
                         stack.enter_context(SimAdmin(cas_url, cas_sim.admin_token)) if cas_sim and cas_url else None,
                         vpn_sim)
    assert sim.demo is not None
    return Fronted(system, root + sim.context_path, root, sim.demo.username, sim.demo.password, sim, admin,
                   cas_sim, vpn_sim, "\n".join(lines), dict(backend), f"{cas_url}/authserver" if cas_url else "")
