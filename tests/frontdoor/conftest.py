"""Front-door set-ups on loopback: a system simulator behind the CAS simulator, a WebVPN, or both.

Each layer listens on its own loopback address (127.0.0.1 the VPN, .2 the CAS, .3 the system) so
that cookies are kept apart by host as they are between real servers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import pytest

from gradewatch.sim.cas import CasSimulator
from gradewatch.sim.server import SimAdmin, serve
from gradewatch.sim.sso import with_sso
from gradewatch.sim.transcripts import seeded_students
from gradewatch.sim.webvpn import WebVpnSimulator

SIMULATORS = {"ssfw": ("gradewatch.sim.ssfw", "SsfwSimulator", ""),
              "zf": ("gradewatch.sim.zf", "ZfSimulator", "/jwglxt"),
              "qiangzhi": ("gradewatch.sim.qiangzhi", "QiangzhiSimulator", ""),
              "jwapp": ("gradewatch.sim.jwapp", "JwappSimulator", "")}
#: Where each system's SSO entry sends a signed-in student (the simulators' home pages).
HOMES = {"zf": "/jwglxt/xtgl/index_initMenu.html", "qiangzhi": "/jsxsd/framework/xsMain.jsp",
         "jwapp": "/jwapp/sys/cjcx/*default/index.do"}
ENTRIES = {"zf": "/jwglxt/xtgl/login_ssologin.html", "qiangzhi": "/jsxsd/sso.jsp", "jwapp": "/appShow"}


@dataclass
class Fronted:
    system: str
    base_url: str  # what the config's base_url is (the system's own URL)
    username: str
    password: str
    admin: SimAdmin  # the system's admin API (grades, its own login stats)
    cas_admin: SimAdmin  # the CAS's admin API (password POSTs, locks)
    cas: CasSimulator
    vpn: WebVpnSimulator | None
    school_toml: str  # the lines that put the front door into [schools.uni]

    @property
    def login_admin(self) -> SimAdmin:
        """Where passwords are posted: the CAS (every combination here signs in through it)."""
        return self.cas_admin


@pytest.fixture
def make_fronted() -> Iterator[Callable[..., Fronted]]:
    with ExitStack() as stack:

        def make(system: str, *, cas: bool = True, vpn: bool = False, generation: str = "new",
                 cas_captcha: str = "none", students: int = 3, **backend: Any) -> Fronted:
            import importlib

            records = seeded_students(0, students)
            cas_sim = CasSimulator(records, generation=generation, captcha=cas_captcha)
            cas_url = stack.enter_context(serve(cas_sim.app(), "127.0.0.2"))
            module, cls, ctx = SIMULATORS[system]
            if system == "jwapp":
                backend = {**backend, "cas_url": cas_url}
            sim = getattr(importlib.import_module(module), cls)(records, **backend)
            app = with_sso(sim, cas_url=cas_url, entry_path=ENTRIES[system], home_path=HOMES[system]) if cas \
                else sim.app()
            root = stack.enter_context(serve(app, "127.0.0.3"))
            lines = []
            if cas:
                lines += ['front_door = "cas"']
            lines += [f'cas_url = "{cas_url}/authserver"']
            vpn_sim = None
            if vpn:
                vpn_sim = WebVpnSimulator(cas_url=cas_url)
                vpn_url = stack.enter_context(serve(vpn_sim.app(), "127.0.0.1"))
                vpn_sim.base_url = vpn_url
                lines += ['transport = "webvpn"', f'webvpn_url = "{vpn_url}"']
            admin = stack.enter_context(SimAdmin(root, sim.admin_token))
            cas_admin = stack.enter_context(SimAdmin(cas_url, cas_sim.admin_token))
            assert sim.demo is not None
            return Fronted(system, root + ctx, sim.demo.username, sim.demo.password, admin, cas_admin, cas_sim,
                           vpn_sim, "\n".join(lines))

        yield make
