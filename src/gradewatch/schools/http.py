"""Bounded HTTP for the adapters: total deadlines, a response size cap, and cancellation.

httpx's ``timeout`` is per network operation, so a school that drips one byte a second never
times out, and a 300 MB answer is read whole into memory. Every exchange of an adapter goes through
:func:`bounded_send`, which streams the body and stops it at the first of:

- the request's total deadline or the whole check's deadline (``SchoolUnavailable``);
- more than ``max_bytes`` of (decoded) body (``UnexpectedPage``: "answer larger than N MB");
- a process-wide cancellation (``cancel_all()``, set by `gradewatch run`'s SIGTERM handler): ``Cancelled``.

Redirect loops, false ``Content-Encoding`` headers and other broken answers become typed errors too.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from gradewatch.schools.errors import Cancelled, DeadlineExceeded, SchoolError, SchoolUnavailable, UnexpectedPage

_CANCEL = threading.Event()

#: Defaults; each can be set per school in the config.
REQUEST_DEADLINE = 60.0
CHECK_DEADLINE = 300.0
MAX_RESPONSE_BYTES = 5 * 1024 * 1024


def cancel_all() -> None:
    """Stop every exchange in this process now: blocked reads are cut, no new one starts."""
    _CANCEL.set()
    for transport in list(_live):
        transport.abort()


def reset_cancel() -> None:
    _CANCEL.clear()


def cancelled() -> bool:
    return _CANCEL.is_set()


def wait_or_cancel(seconds: float) -> None:
    """Sleep, but wake at once when the process is being stopped."""
    if _CANCEL.wait(max(0.0, seconds)):
        raise Cancelled("stopped while waiting to retry")


@dataclass
class Limits:
    """The bounds of one adapter (one check). ``check_deadline`` counts from the adapter's creation."""

    request_deadline: float = REQUEST_DEADLINE
    check_deadline: float = CHECK_DEADLINE
    max_bytes: int = MAX_RESPONSE_BYTES

    def __post_init__(self) -> None:
        self.check_ends = time.monotonic() + self.check_deadline

    def remaining(self) -> float:
        return self.check_ends - time.monotonic()


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):g} MB"


class _Budget:
    """The clock of one exchange: its own deadline, capped by the check's."""

    def __init__(self, limits: Limits, where: str) -> None:
        now = time.monotonic()
        self.own_end = now + limits.request_deadline
        self.end = min(self.own_end, limits.check_ends)
        self.limits = limits
        self.where = where

    def check(self) -> None:
        if _CANCEL.is_set():
            raise Cancelled("stopped: gradewatch is shutting down")
        if time.monotonic() >= self.end:
            raise self.expired()

    def expired(self) -> DeadlineExceeded:
        if self.end < self.own_end:
            return DeadlineExceeded(
                f"{self.where}: the check took longer than its deadline of {self.limits.check_deadline:g} s")
        return DeadlineExceeded(
            f"{self.where}: no complete answer within {self.limits.request_deadline:g} s")

    def left(self) -> float:
        return self.end - time.monotonic()


class _BoundedStream(httpx.SyncByteStream):
    """Wraps a transport's raw body: checks the clock and the cancel flag between chunks, caps raw size.

    It sits below httpx's redirect handling, so the bodies of intermediate redirects are bounded too."""

    def __init__(self, inner: httpx.SyncByteStream, transport: BoundedTransport) -> None:
        self._inner = inner
        self._transport = transport

    def __iter__(self) -> Iterator[bytes]:
        budget = self._transport.budget
        seen = 0
        for chunk in self._inner:
            seen += len(chunk)
            if budget is not None:
                budget.check()
                if seen > budget.limits.max_bytes:
                    raise UnexpectedPage(f"{budget.where}: answer larger than {_mb(budget.limits.max_bytes)}")
            yield chunk

    def close(self) -> None:
        self._inner.close()


class _TrackedStream(httpcore.NetworkStream):
    """A connection's stream that its transport can shut down from another thread (to end a blocked read)."""

    def __init__(self, inner: httpcore.NetworkStream, owner: BoundedTransport) -> None:
        self._inner = inner
        self._owner = owner
        owner._streams.add(self)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, timeout)

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, timeout)

    def close(self) -> None:
        self._owner._streams.discard(self)
        self._inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        self._owner._streams.discard(self)
        return _TrackedStream(self._inner.start_tls(ssl_context, server_hostname, timeout), self._owner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)

    def shutdown(self) -> None:
        sock = self._inner.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a recv() blocked in another thread; close() would not


class _TrackingBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend, owner: BoundedTransport) -> None:
        self._inner = inner
        self._owner = owner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        if self._owner.budget is not None:
            self._owner.budget.check()
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _TrackedStream(stream, self._owner)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        return _TrackedStream(self._inner.connect_unix_socket(path, timeout, socket_options), self._owner)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


_live: weakref.WeakSet[BoundedTransport] = weakref.WeakSet()


class BoundedTransport(httpx.BaseTransport):
    """An HTTPTransport whose response bodies honour the current exchange's budget, and whose
    connections a watchdog can cut when the budget ends while a read is blocked (headers dripping,
    a silent server): httpx alone would wait for each read's own timeout, again and again."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self.budget: _Budget | None = None
        self.aborted = False  # set by the watchdog: the exchange in flight was cut at its deadline
        self._streams: weakref.WeakSet[_TrackedStream] = weakref.WeakSet()
        pool = _connection_pool(inner)
        if pool is not None:  # httpx builds the pool; we wrap its network backend to see the sockets
            pool._network_backend = _TrackingBackend(pool._network_backend, self)
        _live.add(self)

    def abort(self) -> None:
        """Shut down every connection of this transport (a blocked read then fails at once)."""
        self.aborted = True
        for stream in list(self._streams):
            stream.shutdown()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.budget is not None:
            self.budget.check()
        resp = self._inner.handle_request(request)
        assert isinstance(resp.stream, httpx.SyncByteStream)
        resp.stream = _BoundedStream(resp.stream, self)
        return resp

    def close(self) -> None:
        self._inner.close()


def _connection_pool(transport: object) -> Any:
    """The httpcore pool below ``transport``, through wrapping transports (``_inner``: e.g. the WebVPN's)."""
    for _ in range(4):
        pool = getattr(transport, "_pool", None)
        if pool is not None and hasattr(pool, "_network_backend"):
            return pool
        transport = getattr(transport, "_inner", None)
        if transport is None:
            return None
    return None


def make_client(base_url: str, headers: dict[str, str], timeout: float,
                transport: httpx.BaseTransport | None = None) -> httpx.Client:
    """A client whose every exchange honours the bounds (``transport``: what to wrap, e.g. a WebVPN's)."""
    transport = BoundedTransport(transport or httpx.HTTPTransport())
    return httpx.Client(base_url=base_url, headers=headers, timeout=timeout, follow_redirects=True,
                        transport=transport)


def bounded_send(client: httpx.Client, limits: Limits, where: str, method: str, url: str,
                 **kwargs: object) -> httpx.Response:
    """One exchange, fully read within its budget. Raises only SchoolError subclasses for the school's faults
    (network errors become SchoolUnavailable so the caller can decide about retries)."""
    transport = client._transport  # noqa: SLF001 - our own BoundedTransport, set by make_client
    budget = _Budget(limits, where)
    budget.check()
    timeout = client.timeout
    left = budget.left()
    # No single wait may outlast the budget either (a silent server before the headers).
    per_op = httpx.Timeout(
        connect=min(timeout.connect or left, left), read=min(timeout.read or left, left),
        write=min(timeout.write or left, left), pool=min(timeout.pool or left, left),
    )
    watchdog: threading.Timer | None = None
    if isinstance(transport, BoundedTransport):
        transport.budget = budget
        transport.aborted = False
        watchdog = threading.Timer(max(0.0, left), transport.abort)
        watchdog.daemon = True
        watchdog.start()
    try:
        request = client.build_request(method, url, timeout=per_op, **kwargs)  # type: ignore[arg-type]
        resp = client.send(request, stream=True)
        try:
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():  # decoded: a gzip bomb is cut here
                size += len(chunk)
                if size > limits.max_bytes:
                    raise UnexpectedPage(f"{where}: answer larger than {_mb(limits.max_bytes)} (after decompression)")
                budget.check()
                chunks.append(chunk)
            if isinstance(transport, BoundedTransport) and transport.aborted:
                # A body without a length "ends" when the watchdog closes the connection: what came
                # so far is half a page, not the answer.
                raise budget.expired()
            resp._content = b"".join(chunks)  # noqa: SLF001 - what Response.read() sets; we read it bounded
        finally:
            resp.close()
        return resp
    except SchoolError:
        raise
    except httpx.TooManyRedirects:
        raise UnexpectedPage(f"{where}: redirect loop (more than {client.max_redirects} redirects)") from None
    except httpx.DecodingError as err:
        raise UnexpectedPage(f"{where}: the answer cannot be decoded as its headers declare "
                             f"({_first_line(err)})") from None
    except httpx.TimeoutException:
        if _CANCEL.is_set():
            raise Cancelled("stopped: gradewatch is shutting down") from None
        if budget.left() <= 0.05:
            raise budget.expired() from None
        raise SchoolUnavailable(f"cannot reach {where}: timed out") from None
    except httpx.TransportError as err:
        if _CANCEL.is_set():
            raise Cancelled("stopped: gradewatch is shutting down") from None
        if budget.left() <= 0.05:  # the watchdog cut the connection
            raise budget.expired() from None
        raise SchoolUnavailable(f"cannot reach {where}: {type(err).__name__}") from None
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as err:
        raise UnexpectedPage(f"{where}: the school pointed to an unusable URL ({_first_line(err)})") from None
    except (httpx.HTTPError, httpx.StreamError) as err:
        raise UnexpectedPage(f"{where}: broken answer ({type(err).__name__}: {_first_line(err)})") from None
    finally:
        if watchdog is not None:
            watchdog.cancel()
        if isinstance(transport, BoundedTransport):
            transport.budget = None


def _first_line(err: BaseException) -> str:
    lines = str(err).strip().splitlines()
    return lines[0][:160] if lines else type(err).__name__
