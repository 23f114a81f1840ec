"""Bark (iOS), Telegram, ntfy, and generic JSON/form webhooks with a configurable success rule."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

from gradewatch.notify.channels.base import (
    DeliveryError,
    HttpChannel,
    Limits,
    Message,
    Request,
    SuccessRule,
    UrlError,
    mask,
    query,
)


def _segments(url: str) -> list[str]:
    parts = urlsplit(url)
    return [p for p in (parts.netloc.rsplit("@", 1)[-1] + parts.path).split("/") if p]


class Bark(HttpChannel):
    """``bark://KEY``, ``bark://HOST/KEY`` / ``barks://HOST/KEY`` (self-hosted) or ``https://api.day.app/KEY``."""

    label = "Bark"
    schemes = ("bark", "barks")
    hosts = ("api.day.app",)
    body_format = "text"
    limits = Limits(body=3000, unit="bytes", title=100)  # APNs takes 4 KB for the whole payload
    default_base = "https://api.day.app"
    rule = SuccessRule("code", ok=(200,), permanent=frozenset({400}))
    confirmed_by = "`code` 200 in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        segs = _segments(url)
        scheme = url.split("://", 1)[0].lower()
        host = None
        if scheme in ("http", "https"):
            host, key = f"{scheme}://{segs[0]}", (segs[1] if len(segs) > 1 else "")
        elif len(segs) >= 2:
            host, key = f"{'https' if scheme == 'barks' else 'http'}://{segs[0]}", segs[1]
        else:
            key = segs[0] if segs else ""
        if not re.match(r"^[0-9A-Za-z]{8,64}$", key):
            raise UrlError("not a Bark device key (the part after api.day.app/)")
        self.key = key
        super().__init__(url, base or host)

    def describe(self) -> str:
        return f"{self.label} {mask(self.key)}"

    def build(self, msg: Message) -> Request:
        return Request("POST", f"{self.base}/push",
                       json={"device_key": self.key, "title": msg.subject, "body": msg.text, "group": "gradewatch"})


class Telegram(HttpChannel):
    """``tgram://BOT_TOKEN/CHAT_ID``."""

    label = "Telegram"
    schemes = ("tgram", "telegram")
    hosts = ("api.telegram.org",)
    body_format = "text"
    limits = Limits(body=4096, unit="chars")
    title_in_body = True
    default_base = "https://api.telegram.org"
    rule = SuccessRule("ok", ok=(True,), error_field="error_code", permanent=frozenset({400, 401, 403, 404}))
    confirmed_by = "`ok` true in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        segs = _segments(url)
        if url.lower().startswith("http"):  # https://api.telegram.org/bot<TOKEN>/sendMessage?chat_id=…
            token = segs[1].removeprefix("bot") if len(segs) > 1 else ""
            chat = query(url).get("chat_id", "")
        else:
            token, chat = (segs[0], segs[1]) if len(segs) >= 2 else ("".join(segs), "")
        if not re.match(r"^\d{5,}:[A-Za-z0-9_-]{30,}$", token):
            raise UrlError("not a Telegram bot token (123456:ABC… from @BotFather)")
        if not re.match(r"^(-?\d+|@[A-Za-z0-9_]{5,})$", chat):
            raise UrlError("Telegram needs a chat id after the token (a number, or @channelname)")
        self.token, self.chat = token, chat
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} bot {self.token.split(':')[0]} → {self.chat}"

    def build(self, msg: Message) -> Request:
        return Request("POST", f"{self.base}/bot{self.token}/sendMessage",
                       json={"chat_id": self.chat, "text": msg.text, "disable_web_page_preview": True})


class Ntfy(HttpChannel):
    """``ntfy://TOPIC`` (ntfy.sh), ``ntfy://HOST/TOPIC`` / ``ntfys://HOST/TOPIC`` or ``https://ntfy.sh/TOPIC``."""

    label = "ntfy"
    schemes = ("ntfy", "ntfys")
    hosts = ("ntfy.sh",)
    body_format = "text"
    limits = Limits(body=4096, unit="bytes", title=200)  # longer messages become attachments
    default_base = "https://ntfy.sh"
    rule = SuccessRule("event", ok=("message",), error_field="code",
                       permanent=frozenset({40101, 40301, 40003, 40009, 40010}))
    confirmed_by = "`event` \"message\" in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        segs = _segments(url)
        scheme = url.split("://", 1)[0].lower()
        host = None
        if scheme in ("http", "https"):
            host = f"{scheme}://{segs[0]}"
            topic = segs[1] if len(segs) > 1 else ""
        elif len(segs) >= 2:
            host, topic = f"{'https' if scheme == 'ntfys' else 'http'}://{segs[0]}", segs[1]
        else:
            topic = "".join(segs)
        if not re.match(r"^[-_A-Za-z0-9]{1,64}$", topic):
            raise UrlError("not an ntfy topic (letters, digits, - and _)")
        self.topic = topic
        super().__init__(url, base or host)

    def describe(self) -> str:
        return f"{self.label} {self.base.split('://')[-1]}/{mask(self.topic)}"

    def build(self, msg: Message) -> Request:
        return Request("POST", f"{self.base}/", json={"topic": self.topic, "title": msg.subject, "message": msg.text})


class Webhook(HttpChannel):
    """``json://HOST/PATH`` / ``jsons://…`` (JSON) or ``form://`` / ``forms://`` (form fields).

    ``?success=FIELD:VALUE`` (dotted FIELD) is the success rule; without it any 2xx counts.
    ``?permanent=CODE,CODE`` lists answer codes that stop retrying; ``?limit=N`` bytes per message.
    """

    label = "webhook"
    schemes = ("json", "jsons", "form", "forms")
    body_format = "text"
    limits = Limits(body=65536, unit="bytes", title=200)
    title_in_body = False
    confirmed_by = "HTTP 2xx, and `?success=FIELD:VALUE` in the JSON answer when given"

    def __init__(self, url: str, base: str | None = None) -> None:
        scheme = url.split("://", 1)[0].lower()
        parts = urlsplit(url)
        if not parts.hostname:
            raise UrlError("a webhook URL needs a host: json://HOST/PATH")
        q = query(url)
        self.form = scheme.startswith("form")
        self.path = parts.path or "/"
        self.success: tuple[str, str] | None = None
        if "success" in q:
            fld, sep, value = q["success"].partition(":")
            if not sep or not fld:
                raise UrlError("success= must be FIELD:VALUE, e.g. success=code:0")
            self.success = (fld, value)
        try:
            permanent = frozenset(q["permanent"].split(",")) if q.get("permanent") else frozenset()
            limit = int(q.get("limit", "65536"))
        except ValueError:
            raise UrlError("limit= must be a number of bytes") from None
        if limit < 256:
            raise UrlError("limit= must be at least 256 bytes")
        self.limits = Limits(body=limit, unit="bytes", title=200)  # type: ignore[misc]
        self.rule = SuccessRule(self.success[0] if self.success else "", ok=(), permanent=permanent)  # type: ignore[misc]
        netloc = parts.netloc.rsplit("@", 1)[-1]
        super().__init__(url, base or f"{'https' if scheme.endswith('s') else 'http'}://{netloc}")
        self._auth = (unquote(parts.username), unquote(parts.password or "")) if parts.username else None

    def describe(self) -> str:
        return f"{self.label} {self.base.split('://')[-1]}{self.path}"

    def build(self, msg: Message) -> Request:
        fields = {"title": msg.subject, "message": msg.text, "type": "info"}
        if self.form:
            return Request("POST", self.base + self.path, form=fields, auth=self._auth)
        return Request("POST", self.base + self.path, json=fields, auth=self._auth)

    def check(self, r: Any) -> None:
        where = f"{self.describe()}: HTTP {r.status_code}"
        if not r.is_success:
            raise DeliveryError(where, permanent=r.status_code in (401, 403, 404, 410))
        if self.success is None:
            return
        try:
            body = r.json()
        except ValueError:
            raise DeliveryError(f"{where}: answer is not JSON, cannot read {self.success[0]}") from None
        got = self.rule.value(body)
        if got is not None and str(got).lower() == self.success[1].lower():
            return
        text = f"{where}, {self.success[0]} {got!r}" + (f": {self.rule.text(body)}" if self.rule.text(body) else "")
        raise DeliveryError(text, permanent=str(got) in self.rule.permanent)
