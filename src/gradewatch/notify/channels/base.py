"""What every channel shares: the message, the typed delivery error, and an HTTP channel whose
service-specific parts (endpoint, body, success rule, limits, permanent error codes) are data.

A channel is confirmed only by the service's own answer: the HTTP status AND the success field
in the body. Many Chinese push services answer HTTP 200 with an error code in the body.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal
from urllib.parse import parse_qs, urlsplit

import httpx

from gradewatch.logs import register_secret

BodyFormat = Literal["text", "markdown", "html"]
#: A push service's answer is a few hundred bytes of JSON; more is not an answer we can use.
MAX_ANSWER_BYTES = 1024 * 1024
LimitUnit = Literal["bytes", "chars"]


class DeliveryError(Exception):
    """The channel did not confirm the message; the text is safe to log (no credentials).

    ``permanent`` means retrying cannot help (bad key, banned bot, invalid token): the outbox
    gives up at once and the channel needs the user's attention. Otherwise (rate limit, 5xx,
    timeout) it is retried with backoff, and not before ``retry_after`` when the service said
    when (a daily quota is not back in an hour). ``retry_after`` may be a function of the time
    now: the outbox passes the database's time, which every worker agrees on, not this host's.
    """

    def __init__(self, text: str, *, permanent: bool = False,
                 retry_after: timedelta | Callable[[datetime], timedelta] | None = None) -> None:
        super().__init__(text)
        self.permanent = permanent
        self.retry_after = retry_after

    def wait_from(self, now: datetime) -> timedelta:
        """How long the service asked us to wait, from ``now`` (zero when it did not say)."""
        if self.retry_after is None:
            return timedelta(0)
        return self.retry_after(now) if callable(self.retry_after) else self.retry_after


class UrlError(ValueError):
    """A notification URL that cannot work; the text names what is wrong, never the secret."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str  # in the channel's body format (plain text or Markdown)
    html: str
    message_id: str  # stable per outbox row, so a re-delivery after a crash threads as the same mail
    #: Called by a channel the moment the service accepted the message, before any goodbye
    #: (SMTP: right after 250 to DATA, before QUIT), so the outbox records "sent" with no network
    #: round trip left between the acceptance and the commit. Channels that confirm in their last
    #: answer need not call it: the caller records "sent" when ``send`` returns.
    on_accepted: Callable[[], None] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Limits:
    """How much one message may carry, counted as the service counts it."""

    body: int
    unit: LimitUnit = "bytes"
    title: int = 0  # 0: the service has no separate title (it is prepended to the body)

    def size(self, text: str) -> int:
        return len(text.encode()) if self.unit == "bytes" else len(text)


@dataclass(frozen=True)
class SuccessRule:
    """``field`` (a dotted path in the JSON answer) must hold one of ``ok``; error codes in
    ``permanent`` stop retrying, any other code is retried."""

    field: str
    ok: tuple[Any, ...]
    message: tuple[str, ...] = ("errmsg", "message", "msg", "error", "description")
    permanent: frozenset[Any] = frozenset()
    #: Where the error code is when it is not ``field`` itself (Telegram: ok=false, error_code=401).
    error_field: str = ""

    def value(self, body: Any) -> Any:
        cur = body
        for part in self.field.split("."):
            if not isinstance(cur, Mapping) or part not in cur:
                return _MISSING
            cur = cur[part]
        return cur

    def text(self, body: Any) -> str:
        if isinstance(body, Mapping):
            for key in self.message:
                if body.get(key):
                    return str(body[key])[:200]
        return ""


_MISSING = object()


def query(url: str) -> dict[str, str]:
    """The URL's query as a flat dict (last value wins)."""
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    json: Any = None
    form: Mapping[str, str] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None  # HTTP basic auth (a webhook's user:password@host)


class Channel:
    """One configured notification URL, parsed. Subclasses declare their facts as class data."""

    label: ClassVar[str] = ""  # shown to the user: "Server酱", "DingTalk bot" …
    schemes: ClassVar[tuple[str, ...]] = ()  # our URL schemes
    hosts: ClassVar[tuple[str, ...]] = ()  # the service's own URL hosts as users copy them
    body_format: ClassVar[BodyFormat] = "text"
    limits: ClassVar[Limits] = Limits(body=4096)
    #: The chat shows only the body: the renderer puts the subject at the top of it.
    title_in_body: ClassVar[bool] = False
    #: Room for the composer's full table (e-mail): no per-channel layout, no splitting.
    full_table: ClassVar[bool] = False
    confirmed_by: ClassVar[str] = ""  # for the docs table

    def send(self, msg: Message, *, timeout: float) -> None:
        raise NotImplementedError

    def describe(self) -> str:
        """A safe name for logs and `notify test`: the channel and a masked key."""
        return self.label


def mask(secret: str) -> str:
    return secret[:4] + "…" if len(secret) > 8 else "…"


class HttpChannel(Channel):
    """A service reached with one HTTP request whose answer says whether it took the message."""

    default_base: ClassVar[str] = ""
    rule: ClassVar[SuccessRule]
    #: Codes in the body (or HTTP statuses) that mean "slow down / try later" even if listed nowhere.
    temporary_http: ClassVar[frozenset[int]] = frozenset({408, 425, 429})

    def __init__(self, url: str, base: str | None = None) -> None:
        q = query(url)
        # ``base`` points the channel at a self-hosted server (Bark, ntfy) or a loopback stand-in.
        self.base = (base or q.get("base") or self.default_base).rstrip("/")
        if not self.base.startswith(("http://", "https://")):
            raise UrlError(f"base must start with http:// or https:// (got {self.base.split('://')[0]!r})")

    def build(self, msg: Message) -> Request:
        raise NotImplementedError

    def send(self, msg: Message, *, timeout: float) -> None:
        req = self.build(msg)
        answer = self._exchange(req, timeout)
        self.check(answer)

    def _exchange(self, req: Request, timeout: float) -> httpx.Response:
        # Keys sit in URL paths and queries; -vv logs every request URL, so mask them first.
        for name in ("key", "token", "secret", "access_token"):
            register_secret(getattr(self, name, None))
        if req.auth is not None:
            register_secret(req.auth[1])
        # httpx's timeout bounds each socket operation, not the exchange: a service dribbling its answer
        # (status line, headers or body) a byte at a time would hold this send, and every message queued
        # behind it, for ever. A watchdog closes the client's connections at the deadline.
        expired = threading.Event()
        try:
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                def cut() -> None:
                    expired.set()
                    client.close()

                watchdog = threading.Timer(timeout, cut)
                watchdog.daemon = True
                watchdog.start()
                try:
                    with client.stream(req.method, req.url, json=req.json, data=req.form,
                                       headers=dict(req.headers), auth=req.auth) as streamed:
                        body = bytearray()
                        for chunk in streamed.iter_bytes():  # decoded: the cap is on what we would hold
                            body += chunk
                            if len(body) > MAX_ANSWER_BYTES:
                                raise DeliveryError(f"{self.describe()}: an answer of more than "
                                                    f"{MAX_ANSWER_BYTES} bytes")
                        if expired.is_set():
                            raise DeliveryError(f"{self.describe()}: no complete answer within {timeout:g} s")
                        headers = [(k, v) for k, v in streamed.headers.multi_items()
                                   if k.lower() not in ("content-encoding", "content-length")]
                        return httpx.Response(streamed.status_code, headers=headers, content=bytes(body),
                                              request=streamed.request)
                finally:
                    watchdog.cancel()
        except httpx.TimeoutException:
            raise DeliveryError(f"{self.describe()}: no answer within {timeout:g} s") from None
        except (httpx.HTTPError, RuntimeError) as err:
            if expired.is_set():  # cut by the watchdog (httpx reports a closed client in several ways)
                raise DeliveryError(f"{self.describe()}: no complete answer within {timeout:g} s") from None
            raise DeliveryError(f"{self.describe()}: {type(err).__name__}") from None

    def check(self, r: httpx.Response) -> None:
        """Raise unless the service's answer confirms the message."""
        body = answer_json(r)
        code = self.rule.value(body)
        detail = self.rule.text(body)
        where = f"{self.describe()}: HTTP {r.status_code}"
        if r.is_success and code is not _MISSING and code in self.rule.ok:
            return
        name = self.rule.error_field or self.rule.field
        err_code = body.get(name, _MISSING) if self.rule.error_field and isinstance(body, Mapping) else code
        if err_code is not _MISSING and (code is not _MISSING or self.rule.error_field):
            text = f"{where}, {name} {err_code}" + (f": {detail}" if detail else "")
            raise DeliveryError(text, permanent=err_code in self.rule.permanent and r.status_code < 500)
        if r.status_code >= 500 or r.status_code in self.temporary_http:
            raise DeliveryError(where + (f": {detail}" if detail else ""))
        if not r.is_success:
            raise DeliveryError(where + (f": {detail}" if detail else ""), permanent=r.status_code in (401, 403, 404))
        raise DeliveryError(f"{where} without the {self.rule.field} field that confirms delivery")


def answer_json(r: httpx.Response) -> Any:
    """The JSON body of a service's answer, or None when it is none (the channels read their own fields)."""
    try:
        return json.loads(r.content or b"null")
    except ValueError:
        return None
