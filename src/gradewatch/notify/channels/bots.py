"""Group bots and work apps: 企业微信 group bot and app, DingTalk bot (加签 optional), Feishu bot
(signed optional). Each answers HTTP 200 with ``errcode``/``code`` saying what really happened."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from urllib.parse import quote, urlsplit

import httpx

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
from gradewatch.notify.channels.token import TokenChannel

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _first_path(url: str) -> list[str]:
    parts = urlsplit(url)
    return [p for p in (parts.netloc.rsplit("@", 1)[-1] + parts.path).split("/") if p]


class WeComBot(HttpChannel):
    label = "企业微信 group bot"
    schemes = ("wecombot",)
    hosts = ("qyapi.weixin.qq.com",)
    body_format = "markdown"
    limits = Limits(body=4096, unit="bytes")
    title_in_body = True
    default_base = "https://qyapi.weixin.qq.com"
    # 93000 invalid webhook key, 93008/93009 bot removed or banned, 40008 bad message type
    rule = SuccessRule("errcode", ok=(0,), permanent=frozenset({93000, 93008, 93009, 40008, 40058}))
    confirmed_by = "`errcode` 0 in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        key = query(url).get("key", "") if url.lower().startswith("http") else "".join(_first_path(url)[:1])
        if not _UUID.match(key):
            raise UrlError("not a 企业微信 bot key (the key=… of the webhook URL, a UUID)")
        self.key = key
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.key)}"

    def build(self, msg: Message) -> Request:
        return Request("POST", f"{self.base}/cgi-bin/webhook/send?key={self.key}",
                       json={"msgtype": "markdown", "markdown": {"content": msg.text}})


class WeComApp(TokenChannel):
    """``wecomapp://CORPID:SECRET@AGENTID[/USER|@all]``: fetch an access token, then message/send."""

    label = "企业微信 app"
    schemes = ("wecomapp", "wechat")
    body_format = "text"
    limits = Limits(body=2048, unit="bytes")
    title_in_body = True
    default_base = "https://qyapi.weixin.qq.com"
    rule = SuccessRule("errcode", ok=(0,),
                       permanent=frozenset({40001, 40013, 40056, 48002, 60020, 81013, 301002}))
    confirmed_by = "`errcode` 0 from gettoken, then from message/send"
    _TOKEN_STALE = frozenset({40014, 42001})

    def __init__(self, url: str, base: str | None = None) -> None:
        parts = urlsplit(url)
        if not parts.username or not parts.password or not parts.hostname:
            raise UrlError("企业微信 app URL is wecomapp://CORPID:SECRET@AGENTID[/USER]")
        self.corpid, self.secret = parts.username, parts.password
        self.agentid = parts.hostname
        if not self.agentid.isdigit():
            raise UrlError("企业微信 app: AGENTID (after @) must be a number")
        if not re.match(r"^ww[0-9a-f]{16}$|^wx[0-9a-f]{16}$", self.corpid):
            raise UrlError("企业微信 app: CORPID is ww… (16 hex digits after ww)")
        users = [p.lstrip("@") for p in parts.path.split("/") if p]
        self.touser = "|".join(users) if users and users != ["all"] else "@all"
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {self.corpid}/{self.agentid}"

    def token_key(self) -> tuple[str, ...]:
        return (self.base, self.corpid, self.secret)

    def fetch_token(self, timeout: float) -> tuple[str, float]:
        """The app's access token (企业微信 limits gettoken calls: TokenChannel caches it)."""
        query_ = f"corpid={quote(self.corpid)}&corpsecret={quote(self.secret)}"
        answer = self._exchange(Request("GET", f"{self.base}/cgi-bin/gettoken?{query_}"), timeout)
        self.check(answer)
        try:
            data = answer.json()
            return str(data["access_token"]), float(data.get("expires_in", 7200))
        except (ValueError, KeyError, TypeError):
            raise DeliveryError(f"{self.describe()}: gettoken answered without access_token") from None

    def build_with(self, msg: Message, token: str) -> Request:
        return Request("POST", f"{self.base}/cgi-bin/message/send?access_token={token}",
                       json={"touser": self.touser, "msgtype": "text", "agentid": int(self.agentid),
                             "text": {"content": msg.text}})


class DingTalk(HttpChannel):
    """``dingtalk://TOKEN`` / ``dingtalk://SECRET@TOKEN`` or the robot URL (+ ``&secret=SEC…`` for 加签)."""

    label = "DingTalk bot"
    schemes = ("dingtalk",)
    hosts = ("oapi.dingtalk.com",)
    body_format = "markdown"
    limits = Limits(body=20000, unit="bytes", title=64)
    title_in_body = True
    default_base = "https://oapi.dingtalk.com"
    # 300001 bad token, 310000 signature / keyword / IP check failed, 300005 bot disabled
    rule = SuccessRule("errcode", ok=(0,), permanent=frozenset({300001, 300005, 310000, 400102}))
    confirmed_by = "`errcode` 0 in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        q = query(url)
        if url.lower().startswith("http"):
            token, secret = q.get("access_token", ""), q.get("secret", "")
        else:
            parts = urlsplit(url)
            token = "".join(_first_path(url)[:1])
            secret = parts.username or q.get("secret", "")
        if not re.match(r"^[0-9a-zA-Z]{32,}$", token):
            raise UrlError("not a DingTalk access_token (64 hex digits from the robot's webhook URL)")
        if secret and not re.match(r"^SEC[0-9a-zA-Z]{32,}$", secret):
            raise UrlError("DingTalk 加签 secret starts with SEC")
        self.token, self.secret = token, secret
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.token)}" + (" (加签)" if self.secret else "")

    def build(self, msg: Message) -> Request:
        url = f"{self.base}/robot/send?access_token={self.token}"
        if self.secret:
            ts = str(round(time.time() * 1000))
            digest = hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(), hashlib.sha256).digest()
            url += f"&timestamp={ts}&sign={quote(base64.b64encode(digest).decode(), safe='')}"
        return Request("POST", url, json={"msgtype": "markdown", "markdown": {"title": msg.subject, "text": msg.text}})


class Feishu(HttpChannel):
    """``feishu://TOKEN[?secret=S]`` or ``https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN``."""

    label = "Feishu bot"
    schemes = ("feishu", "lark")
    hosts = ("open.feishu.cn", "open.larksuite.com")
    body_format = "markdown"
    limits = Limits(body=18000, unit="bytes", title=100)  # the whole request must stay under 20 KB
    default_base = "https://open.feishu.cn"
    # 19001 bad token, 19021 signature, 19022 IP not allowed, 19024 keyword, 9499 malformed request
    rule = SuccessRule("code", ok=(0,), permanent=frozenset({19001, 19021, 19022, 19024, 9499}))
    confirmed_by = "`code` 0 (old API: `StatusCode` 0) in the JSON answer"

    def __init__(self, url: str, base: str | None = None) -> None:
        path = _first_path(url)
        token = path[-1] if url.lower().startswith("http") and path else "".join(path[:1])
        if not _UUID.match(token):
            raise UrlError("not a Feishu bot hook token (the UUID at the end of …/bot/v2/hook/)")
        self.token, self.secret = token, query(url).get("secret", "") or (urlsplit(url).username or "")
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {mask(self.token)}" + (" (signed)" if self.secret else "")

    def build(self, msg: Message) -> Request:
        card = {"header": {"title": {"tag": "plain_text", "content": msg.subject}},
                "elements": [{"tag": "markdown", "content": msg.text}]}
        body: dict[str, object] = {"msg_type": "interactive", "card": card}
        if self.secret:
            ts = str(int(time.time()))
            key = f"{ts}\n{self.secret}".encode()
            body |= {"timestamp": ts, "sign": base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()}
        return Request("POST", f"{self.base}/open-apis/bot/v2/hook/{self.token}", json=body)

    def check(self, r: httpx.Response) -> None:
        try:
            data = r.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and "code" not in data and "StatusCode" in data:  # the old answer shape
            data["code"] = data["StatusCode"]
            r = httpx.Response(r.status_code, json=data)
        super().check(r)
