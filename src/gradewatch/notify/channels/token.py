"""Channels that send with an access token fetched first (企业微信 apps, WeChat official accounts).

The services limit token calls per day, so a token is cached for its lifetime (less five minutes)
across channel objects of one process; a token the service calls stale is fetched again once.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

import httpx

from gradewatch.notify.channels.base import DeliveryError, HttpChannel, Message, Request

_TOKENS: dict[tuple[str, ...], tuple[str, float]] = {}
_TOKENS_LOCK = threading.Lock()


class TokenChannel(HttpChannel):
    #: ``errcode`` values of the send call that mean "the token went stale": fetch one, try once more.
    _TOKEN_STALE: ClassVar[frozenset[int]] = frozenset()
    access_token: str | None = None  # masked in logs (HttpChannel._exchange registers it)

    def token_key(self) -> tuple[str, ...]:
        """What a cached token belongs to (base URL and credentials)."""
        raise NotImplementedError

    def fetch_token(self, timeout: float) -> tuple[str, float]:
        """(token, lifetime in seconds) from the service; raises DeliveryError."""
        raise NotImplementedError

    def build_with(self, msg: Message, token: str) -> Request:
        raise NotImplementedError

    def send(self, msg: Message, *, timeout: float) -> None:
        for fresh in (False, True):
            answer = self._exchange(self.build_with(msg, self._token(timeout, fresh=fresh)), timeout)
            if _errcode(answer) in self._TOKEN_STALE:
                continue
            self.check(answer)
            return
        raise DeliveryError(f"{self.describe()}: access token rejected twice")

    def _token(self, timeout: float, *, fresh: bool) -> str:
        key = (type(self).__name__, *self.token_key())
        with _TOKENS_LOCK:
            cached = _TOKENS.get(key)
        if cached and not fresh and cached[1] > time.monotonic():
            self.access_token = cached[0]
            return cached[0]
        token, lifetime = self.fetch_token(timeout)
        self.access_token = token
        with _TOKENS_LOCK:
            _TOKENS[key] = (token, time.monotonic() + max(lifetime - 300, 60))
        return token


def _errcode(answer: httpx.Response) -> object:
    try:
        return answer.json().get("errcode")
    except (ValueError, AttributeError):
        return None
