"""From a school's config to the transport and front door its adapter is built with."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from gradewatch.frontdoor.cas import CasFrontDoor
from gradewatch.frontdoor.doors import CasDoor, FrontDoor, WebVpnDoor
from gradewatch.frontdoor.webvpn import WebVpn, WebVpnTransport

if TYPE_CHECKING:
    from gradewatch.config import SchoolConfig
    from gradewatch.schools.base import SchoolAdapter


class AccessError(ValueError):
    """The school's front-door settings cannot work for its system."""


def access_for(
    school: SchoolConfig, adapter_cls: type[SchoolAdapter]
) -> tuple[WebVpnTransport | None, FrontDoor | None]:
    door: FrontDoor | None = None
    if adapter_cls.requires_front_door and school.front_door != "cas":
        raise AccessError(f"{adapter_cls.system} is only reachable through CAS: set front_door = \"cas\" and cas_url")
    if school.front_door == "cas":
        service = school.cas_service or adapter_cls.sso_service(school.base_url, school.options)
        if not service:
            raise AccessError(f"{adapter_cls.system} has no known CAS entry; set cas_service to its SSO URL")
        door = CasDoor(CasFrontDoor(str(school.cas_url), service, captcha_model=school.cas_captcha_model,
                                    end_other_sessions=school.cas_end_other_sessions))
    if school.transport != "webvpn":
        return None, door
    vpn = WebVpn(str(school.webvpn_url), school.webvpn_key, school.webvpn_iv)
    hosts = {httpx.URL(school.base_url).netloc.decode()}
    vpn_cas = CasFrontDoor(str(school.cas_url), vpn.base_url.rstrip("/") + "/login?cas_login=true",
                           captcha_model=school.cas_captcha_model, end_other_sessions=school.cas_end_other_sessions)
    vpn_door = WebVpnDoor(vpn, vpn_cas, inner=door)
    return WebVpnTransport(vpn, hosts), vpn_door


def build_adapter(school: SchoolConfig, adapter_cls: type[SchoolAdapter], **kwargs: object) -> SchoolAdapter:
    """The adapter for ``school`` with its transport and front door wired in."""
    transport, door = access_for(school, adapter_cls)
    adapter = adapter_cls(school.base_url, transport=transport, front_door=door, **kwargs)  # type: ignore[arg-type]
    if transport is not None:
        transport.jar = adapter.client.cookies
    return adapter
