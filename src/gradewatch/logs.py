"""Logging set-up with a last line of defence: secrets are masked before a record is written.

Two layers: values we know (passwords, the key, session cookies: ``register_secret`` /
``register_transient_secret``) are replaced wherever they appear, and patterns that carry secrets
in HTTP debug output (``-vv`` logs httpx and httpcore: Set-Cookie/Cookie headers, tokens in query
strings, user:password@ in URLs, Authorization headers) are masked whatever their value.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections import OrderedDict
from pathlib import Path

MASK = "***"

_secrets: set[str] = set()
#: Session cookies change every login; keep the most recent ones only, so `run` does not grow forever.
_transient: OrderedDict[str, None] = OrderedDict()
_TRANSIENT_MAX = 512
_lock = threading.Lock()


class LogFileError(Exception):
    """The log file cannot be created or written; the message names it."""


def register_secret(value: str | None) -> None:
    """Mask this value in every log record from now on (passwords, keys)."""
    if value and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def register_transient_secret(value: str | None) -> None:
    """Mask a short-lived secret (a session cookie value) in the records of the near future."""
    if value and len(value) >= 6:
        with _lock:
            _transient[value] = None
            _transient.move_to_end(value)
            while len(_transient) > _TRANSIENT_MAX:
                _transient.popitem(last=False)


_SECRET_PARAMS = ("token|access_token|refresh_token|key|apikey|api_key|sendkey|secret|password|passwd|pwd|pass|mm"
                  "|jsessionid|sessionid|session|sid|ticket|auth|authcode|code|signature|sign|encoded|userPassword")
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # httpcore debug: header tuples like (b'set-cookie', b'JSESSIONID=…; Path=/')
    (re.compile(r"""(\(b?['"](?:set-cookie|cookie|authorization|proxy-authorization|x-auth-token)['"],\s*b?)(['"]).*?(?<!\\)\2""",
                re.IGNORECASE), r"\1\2" + MASK + r"\2"),
    # header lines: "Set-Cookie: …", "Cookie: …", "Authorization: Bearer …"
    (re.compile(r"((?:set-cookie|cookie|authorization|proxy-authorization)\s*[:=]\s*)[^\r\n]+", re.IGNORECASE),
     r"\1" + MASK),
    # name=value pairs of secret-looking names: query strings, ;jsessionid= path parameters, form bodies
    (re.compile(rf"(?<![A-Za-z0-9_])((?:{_SECRET_PARAMS})=)[^&;\s'\"<>),]+", re.IGNORECASE), r"\1" + MASK),
    # "password": "…" in JSON-ish text
    (re.compile(r"""(['"](?:password|passwd|pwd|token|secret|key|cookie)['"]\s*:\s*['"])[^'"]*""", re.IGNORECASE),
     r"\1" + MASK),
    # credentials in URLs: scheme://user:password@host
    (re.compile(r"([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@", re.IGNORECASE), r"\1" + MASK + "@"),
]


def redact(text: str) -> str:
    """``text`` with every known secret and every secret-looking pattern masked."""
    with _lock:
        known = sorted(_secrets | set(_transient), key=len, reverse=True)
    for s in known:
        if s in text:
            text = text.replace(s, MASK)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        masked = redact(msg)
        if masked != msg:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # A traceback may quote a URL or a local variable: format it now, masked.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class _LogFileHandler(logging.FileHandler):
    """A FileHandler that reports a failed write (disk full, file removed …) in one line, once, instead of
    logging's default traceback on every record."""

    _reported = False

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        if not self._reported:
            self._reported = True
            err = sys.exc_info()[1]
            sys.stderr.write(f"gradewatch: warning: cannot write the log file {self.baseFilename}: {err}\n")


def _private_file_handler(log_file: Path) -> logging.FileHandler:
    """A FileHandler on a file created 0600 (logs name accounts and schools; they are nobody else's)."""
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.close(fd)
        return _LogFileHandler(log_file, encoding="utf-8")
    except OSError as err:
        raise LogFileError(f"log file {log_file}: cannot write: {err.strerror or type(err).__name__}") from None


class _OneLineFormatter(logging.Formatter):
    """Console format without -v: an exception shows as one line (its type and message); the traceback
    goes to the log file, and to the console with -v."""

    def format(self, record: logging.LogRecord) -> str:
        if not record.exc_info:
            return super().format(record)
        err = record.exc_info[1]
        saved = record.exc_info, record.exc_text
        record.exc_info, record.exc_text = None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info, record.exc_text = saved
        return f"{line}: {redact(f'{type(err).__name__}: {err}')} (-v shows the traceback)"


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted, not the one at set-up time
    (a caller that swaps stderr — a test runner, an embedding program — may have closed that one)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def setup_logging(verbose: int = 0, log_file: Path | None = None) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    root = logging.getLogger()
    handlers: list[logging.Handler] = [_CurrentStderr()]
    if log_file is not None:
        fh = _private_file_handler(log_file)
        fh.setLevel(logging.INFO)
        handlers.append(fh)
    for h in list(root.handlers):
        if getattr(h, "_gradewatch", False):
            root.removeHandler(h)
            h.close()
    fmt = "%(asctime)s %(levelname)s %(name)s: %(message)s"
    for h in handlers:
        h.setFormatter(logging.Formatter(fmt))
        h.addFilter(RedactingFilter())
        h._gradewatch = True  # type: ignore[attr-defined]
        root.addHandler(h)
    root.setLevel(min(level, logging.INFO) if log_file else level)
    handlers[0].setLevel(level)
    if verbose <= 0:
        handlers[0].setFormatter(_OneLineFormatter(fmt))
    # httpx logs every request at INFO, httpcore every header at DEBUG; keep both for -vv only.
    http_level = logging.DEBUG if verbose >= 2 else logging.WARNING
    logging.getLogger("httpx").setLevel(http_level)
    logging.getLogger("httpcore").setLevel(http_level)
