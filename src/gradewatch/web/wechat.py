"""The WeChat official account (公众号) message endpoint: WeChat's signature check, XML messages,
binding a WeChat user to a gradewatch account with a code shown on the web page, and replies to
``成绩``, ``绩点`` and ``新成绩``.

WeChat signs each request with sha1 of the sorted (token, timestamp, nonce); it sends plain-text
mode XML (``ToUserName``, ``FromUserName`` = the user's openid, ``CreateTime``, ``MsgType``,
``Content``) and expects an XML reply with the two user names swapped. Parsed with defusedxml:
the body comes from the internet.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from html import escape
from pathlib import Path

from defusedxml import ElementTree

#: WeChat drops a reply that is later than 5 s; keep replies short (its text limit is 2048 bytes).
MAX_REPLY_BYTES = 2000


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


def signed(token: str, params: dict[str, str]) -> bool:
    expected = signature(token, params.get("timestamp", ""), params.get("nonce", ""))
    return hmac.compare_digest(expected, params.get("signature", ""))


@dataclass(frozen=True)
class Incoming:
    to_user: str
    from_user: str
    msg_type: str
    content: str


class WechatError(ValueError):
    pass


def parse(body: bytes) -> Incoming:
    try:
        root = ElementTree.fromstring(body)
    except Exception as err:  # defusedxml raises its own and expat's errors
        raise WechatError(f"not a WeChat XML message ({type(err).__name__})") from None

    def text(tag: str) -> str:
        node = root.find(tag)
        return (node.text or "").strip() if node is not None else ""

    if not text("FromUserName"):
        raise WechatError("no FromUserName")
    return Incoming(text("ToUserName"), text("FromUserName"), text("MsgType"), text("Content"))


def reply(incoming: Incoming, content: str) -> str:
    data = content.encode("utf-8")
    if len(data) > MAX_REPLY_BYTES:
        content = data[: MAX_REPLY_BYTES - 3].decode("utf-8", errors="ignore") + "…"
    return (f"<xml><ToUserName><![CDATA[{incoming.from_user}]]></ToUserName>"
            f"<FromUserName><![CDATA[{incoming.to_user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{escape(content, quote=False)}]]></Content></xml>")


class Bindings:
    """openid → account, kept in a 0600 JSON file; one-time bind codes live in memory for 10 minutes."""

    CODE_TTL = 600.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self._codes: dict[str, tuple[str, float]] = {}
        self._map: dict[str, str] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def code_for(self, account: str) -> str:
        code = f"{secrets.randbelow(10**6):06d}"
        self._codes[code] = (account, time.monotonic() + self.CODE_TTL)
        return code

    def bind(self, openid: str, code: str) -> str | None:
        entry = self._codes.pop(code.strip(), None)
        if entry is None or entry[1] < time.monotonic():
            return None
        self._map[openid] = entry[0]
        self._save()
        return entry[0]

    def account_of(self, openid: str) -> str | None:
        return self._map.get(openid)

    def forget_account(self, account: str) -> None:
        self._map = {k: v for k, v in self._map.items() if v != account}
        self._save()

    def _save(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(self._map, fh)
        os.replace(tmp, self.path)
