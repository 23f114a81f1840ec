"""Sign-up with a pasted URL: find the school's system with `detect`, and keep the school in the
operator's config once one login through it has succeeded (``gradewatch web --allow-detect``).

A public page that fetches any URL a visitor types can be made to probe the operator's own network,
so addresses that are not public (loopback, private, link-local) are refused unless the operator
says otherwise (``--detect-private``, for a campus-internal deployment and for the tests).
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gradewatch.config import ConfigError, SchoolConfig, load_config

#: How long the detection may take: the student is waiting on the page.
DETECT_TIMEOUT_S = 10.0


class SchoolUrlError(Exception):
    """What to tell the student about the pasted URL (one sentence)."""


@dataclass(frozen=True)
class DetectedSchool:
    key: str  # the config's name for it
    school: SchoolConfig
    new: bool  # not in the config yet: added once a login through it succeeded


def host_is_private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except (socket.gaierror, UnicodeError):
        raise SchoolUrlError(f"the address {host} does not resolve") from None
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global:
            return True
    return False


def _check_public(url: str, allow_private: bool) -> None:
    host = urlsplit(url if "://" in url else "http://" + url).hostname
    if not host:
        raise SchoolUrlError("that is not a web address")
    if not allow_private and host_is_private(host):
        raise SchoolUrlError("that address is not on the public internet")


def _key_for(base_url: str, taken: set[str]) -> str:
    host = urlsplit(base_url).hostname or "school"
    key = re.sub(r"[^a-z0-9]+", "_", host.lower()).strip("_") or "school"
    candidate, n = key, 2
    while candidate in taken:
        candidate, n = f"{key}_{n}", n + 1
    return candidate


def detect_school(url: str, known: dict[str, SchoolConfig], *, allow_private: bool) -> DetectedSchool:
    """The school behind ``url``: one of ``known`` when its base URL matches, else a new entry.
    Raises SchoolUrlError with what to tell the student."""
    from gradewatch.schools.detect import DetectError, detect

    url = url.strip()
    if not url.lower().startswith(("http://", "https://")):
        url = "http://" + url
    _check_public(url, allow_private)

    def public_only(request: Any) -> None:  # every redirect's target too, before it is fetched
        _check_public(str(request.url), allow_private)

    try:
        found, _final, _title = detect(url, timeout=DETECT_TIMEOUT_S, before_request=public_only)
    except DetectError as err:
        raise SchoolUrlError(str(err)) from None
    if found is None:
        raise SchoolUrlError("no academic system gradewatch knows answers at that address "
                             "(a CAS or WebVPN sign-in page needs the operator to set the school up)")
    _check_public(found.base_url, allow_private)  # where the redirects ended, too
    for key, school in known.items():
        if school.system == found.system and school.base_url.rstrip("/") == found.base_url.rstrip("/"):
            return DetectedSchool(key, school, new=False)
    school = SchoolConfig.model_validate({"system": found.system, "base_url": found.base_url})
    return DetectedSchool(_key_for(found.base_url, set(known)), school, new=True)


def remember_school(config_path: Path, found: DetectedSchool, source_url: str) -> None:
    """Append the school to the operator's config file (after a login through it succeeded); the
    file is put back as it was if it would no longer load."""
    before = config_path.read_text(encoding="utf-8")
    when = datetime.now(UTC).strftime("%Y-%m-%d")
    # json.dumps gives a TOML basic string for any text (same escapes); '#' lines are comments.
    section = (f"\n# Added by `gradewatch web` at a sign-up on {when}, detected from {json.dumps(source_url)}\n"
               f"[schools.{found.key}]\nsystem = {json.dumps(found.school.system)}\n"
               f"base_url = {json.dumps(found.school.base_url)}\n")
    config_path.write_text(before.rstrip("\n") + "\n" + section, encoding="utf-8")
    try:
        load_config(config_path)
    except ConfigError:
        config_path.write_text(before, encoding="utf-8")
        raise
