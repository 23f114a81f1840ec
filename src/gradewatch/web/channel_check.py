"""What a student may give as a notification channel on the web pages.

A channel URL names the host gradewatch will send to, and "Send a test" shows what that host
answered. From a student, such a URL must not reach the club's own network (loopback, private,
link-local addresses: the database, a cloud's metadata service, an admin page), unless the
operator runs a campus-internal deployment (``--private-channels``). The services' own public
hosts (Server酱, PushPlus, …) are not looked up: only a host the URL chose itself (``base=``, a
self-hosted Bark or ntfy, a webhook, an SMTP server, an Apprise URL) is. The check runs when the
URL is given and again before "Send a test", which catches a record changed since. Not caught (no
DNS pinning: the connection resolves the name again): a rebinding name that answers the check and
the connection differently, and the sends of new grades (which show the student no answer).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gradewatch.notify.channels import UrlError, channel_for, validate_url
from gradewatch.web.detect_school import SchoolUrlError, host_is_private


def _hosts(channel: Any) -> list[str]:
    """The hosts a channel will connect to that the URL chose (not its service's default)."""
    hosts = []
    base = getattr(channel, "base", "")
    if base and base.rstrip("/") != str(getattr(channel, "default_base", "")).rstrip("/"):
        hosts.append(urlsplit(base).hostname or "")
    cfg = getattr(channel, "cfg", None)  # mail: Apprise's email plugin
    if cfg is not None:
        hosts.append(getattr(cfg, "smtp_host", "") or getattr(cfg, "host", "") or "")
    obj = getattr(channel, "_obj", None)  # any other Apprise service
    if obj is not None and getattr(obj, "host", None):
        hosts.append(str(obj.host))
    return [h for h in hosts if h]


def channel_problem(url: str, *, allow_private: bool) -> str | None:
    """Why this student-given URL cannot be a channel (None: it can)."""
    reason = validate_url(url)
    if reason:
        return reason
    if allow_private:
        return None
    try:
        channel = channel_for(url)
    except UrlError as err:
        return str(err)
    for host in _hosts(channel):
        try:
            if host_is_private(host):
                return f"{host} is not on the public internet"
        except SchoolUrlError as err:
            return str(err)
    return None
