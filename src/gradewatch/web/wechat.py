"""The WeChat official account (公众号) message endpoint: WeChat's signature check, XML messages,
binding a WeChat user to a gradewatch account with a code shown on the web page, and replies to
``成绩``, ``绩点`` and ``新成绩``.

WeChat signs each request with sha1 of the sorted (token, timestamp, nonce); it sends plain-text
mode XML (``ToUserName``, ``FromUserName`` = the user's openid, ``CreateTime``, ``MsgType``,
``Content``) and expects an XML reply with the two user names swapped. Parsed with defusedxml:
the body comes from the internet.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from defusedxml import ElementTree

from gradewatch.store import wechat_bindings as wechat_store
from gradewatch.store.db import Store

log = logging.getLogger(__name__)

#: Openids are 28 characters; anything longer is not WeChat's. Nonces are about ten.
MAX_OPENID = 64
MAX_NONCE = 64
#: WeChat drops a reply that is later than 5 s; keep replies short (its text limit is 2048 bytes).
MAX_REPLY_BYTES = 2000


def signature(token: str, timestamp: str, nonce: str) -> str:
    return hashlib.sha1("".join(sorted([token, timestamp, nonce])).encode()).hexdigest()


#: How far a request's timestamp may be from our clock. WeChat's signature covers the token, the
#: timestamp and the nonce, not the body: a signed URL seen once must not be good for ever.
SIGNATURE_WINDOW_S = 300


def signed(token: str, params: dict[str, str], *, now: float | None = None) -> bool:
    expected = signature(token, params.get("timestamp", ""), params.get("nonce", ""))
    if not hmac.compare_digest(expected, params.get("signature", "")):
        return False
    ts = params.get("timestamp", "")
    return ts.isascii() and ts.isdigit() and abs((time.time() if now is None else now) - int(ts)) <= SIGNATURE_WINDOW_S


class Replays:
    """Each signed (timestamp, nonce) speaks for one WeChat user. WeChat repeats a message it got no
    reply to within 5 s with the same URL (the same user: allowed); the same URL with another user's
    FromUserName is someone who captured it and wrote their own body. In the database: every
    process answering /wechat knows every URL seen."""

    KEEP = timedelta(seconds=2 * SIGNATURE_WINDOW_S)

    def __init__(self, store: Store) -> None:
        self.store = store

    def fresh(self, timestamp: str, nonce: str, from_user: str) -> bool:
        if len(nonce) > MAX_NONCE:  # stored with the URL (`signed` already bounds the timestamp)
            return False
        return wechat_store.first_user(self.store, timestamp, nonce, from_user, self.KEEP) == from_user


class BindTries:
    """At most ``limit`` `绑定` tries per WeChat user per ``window``, counted in the database."""

    def __init__(self, store: Store, limit: int = 5, window: timedelta = timedelta(minutes=10)) -> None:
        self.store, self.limit, self.window = store, limit, window

    def allow(self, openid: str) -> bool:
        return wechat_store.bind_try(self.store, openid, self.limit, self.window)


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
    if len(text("FromUserName")) > MAX_OPENID:  # it is stored with a binding (100 characters)
        raise WechatError("FromUserName is no openid")
    return Incoming(text("ToUserName"), text("FromUserName"), text("MsgType"), text("Content"))


def reply(incoming: Incoming, content: str) -> str:
    data = content.encode("utf-8")
    if len(data) > MAX_REPLY_BYTES:
        content = data[: MAX_REPLY_BYTES - 3].decode("utf-8", errors="ignore") + "…"
    return (f"<xml><ToUserName><![CDATA[{incoming.from_user}]]></ToUserName>"
            f"<FromUserName><![CDATA[{incoming.to_user}]]></FromUserName><CreateTime>{int(time.time())}</CreateTime>"
            f"<MsgType><![CDATA[text]]></MsgType><Content>{_cdata(content)}</Content></xml>")


def _cdata(text: str) -> str:
    """Text as CDATA, shown as is (C&C++ stays C&C++: nothing inside CDATA is unescaped); a "]]>" in
    it is split across two sections."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class Bindings:
    """openid → account, and the one-time bind codes (10 minutes), in the database
    (store/wechat_bindings.py): every web process sees the same. A ``wechat-bindings.json`` of an
    earlier version is taken into the database once and renamed."""

    CODE_TTL = timedelta(minutes=10)

    def __init__(self, store: Store, legacy_file: Path | None = None) -> None:
        self.store = store
        if legacy_file is not None and legacy_file.exists():
            self._import(legacy_file)

    def _import(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            log.warning("%s: not read (%s); its WeChat bindings are not taken over", path, type(err).__name__)
            return
        if not isinstance(data, dict):
            log.warning("%s: not a map of bindings; its WeChat bindings are not taken over", path)
            return
        skipped = wechat_store.import_bindings(self.store, data)
        if skipped:
            log.warning("%s: %d entries are no WeChat binding and were skipped", path, skipped)
        with contextlib.suppress(OSError):  # another process starting at once may have moved it
            path.rename(path.with_name(path.name + ".imported"))

    def code_for(self, account: str) -> str:
        """A new 6-digit code for ``account``; its older codes end, and it never takes over another
        account's live code (that student would bind to this account)."""
        return wechat_store.new_code(self.store, account, lambda: f"{secrets.randbelow(10**6):06d}", self.CODE_TTL)

    def bind(self, openid: str, code: str) -> str | None:
        account = wechat_store.spend_code(self.store, code.strip())
        if account is not None:
            wechat_store.bind(self.store, openid, account)
        return account

    def account_of(self, openid: str) -> str | None:
        return wechat_store.account_of(self.store, openid)

    def forget_account(self, account: str) -> None:
        wechat_store.forget_account(self.store, account)
