"""Delivering one message to one notification URL.

Our own channel classes (one shared base, facts as data) handle e-mail and every push service in
``CHANNELS``: they accept our scheme and the service's own webhook URL as users copy it, and they
count a message delivered only when the service's answer says so. Any other scheme Apprise knows
still goes through Apprise (which can only report what HTTP status it got).
"""

from __future__ import annotations

import fnmatch
import re
import threading
from urllib.parse import urlsplit

from gradewatch.notify.channels.base import (
    Channel,
    DeliveryError,
    Limits,
    Message,
    UrlError,
)
from gradewatch.notify.channels.bots import DingTalk, Feishu, WeComApp, WeComBot
from gradewatch.notify.channels.cn_push import PushPlus, ServerChan, ServerChan3, WxPusher, is_serverchan3_key
from gradewatch.notify.channels.email import Email, split_recipients
from gradewatch.notify.channels.intl import Bark, Ntfy, Telegram, Webhook
from gradewatch.notify.channels.wechat_mp import WeChatTemplate

__all__ = ["CHANNELS", "Channel", "DeliveryError", "Limits", "Message", "UrlError", "channel_for", "deliver",
           "redact", "split_recipients", "validate_url"]

EMAIL_SCHEMES = Email.schemes
CHANNELS: tuple[type[Channel], ...] = (Email, ServerChan, ServerChan3, PushPlus, WxPusher, WeComBot, WeComApp,
                                       DingTalk, Feishu, Bark, Telegram, Ntfy, Webhook, WeChatTemplate)


class AppriseChannel(Channel):
    """A scheme only Apprise knows: delivered through Apprise, confirmed by what it reports."""

    label = "Apprise"
    body_format = "text"
    limits = Limits(body=4000, unit="chars", title=200)
    confirmed_by = "whatever Apprise reports (usually the HTTP status only)"

    def __init__(self, url: str) -> None:
        import apprise

        self.url = url
        obj = apprise.Apprise.instantiate(url)
        if obj is None:
            raise UrlError("unknown notification URL (not one of gradewatch's channels, and Apprise does not "
                           "understand it either: see docs/notify.md)")
        self._obj = obj
        self.name = f"Apprise {getattr(obj, 'service_name', '')}".strip()
        body_max = int(getattr(obj, "body_maxlen", 0) or 0)
        if body_max:  # Apprise knows the service's limit: split to it rather than let Apprise cut
            self.limits = Limits(body=body_max, unit="chars",  # type: ignore[misc]
                                 title=int(getattr(obj, "title_maxlen", 0) or 0))

    def describe(self) -> str:
        return str(self._obj.url(privacy=True)).split("?", 1)[0]

    def send(self, msg: Message, *, timeout: float) -> None:
        import apprise

        # Apprise waits 4 s for a connection and 4 s for each read, whatever we allow a send: a
        # service that answers in 6 s failed every attempt. Ours apply unless the URL set its own
        # (compared with what Apprise parsed: it reads RTO= in any case and ignores bad values).
        cls = type(self._obj)
        if self._obj.socket_read_timeout == cls.socket_read_timeout:
            self._obj.socket_read_timeout = timeout
        if self._obj.socket_connect_timeout == cls.socket_connect_timeout:
            self._obj.socket_connect_timeout = timeout
        ap = apprise.Apprise()
        ap.add(self._obj)
        outcome: list[tuple[bool, str]] = []
        failure: list[BaseException] = []

        def notify() -> None:
            try:
                with apprise.LogCapture(level=apprise.logging.WARNING) as logs:
                    done = ap.notify(title=msg.subject, body=msg.text, body_format=apprise.NotifyFormat.TEXT)
                outcome.append((bool(done), logs.getvalue()))
            except BaseException as err:  # noqa: BLE001 - raised again in the caller's thread
                failure.append(err)

        # Timeouts bound each read; a service dribbling its answer would hold the send (and the
        # drain behind it) for ever. Past the deadline the send counts as failed (and is retried:
        # if the late answer was a success, the retry is a second copy, as for a lost answer).
        worker = threading.Thread(target=notify, name="apprise-send", daemon=True)
        worker.start()
        worker.join(timeout)
        if worker.is_alive():
            raise DeliveryError(f"{self.describe()}: no complete answer within {timeout:g} s")
        if failure:
            raise failure[0]
        ok, captured = outcome[0]
        if not ok:
            detail = captured.strip().splitlines()
            raise DeliveryError(f"{self.describe()}: " + (detail[-1] if detail else "not delivered"))


def channel_class(url: str) -> type[Channel] | None:
    """Which of our channel classes takes this URL (by scheme, or by the service's own host)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in ("http", "https"):
        host = (urlsplit(url).hostname or "").lower()
        for cls in CHANNELS:
            if any(fnmatch.fnmatch(host, pattern) for pattern in cls.hosts):
                if cls is ServerChan and is_serverchan3_key(url):
                    return ServerChan3
                return cls
        return None
    for cls in CHANNELS:
        if scheme in cls.schemes:
            if cls is ServerChan and is_serverchan3_key(url):
                return ServerChan3
            return cls
    return None


def channel_for(url: str) -> Channel:
    """The parsed channel for ``url``; raises UrlError with a reason that holds no secret."""
    if "://" not in url:
        raise UrlError("not a notification URL (expected e.g. mailtos://… or schan://SENDKEY)")
    cls = channel_class(url)
    if cls is None:
        try:
            return AppriseChannel(url)
        except UrlError as err:
            hint = _scheme_hint(url.split("://", 1)[0].lower())
            raise UrlError(f"{err}{hint}") from None
    return cls(url)  # type: ignore[call-arg]


_HINTS = {"serverchan": "schan", "sct": "schan", "ftqq": "schan", "wecom": "wecombot", "wework": "wecombot",
          "qywx": "wecombot", "ding": "dingtalk", "lark": "feishu", "telegram": "tgram", "email": "mailtos",
          "smtp": "mailtos", "webhook": "json"}


def _scheme_hint(scheme: str) -> str:
    import difflib

    known = sorted({s for cls in CHANNELS for s in cls.schemes})
    guess = _HINTS.get(scheme) or next(iter(difflib.get_close_matches(scheme, known, n=1, cutoff=0.6)), None)
    return f"; did you mean {guess}://?" if guess else ""


def url_from_key(text: str) -> str | None:
    """The notification URL of a bare service key as users copy it (a Server酱 SendKey ``SCT…`` or a
    Server酱³ ``sctp{uid}t…`` key); None when ``text`` is no such key."""
    key = text.strip()
    if re.fullmatch(r"SCT\w{10,}", key) or re.fullmatch(r"sctp\d+t\w+", key):
        return f"https://sctapi.ftqq.com/{key}.send"
    return None


def validate_url(url: str) -> str | None:
    """None when a channel takes the URL, else the reason."""
    try:
        channel_for(url)
    except UrlError as err:
        return str(err)
    return None


def redact(url: str) -> str:
    """A notification URL's channel with its secrets masked, for logs and `status` output."""
    try:
        return channel_for(url).describe()
    except UrlError:
        return url.split("://", 1)[0] + "://…"


def deliver(url: str, msg: Message, *, timeout: float = 20.0) -> None:
    try:
        channel = channel_for(url)
    except UrlError as err:
        raise DeliveryError(f"{url.split('://', 1)[0]}://…: {err}", permanent=True) from None
    channel.send(msg, timeout=timeout)
