"""The common campus WebVPN (网瑞达 WRD "wengine"): the school's host is AES-128-CFB-encrypted into
the path, ``https://webvpn.school.edu.cn/{scheme}[-{port}]/{hex(iv)}{hex(cipher(host))}/{path}``.

Facts used (public clients of several schools, e.g. webvpn converters): the key and the IV are the
same 16-byte string, ``wrdvpnisthebest!`` by default (some schools configure their own); the
ciphertext is as long as the host (CFB needs no padding); a non-default port goes into the scheme
part (``http-8080``).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from gradewatch.schools.errors import SessionExpired

DEFAULT_KEY = "wrdvpnisthebest!"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class WebVpnError(ValueError):
    """A URL that is not a WebVPN URL, or a key of the wrong size."""


@dataclass(frozen=True)
class WebVpn:
    """One WebVPN: its own base URL (``https://webvpn.school.edu.cn``) and its key/IV."""

    base_url: str
    key: str = DEFAULT_KEY
    iv: str = DEFAULT_KEY

    def __post_init__(self) -> None:
        if len(self.key.encode()) != 16 or len(self.iv.encode()) != 16:
            raise WebVpnError("a WebVPN key and IV are 16 bytes each")

    def _cipher(self) -> Cipher[CFB]:
        return Cipher(algorithms.AES(self.key.encode()), CFB(self.iv.encode()))

    def encrypt_host(self, host: str) -> str:
        enc = self._cipher().encryptor()
        return self.iv.encode().hex() + (enc.update(host.encode()) + enc.finalize()).hex()

    def decrypt_host(self, token: str) -> str:
        prefix = self.iv.encode().hex()
        if not token.lower().startswith(prefix) or len(token) % 2:
            raise WebVpnError(f"not a host token of this WebVPN: {token[:40]!r}")
        dec = self._cipher().decryptor()
        try:
            raw = dec.update(bytes.fromhex(token[len(prefix) :])) + dec.finalize()
            return raw.decode("ascii")
        except (ValueError, UnicodeDecodeError):
            raise WebVpnError(f"not a host token of this WebVPN: {token[:40]!r}") from None

    def encode(self, url: str) -> str:
        """The WebVPN URL of a school URL (path, query and fragment kept)."""
        parts = urlsplit(url)
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
            raise WebVpnError(f"not an http(s) URL: {url[:80]!r}")
        scheme = parts.scheme
        if parts.port and parts.port != _DEFAULT_PORTS[scheme]:
            scheme = f"{scheme}-{parts.port}"
        vpn = urlsplit(self.base_url.rstrip("/"))
        path = f"{vpn.path}/{scheme}/{self.encrypt_host(parts.hostname)}{parts.path or '/'}"
        return urlunsplit((vpn.scheme, vpn.netloc, path, parts.query, parts.fragment))

    def decode(self, url: str) -> str:
        """The school URL behind a WebVPN URL; a URL not on this WebVPN comes back unchanged."""
        parts = urlsplit(url)
        vpn = urlsplit(self.base_url.rstrip("/"))
        if parts.netloc != vpn.netloc or not parts.path.startswith(vpn.path + "/"):
            return url
        rest = parts.path[len(vpn.path) + 1 :]
        segments = rest.split("/", 2)
        if len(segments) < 2:
            return url  # the VPN's own pages (login, portal)
        scheme_part, token = segments[0], segments[1]
        scheme, _, port = scheme_part.partition("-")
        if scheme not in _DEFAULT_PORTS:
            return url
        try:
            host = self.decrypt_host(token)
        except WebVpnError:
            return url
        netloc = f"{host}:{port}" if port else host
        path = "/" + segments[2] if len(segments) > 2 else "/"
        return urlunsplit((scheme, netloc, path, parts.query, parts.fragment))

    def is_vpn_url(self, url: str) -> bool:
        return self.decode(url) != url


class WebVpnTransport(httpx.BaseTransport):
    """An httpx transport that sends a school's requests through its WebVPN.

    The adapter above keeps using the school's own URLs: each request to one of ``hosts`` is
    rewritten to its WebVPN URL here, and WebVPN URLs in redirects come back decoded, so no adapter
    knows the VPN is there. The VPN keeps the systems' cookies itself; what travels from the client
    is the VPN's own ticket, read from the client's cookie jar (``jar``) for the VPN's host.
    """

    def __init__(self, vpn: WebVpn, hosts: set[str], inner: httpx.BaseTransport | None = None) -> None:
        self.vpn = vpn
        #: The school hosts (host[:port]) that are reached through the VPN; others go direct.
        self.hosts = set(hosts)
        self._inner = inner or httpx.HTTPTransport()
        vpn_url = httpx.URL(vpn.base_url)
        self._vpn_netloc = vpn_url.netloc.decode()
        self._vpn_host = vpn_url.host
        #: The adapter's cookie jar (set by whoever builds the adapter); None: no VPN cookies sent.
        self.jar: httpx.Cookies | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.netloc.decode() not in self.hosts:
            return self._inner.handle_request(request)
        target = httpx.URL(self.vpn.encode(str(request.url)))
        headers = httpx.Headers(request.headers)
        headers["Host"] = self._vpn_netloc
        vpn_cookies = [f"{c.name}={c.value}" for c in (self.jar.jar if self.jar is not None else [])
                       if c.domain.lstrip(".") == self._vpn_host]
        if vpn_cookies:
            headers["Cookie"] = "; ".join(vpn_cookies)
        else:
            headers.pop("Cookie", None)
        if headers.get("Referer", "").startswith("http"):
            headers["Referer"] = self.vpn.encode(headers["Referer"])
        inner = httpx.Request(request.method, target, headers=headers, stream=request.stream,
                              extensions=request.extensions)
        response = self._inner.handle_request(inner)
        location = response.headers.get("Location")
        if location:
            absolute = str(target.join(location))
            decoded = self.vpn.decode(absolute)
            if decoded == absolute and httpx.URL(absolute).netloc.decode() == self._vpn_netloc:
                response.close()
                # The VPN sends us to its own login: its session is gone, the school's with it.
                raise SessionExpired("the WebVPN session has expired")
            response.headers["Location"] = decoded
        return response

    def close(self) -> None:
        self._inner.close()
