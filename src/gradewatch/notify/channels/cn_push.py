"""Push services that forward to WeChat: Server酱 (Turbo and ³), PushPlus, WxPusher."""

from __future__ import annotations

import logging
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import ClassVar
from urllib.parse import urlsplit

import httpx

from gradewatch.notify.channels.base import (
    DeliveryError,
    HttpChannel,
    Limits,
    Message,
    Request,
    SuccessRule,
    UrlError,
    answer_json,
    mask,
    query,
)

log = logging.getLogger(__name__)

_SCT = re.compile(r"^SCT[0-9A-Za-z]{8,}$")
_SC3 = re.compile(r"^sctp(\d+)t[0-9A-Za-z]{8,}$")


def _path_key(url: str) -> str:
    parts = urlsplit(url)
    return (parts.netloc + parts.path).strip("/")


class ServerChan(HttpChannel):
    """Server酱 Turbo: SendKey ``SCT…``; ``sctp{uid}t…`` keys belong to Server酱³ (own endpoint)."""

    label = "Server酱"
    schemes = ("schan",)
    hosts = ("sctapi.ftqq.com",)
    body_format = "markdown"
    limits = Limits(body=32 * 1024, unit="bytes", title=32)
    default_base = "https://sctapi.ftqq.com"
    rule = SuccessRule("code", ok=(0,), permanent=frozenset({40001}))
    confirmed_by = "`code` 0 in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        key = _sendkey(url)
        if _SC3.match(key):
            raise UrlError("this is a Server酱³ key (sctp…): use it the same way, it is routed to Server酱³")
        if not _SCT.match(key):
            raise UrlError("not a Server酱 SendKey (expected SCT… or sctp{uid}t…)")
        self.key = key
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.key)}"

    def endpoint(self) -> str:
        return f"{self.base}/{self.key}.send"

    def build(self, msg: Message) -> Request:
        return Request("POST", self.endpoint(), form={"title": msg.subject, "desp": msg.text})

    def check(self, r: httpx.Response) -> None:
        body = answer_json(r)
        said = str(body.get("message") or body.get("info") or "") if isinstance(body, dict) else ""
        if body is not None and _DAILY_QUOTA.search(said):
            # The free plan's daily quota answers with the bad-key code (40001, "[AUTH]超过当天的发送次数
            # 限制[5]", seen by published clients) or 471: it comes back at midnight Beijing time, so
            # the message waits for then instead of failing for good as a wrong SendKey would.
            raise DeliveryError(f"{self.describe()}: HTTP {r.status_code}, daily quota used up: {said[:120]}",
                                retry_after=until_next_day_in_china)
        super().check(r)


class ServerChan3(ServerChan):
    label = "Server酱³"
    hosts = ("*.push.ft07.com",)

    def __init__(self, url: str, base: str | None = None) -> None:
        key = _sendkey(url)
        m = _SC3.match(key)
        if not m:
            raise UrlError("not a Server酱³ SendKey (expected sctp{uid}t…)")
        self.key, self.uid = key, m.group(1)
        HttpChannel.__init__(self, url, base or query(url).get("base") or f"https://{self.uid}.push.ft07.com")

    def endpoint(self) -> str:
        return f"{self.base}/send/{self.key}.send"


_DAILY_QUOTA = re.compile("发送次数|次数限制|quota", re.IGNORECASE)
_CHINA = timezone(timedelta(hours=8))  # no daylight saving time: a fixed offset is exact


def until_next_day_in_china(now: datetime | None = None) -> timedelta:
    """From ``now`` (UTC) to a few minutes past the next midnight in Beijing, spread over half an hour
    so that every account's waiting message does not arrive in the same second."""
    now = now or datetime.now(UTC)
    local = now.astimezone(_CHINA)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return midnight - local + timedelta(minutes=30 * random.random())


def _sendkey(url: str) -> str:
    """The SendKey of ``schan://KEY``, ``https://sctapi.ftqq.com/KEY.send`` or the ³ endpoint."""
    path = _path_key(url)
    if url.lower().startswith(("http://", "https://")):
        path = urlsplit(url).path.strip("/").removeprefix("send/")
    return path.removesuffix(".send")


def is_serverchan3_key(url: str) -> bool:
    return bool(_SC3.match(_sendkey(url)))


class PushPlus(HttpChannel):
    label = "PushPlus"
    schemes = ("pushplus",)
    hosts = ("www.pushplus.plus", "pushplus.plus")
    body_format = "html"
    limits = Limits(body=20000, unit="chars", title=100)
    default_base = "https://www.pushplus.plus"
    rule = SuccessRule("code", ok=(200,), permanent=frozenset({302, 401, 403, 805, 888, 903, 905, 907, 908, 912}))
    confirmed_by = "`code` 200 in the JSON answer"
    _TOKEN: ClassVar[re.Pattern[str]] = re.compile(r"^[0-9A-Za-z]{16,64}$")

    def __init__(self, url: str, base: str | None = None) -> None:
        token = query(url).get("token") if url.lower().startswith("http") else _path_key(url)
        if not token or not self._TOKEN.match(token):
            raise UrlError("not a PushPlus token (32 letters/digits from pushplus.plus)")
        self.token = token
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.token)}"

    def build(self, msg: Message) -> Request:
        body = {"token": self.token, "title": msg.subject, "content": msg.html, "template": "html"}
        return Request("POST", f"{self.base}/send", json=body)


class WxPusher(HttpChannel):
    """``wxpusher://AT_APPTOKEN/UID_user[/topicid…]``."""

    label = "WxPusher"
    schemes = ("wxpusher",)
    body_format = "markdown"
    limits = Limits(body=40000, unit="chars", title=20)  # the summary: WeChat shows 20 characters
    default_base = "https://wxpusher.zjiecode.com"
    rule = SuccessRule("code", ok=(1000,), permanent=frozenset({1001, 1002, 1004, 1005, 1010}))
    confirmed_by = "`code` 1000 (`success` true) in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        token, *targets = [p for p in _path_key(url).split("/") if p]
        if not re.match(r"^AT_[0-9A-Za-z]{10,}$", token):
            raise UrlError("not a WxPusher appToken (expected AT_…)")
        self.token = token
        self.uids = [t for t in targets if t.startswith("UID_")]
        self.topics = [int(t) for t in targets if t.isdigit()]
        bad = [t for t in targets if not (t.startswith("UID_") or t.isdigit())]
        if bad or not targets:
            raise UrlError("WxPusher needs recipients: UID_… user ids or numeric topic ids after the appToken")
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.token)}"

    def build(self, msg: Message) -> Request:
        body = {"appToken": self.token, "content": msg.text, "summary": msg.subject, "contentType": 3,
                "uids": self.uids, "topicIds": self.topics}
        return Request("POST", f"{self.base}/api/send/message", json=body)

    def check(self, r: httpx.Response) -> None:
        super().check(r)
        # Code 1000 at the top means the request was valid; each recipient has its own verdict in
        # data[] (the vendor's SDK: MessageResult.isSuccess per entry). None accepted: not delivered.
        data = (answer_json(r) or {}).get("data")
        entries = [e for e in data if isinstance(e, dict)] if isinstance(data, list) else []
        refused = [e for e in entries if e.get("code", 1000) != 1000]
        if entries and len(refused) == len(entries):
            codes = {e.get("code") for e in refused}
            said = str(refused[0].get("status") or refused[0].get("msg") or "")[:120]
            raise DeliveryError(f"{self.describe()}: every recipient refused, code {sorted(map(str, codes))[0]}"
                                + (f": {said}" if said else ""),
                                permanent=codes <= self.rule.permanent)
        if refused:  # delivered to the others; sending again would repeat it to them
            log.warning("%s: delivered, but %d of %d recipients refused it (code %s)", self.describe(),
                        len(refused), len(entries), refused[0].get("code"))
