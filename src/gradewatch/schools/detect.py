"""`gradewatch detect URL`: which academic system a login page (or site root) belongs to.

Fetches the URL (following redirects), asks every registered adapter whether it recognises the
page (:meth:`SchoolAdapter.recognise`) and derives the ``base_url`` to configure
(:meth:`SchoolAdapter.base_url_from`). Nothing is posted; no login is tried.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import typer

from gradewatch.schools import systems
from gradewatch.schools.base import USER_AGENT, SchoolAdapter


class DetectError(Exception):
    """The URL could not be fetched; ``str()`` is one line for the user."""


@dataclass(frozen=True)
class Detection:
    system: str
    title: str  # the system's human name
    base_url: str
    url: str  # where the fetch ended, after redirects
    page_title: str


def fetch(url: str, *, timeout: float = 15.0) -> tuple[str, str, str]:
    """(final URL, page text, page title) of ``url``. Raises DetectError when it cannot be fetched."""
    if "://" not in url:
        url = "http://" + url
    try:
        with httpx.Client(headers={"User-Agent": USER_AGENT, "Accept-Language": "zh-CN,zh;q=0.9"},
                          timeout=timeout, follow_redirects=True) as client:
            resp = client.get(url)
    except httpx.InvalidURL as err:
        raise DetectError(f"not a usable URL: {url} ({err})") from None
    except httpx.HTTPError as err:
        raise DetectError(f"cannot reach {url}: {type(err).__name__}") from None
    if resp.status_code >= 500:
        raise DetectError(f"{url} answered HTTP {resp.status_code}")
    text = SchoolAdapter.text_of(resp)
    return str(resp.url), text, SchoolAdapter.page_title(SchoolAdapter.html(text))


def recognise(url: str, text: str, page_title: str = "") -> Detection | None:
    """The first registered system that recognises this page, or None."""
    for name, cls in sorted(systems().items()):
        if cls.recognise(url, text):
            return Detection(name, cls.title, cls.base_url_from(url), url, page_title)
    return None


def detect(url: str, *, timeout: float = 15.0) -> tuple[Detection | None, str, str]:
    """(detection or None, final URL, page title). Raises DetectError when the URL cannot be fetched."""
    final, text, title = fetch(url, timeout=timeout)
    return recognise(final, text, title), final, title


def detect_command(
    url: str = typer.Argument(..., help="The school's login page or the site root."),
    timeout: float = typer.Option(15.0, "--timeout", min=0.1, help="Seconds to wait for the page."),
) -> None:
    """Say which academic system URL belongs to and which base_url to put in the config."""
    try:
        found, final, title = detect(url, timeout=timeout)
    except DetectError as err:
        typer.echo(f"gradewatch: error: {err}", err=True)
        raise typer.Exit(2) from None
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
