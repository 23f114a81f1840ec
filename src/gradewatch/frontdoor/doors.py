"""Front doors as steps before a system's own session: CAS sign-in, WebVPN sign-in, or both.

A door's ``sign_in(adapter, creds, native_login)`` leaves the adapter's HTTP client holding a
session of the academic system; ``native_login`` is the system's own login form, used when no
door replaces it (WebVPN alone puts a VPN session in front of the system's own login).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gradewatch.frontdoor.cas import CasFrontDoor
from gradewatch.frontdoor.webvpn import WebVpn

if TYPE_CHECKING:
    from gradewatch.schools.base import Credentials, SchoolAdapter


class FrontDoor(Protocol):
    def sign_in(self, adapter: SchoolAdapter, creds: Credentials, native_login: Callable[[], None]) -> None: ...


@dataclass
class CasDoor:
    """The academic system is entered through CAS: its own login form is never used."""

    cas: CasFrontDoor

    def sign_in(self, adapter: SchoolAdapter, creds: Credentials, native_login: Callable[[], None]) -> None:
        self.cas.on_password_submit = adapter.on_password_submit
        self.cas.sign_in(adapter, creds)


@dataclass
class WebVpnDoor:
    """A WebVPN session first (signed in through the school's CAS), then ``inner`` or the system's
    own login, through the VPN."""

    vpn: WebVpn
    cas: CasFrontDoor  # its service is the VPN's login URL
    inner: FrontDoor | None = None

    def sign_in(self, adapter: SchoolAdapter, creds: Credentials, native_login: Callable[[], None]) -> None:
        resp = adapter.get(self.vpn.base_url.rstrip("/") + "/")
        if self.cas.on_cas(resp):
            self.cas.on_password_submit = adapter.on_password_submit
            self.cas.sign_in(adapter, creds)
        if self.inner is not None:
            self.inner.sign_in(adapter, creds, native_login)
        else:
            native_login()
