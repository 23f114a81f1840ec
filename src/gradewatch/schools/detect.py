"""`gradewatch detect URL`: which academic system a login page (or site root) belongs to.

Fetches the URL (following redirects), asks every registered adapter whether it recognises the
page (:meth:`SchoolAdapter.recognise`) and derives the ``base_url`` to configure
(:meth:`SchoolAdapter.base_url_from`). A front door is named too: a 金智 CAS login page (its
``service`` parameter tells which system it signs in to), a WebVPN portal (which sends the browser
to the CAS with its own ``login?cas_login=true`` service) or a WebVPN link (the target host is
decrypted with the product's default key). Nothing is posted; no login is tried.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import typer

from gradewatch.schools import systems
from gradewatch.schools.base import USER_AGENT, SchoolAdapter


class DetectError(Exception):
    """The URL could not be fetched; ``str()`` is one line for the user. ``unreachable``: the
    school did not answer (exit 4), not a URL that cannot be used (exit 2)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


@dataclass(frozen=True)
class Detection:
    system: str
    title: str  # the system's human name
    base_url: str
    url: str  # where the fetch ended, after redirects
    page_title: str


def fetch(url: str, *, timeout: float = 15.0,
          before_request: Callable[[httpx.Request], None] | None = None) -> tuple[str, str, str]:
    """(final URL, page text, page title) of ``url``. Raises DetectError when it cannot be fetched.
    ``before_request`` sees every request, redirects included, before it is sent (and may raise)."""
    if "://" not in url:
        url = "http://" + url
    hooks = {"request": [before_request]} if before_request is not None else {}
    try:
        with httpx.Client(headers={"User-Agent": USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"},
                          timeout=timeout, follow_redirects=True, event_hooks=hooks) as client:
            resp = client.get(url)
    except httpx.InvalidURL as err:
        raise DetectError(f"not a usable URL: {url} ({err})") from None
    except httpx.HTTPError as err:
        raise DetectError(f"cannot reach {url}: {type(err).__name__}", unreachable=True) from None
    if resp.status_code >= 500:
        raise DetectError(f"{url} answered HTTP {resp.status_code}", unreachable=True)
    text = SchoolAdapter.text_of(resp)
    return str(resp.url), text, SchoolAdapter.page_title(SchoolAdapter.html(text))


def recognise(url: str, text: str, page_title: str = "") -> Detection | None:
    """The first registered system that recognises this page, or None."""
    for name, cls in sorted(systems().items()):
        if cls.recognise(url, text):
            return Detection(name, cls.title, cls.base_url_from(url), url, page_title)
    return None


@dataclass(frozen=True)
class DoorDetection:
    """A front door or transport in front of the school's system, and the config lines it needs."""

    kind: str  # "cas" or "webvpn"
    summary: str
    toml: list[str] = field(default_factory=list)


def _cas_root(url: str, text: str) -> str | None:
    """The authserver root when ``url``/``text`` is a 金智 CAS login page (either generation)."""
    parts = urlsplit(url)
    if "/login" not in parts.path:
        return None
    markers = ("pwdEncryptSalt", "pwdDefaultEncryptSalt", "casLoginForm", "pwdFromId", "getPubKey")
    if not any(m in text for m in markers) or 'name="execution"' not in text:
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rsplit('/login', 1)[0]}"


def _system_of_service(service: str) -> tuple[str, str, str] | None:
    """(system, title, base_url) whose known CAS entry ``service`` is."""
    parts = urlsplit(service)
    for name, cls in sorted(systems().items()):
        entry = cls.sso_entry
        if not entry:
            continue
        path, _, query = entry.partition("?")
        if parts.path.endswith(path) and (not query or query.split("=", 1)[0] in parts.query):
            base = f"{parts.scheme}://{parts.netloc}{parts.path[: len(parts.path) - len(path)]}"
            return name, cls.title, base
    return None


def _webvpn_link(url: str) -> tuple[str, str] | None:
    """(WebVPN URL, the school URL behind it) when ``url`` is a link of the common WebVPN."""
    from gradewatch.frontdoor.webvpn import WebVpn, WebVpnError

    parts = urlsplit(url)
    try:
        vpn = WebVpn(f"{parts.scheme}://{parts.netloc}")
    except WebVpnError:
        return None
    target = vpn.decode(url)
    return (vpn.base_url, target) if target != url else None


def recognise_door(start: str, final: str, text: str) -> DoorDetection | None:
    """A CAS login page or a WebVPN in front of the school (``start``: the URL given, ``final``:
    where its redirects ended), or None."""
    link = _webvpn_link(start)
    cas = _cas_root(final, text)
    service = parse_qs(urlsplit(final).query).get("service", [""])[0]
    service_parts = urlsplit(service)
    if link is not None or (cas and service_parts.path.endswith("/login") and "cas_login" in service_parts.query):
        vpn_url = link[0] if link else f"{service_parts.scheme}://{service_parts.netloc}"
        lines = ['transport = "webvpn"', f'webvpn_url = "{vpn_url}"']
        if cas:
            lines.append(f'cas_url = "{cas}"')
        summary = f"WebVPN at {vpn_url}" + (f", signing in through the CAS at {cas}" if cas else "")
        if link:
            summary += f"; this link leads to {link[1]} (its base_url, once the system is known)"
        return DoorDetection("webvpn", summary, lines)
    if cas is None:
        return None
    lines = ['front_door = "cas"', f'cas_url = "{cas}"']
    system = _system_of_service(service) if service else None
    if system is not None:
        name, title, base = system
        return DoorDetection("cas", f"金智 CAS at {cas}, signing in to {title}",
                             [f'system = "{name}"', f'base_url = "{base}"', *lines])
    if service:
        lines.append(f'cas_service = "{service}"')
    return DoorDetection("cas", f"金智 CAS at {cas}" + (f" for the service {service}" if service else ""), lines)


def detect(url: str, *, timeout: float = 15.0,
           before_request: Callable[[httpx.Request], None] | None = None) -> tuple[Detection | None, str, str]:
    """(detection or None, final URL, page title). Raises DetectError when the URL cannot be fetched."""
    final, text, title = fetch(url, timeout=timeout, before_request=before_request)
    return recognise(final, text, title), final, title


def detect_command(
    url: str = typer.Argument(..., help="The school's login page or the site root."),
    timeout: float = typer.Option(15.0, "--timeout", min=0.1, max=3600, help="Seconds to wait for the page."),
) -> None:
    """Say which academic system URL belongs to and which base_url to put in the config."""
    try:
        final, text, title = fetch(url, timeout=timeout)
    except DetectError as err:
        from gradewatch import exit_codes

        typer.echo(f"gradewatch: error: {err}", err=True)
        raise typer.Exit(exit_codes.SCHOOL_UNREACHABLE if err.unreachable else exit_codes.CONFIG) from None
    door = recognise_door(url if "://" in url else "http://" + url, final, text)
    if door is not None:
        typer.echo(door.summary)
        typer.echo("  put this in the config (docs/frontdoors.md):")
        typer.echo("    [schools.NAME]")
        if not any(line.startswith("system =") for line in door.toml):
            typer.echo('    system = "…"      # the academic system behind it (detect its own URL on campus)')
            typer.echo('    base_url = "…"')
        for line in door.toml:
            typer.echo(f"    {line}")
        return
    found = recognise(final, text, title)
    if found is None:
        shown = f' (page title "{title}")' if title else ""
        typer.echo(f"{final}{shown} is not a system gradewatch knows "
                   f"(known: {', '.join(sorted(systems()))}).", err=True)
        raise typer.Exit(1)
    typer.echo(f"{found.title}: system = \"{found.system}\"")
    if found.page_title:
        typer.echo(f"  page title  {found.page_title}")
    typer.echo("  put this in the config:")
    typer.echo("    [schools.NAME]")
    typer.echo(f"    system = \"{found.system}\"")
    typer.echo(f"    base_url = \"{found.base_url}\"")
