"""A local SMTP server that keeps what it receives: the demo's mailbox and the tests' real SMTP peer."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
from dataclasses import dataclass
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    def part(self, subtype: str) -> str:
        body = self.message.get_body(preferencelist=(subtype,))
        return body.get_content() if body is not None else ""

    @property
    def text(self) -> str:
        return self.part("plain")

    @property
    def html(self) -> str:
        return self.part("html")


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:  # noqa: N802
        if self.sink.answer_delay:
            # A slow server: it thinks before answering. A client that hangs up meanwhile cancels
            # this coroutine (aiosmtpd cancels the session on EOF), so its mail is never counted.
            await asyncio.sleep(self.sink.answer_delay)
        if server.transport is None or server.transport.is_closing():
            # Nobody left to answer 250 to: the client never learns of it, so it is not delivered.
            return "421 4.4.2 client gone"
        raw = envelope.original_content or envelope.content or b""
        msg = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode(), policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        with self.sink.lock:
            self.sink.mails.append(ReceivedMail(envelope.mail_from or "", tuple(envelope.rcpt_tos), msg))
            self.sink.arrived.notify_all()
        return "250 Message accepted for delivery"


class SmtpSink:
    """``with SmtpSink() as sink: …`` runs an SMTP server on 127.0.0.1 (a free port unless one is given).

    A mail counts (``mails``) only when the server answers it 250; ``answer_delay`` seconds of
    thought before that answer imitate a slow mail server."""

    def __init__(self, port: int = 0, answer_delay: float = 0.0) -> None:
        self.answer_delay = answer_delay
        self.mails: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=port or _free_port())
        self.port = self._controller.port

    def url(self, to: str = "student@example.edu", sender: str = "gradewatch@localhost") -> str:
        """An Apprise mailto:// URL that delivers here."""
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&to={to}"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[ReceivedMail]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.mails) >= count, timeout=timeout)
            return list(self.mails)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
