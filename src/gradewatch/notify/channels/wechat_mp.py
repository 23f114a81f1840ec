"""WeChat Official Account (公众号) template messages: ``wxmp://APPID:SECRET@TEMPLATE_ID/OPENID``.

The account's access token comes from ``/cgi-bin/token?grant_type=client_credential`` and is cached
until shortly before it expires (WeChat limits token calls per day); a token WeChat calls invalid
or expired (40001/42001) is fetched again once. The message goes to
``/cgi-bin/message/template/send`` and counts as delivered only when the body says ``errcode`` 0.

A template's fields are the operator's: the subject goes into ``first`` and the text into
``remark`` unless the URL names other fields (``?title=thing1&body=thing2``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlsplit

from gradewatch.notify.channels.base import (
    DeliveryError,
    Limits,
    Message,
    Request,
    SuccessRule,
    UrlError,
    query,
)
from gradewatch.notify.channels.token import TokenChannel

_APPID = re.compile(r"^wx[0-9a-f]{16}$")
_FIELD = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")


class WeChatTemplate(TokenChannel):
    label = "WeChat template message"
    schemes = ("wxmp",)
    body_format = "text"
    # Our own cautious cap: WeChat publishes no byte limit for old-style template fields.
    limits = Limits(body=1000, unit="chars", title=100)
    default_base = "https://api.weixin.qq.com"
    # 40003 bad openid, 40013 bad appid, 40037 bad template_id, 40125 bad secret, 43004 the user
    # does not follow the account, 43101 the user refused the message: retrying cannot help.
    rule = SuccessRule("errcode", ok=(0,), permanent=frozenset({40003, 40013, 40037, 40125, 40164, 43004, 43101}))
    confirmed_by = "`errcode` 0 from message/template/send (after an access token from cgi-bin/token)"
    _TOKEN_STALE = frozenset({40001, 42001})

    def __init__(self, url: str, base: str | None = None) -> None:
        parts = urlsplit(url)
        if not parts.username or not parts.password or not parts.hostname:
            raise UrlError("WeChat template URL is wxmp://APPID:SECRET@TEMPLATE_ID/OPENID")
        self.appid, self.secret = parts.username, parts.password
        if not _APPID.match(self.appid):
            raise UrlError("WeChat template: APPID is wx… (16 hex digits after wx)")
        # The host part is lower-cased by URL parsing; template ids are case-sensitive.
        self.template_id = parts.netloc.rsplit("@", 1)[1]
        openids = [p for p in parts.path.split("/") if p]
        if len(openids) != 1:
            raise UrlError("WeChat template: name exactly one OPENID after the template id")
        self.openid = openids[0]
        q = query(url)
        self.title_field, self.body_field = q.get("title", "first"), q.get("body", "remark")
        if not (_FIELD.match(self.title_field) and _FIELD.match(self.body_field)):
            raise UrlError("WeChat template: title= and body= must be template field names such as thing1")
        super().__init__(url, base)

    def describe(self) -> str:
        return f"{self.label} {self.appid}"

    def payload(self, msg: Message) -> dict[str, Any]:
        return {"touser": self.openid, "template_id": self.template_id,
                "data": {self.title_field: {"value": msg.subject}, self.body_field: {"value": msg.text}}}

    def build_with(self, msg: Message, token: str) -> Request:
        return Request("POST", f"{self.base}/cgi-bin/message/template/send?access_token={token}",
                       json=self.payload(msg))

    def token_key(self) -> tuple[str, ...]:
        return (self.base, self.appid, self.secret)

    def fetch_token(self, timeout: float) -> tuple[str, float]:
        url = (f"{self.base}/cgi-bin/token?grant_type=client_credential"
               f"&appid={quote(self.appid)}&secret={quote(self.secret)}")
        answer = self._exchange(Request("GET", url), timeout)
        try:
            data = answer.json()
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get("errcode") == 40001:  # here: the AppSecret is wrong
            raise DeliveryError(f"{self.describe()}: cgi-bin/token errcode 40001: {data.get('errmsg', '')}"[:300],
                                permanent=True)
        # Success carries no errcode, only access_token + expires_in; failure carries errcode.
        if not answer.is_success or not isinstance(data, dict) or "access_token" not in data:
            self.check(answer)  # raises with WeChat's errcode/errmsg or the HTTP status
            raise DeliveryError(f"{self.describe()}: cgi-bin/token answered without access_token")
        return str(data["access_token"]), float(data.get("expires_in", 7200))
