"""SMTP semantics: 250 for DATA means delivered whatever QUIT says; a refused recipient is retried
alone (each recipient of a mailto URL is its own outbox row); a stable Message-ID per row."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from gradewatch.notify.channels import deliver
from gradewatch.notify.outbox import drain
from gradewatch.notify.sink import _free_port as free_port
from gradewatch.store.db import utcnow

from .helpers import first_check, open_store

SEND = partial(deliver, timeout=10)


class Faults:
    def __init__(self) -> None:
        self.refuse: dict[str, str] = {}  # address -> SMTP answer to its RCPT
        self.quit_answer = "221 Bye"
        self.drop_after_data = False
        self.mails: list[tuple[tuple[str, ...], str]] = []  # (recipients, Message-ID)
        self.mail_answer = ""  # e.g. "553 5.7.1 sender rejected"
        self.data_answer = ""  # e.g. "554 5.7.1 spam" instead of accepting
        self.events: list[str] = []  # what the server saw, in order (for the client's own events too)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_MAIL(self, server, session, envelope, address, mail_options):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.mail_answer:
            return self.mail_answer
        envelope.mail_from = address
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.data_answer:
            return self.data_answer
        mid = next((ln.split(":", 1)[1].strip() for ln in envelope.content.decode().splitlines()
                    if ln.lower().startswith("message-id:")), "")
        self.mails.append((tuple(envelope.rcpt_tos), mid))
        return "250 2.0.0 queued"


class FaultySmtp(SMTP):
    async def smtp_QUIT(self, arg: str) -> None:  # noqa: N802
        faults: Faults = self.event_handler
        faults.events.append("QUIT")
        await self.push(faults.quit_answer)
        self._handler_coroutine.cancel()
        self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:  # noqa: N802
        await super().smtp_DATA(arg)
        if self.event_handler.drop_after_data:
            self.transport.close()  # the 250 went out, then the line died


class FaultyController(Controller):
    def factory(self) -> SMTP:
        return FaultySmtp(self.handler, **self.SMTP_kwargs)


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    faults = Faults()
    ctl = FaultyController(faults, hostname="127.0.0.1", port=free_port())
    ctl.start()
    faults.url = lambda to: f"mailto://127.0.0.1:{ctl.port}?mode=insecure&from=gw@localhost&to={to}"  # type: ignore[attr-defined]
    yield faults
    ctl.stop()


@pytest.mark.parametrize("fault", ["quit_421", "drop_after_data"])
def test_250_for_data_is_delivered_whatever_follows(tmp_path, smtp, fault):  # type: ignore[no-untyped-def]
    if fault == "quit_421":
        smtp.quit_answer = "421 4.4.2 closing connection"
    else:
        smtp.drop_after_data = True
    store = open_store(tmp_path)
    targets = first_check(store, "me", [smtp.url("s@example.edu")])
    result = drain(store, {t.fingerprint: t.url for t in targets}, send=SEND)
    assert result.sent == 1 and [m.status for m in store.messages("me")] == ["sent"]
    drain(store, {t.fingerprint: t.url for t in targets}, send=SEND, now=utcnow() + timedelta(days=1))
    assert len(smtp.mails) == 1  # exactly one copy


def test_refused_recipient_is_retried_alone(tmp_path, smtp):  # type: ignore[no-untyped-def]
    smtp.refuse["gone@example.edu"] = "550 5.1.1 no such user"
    smtp.refuse["full@example.edu"] = "452 4.2.2 mailbox full"
    store = open_store(tmp_path)
    targets = first_check(store, "me", [smtp.url("a@example.edu,gone@example.edu,full@example.edu")])
    assert [t.channel for t in targets] == ["notify[0] to=a@example.edu", "notify[0] to=gone@example.edu",
                                            "notify[0] to=full@example.edu"]
    urls = {t.fingerprint: t.url for t in targets}
    drain(store, urls, send=SEND)
    rows = {r.channel: r for r in store.messages("me")}
    assert rows["notify[0] to=a@example.edu"].status == "sent"
    assert rows["notify[0] to=gone@example.edu"].status == "failed"  # 550: permanent, not retried
    assert "550" in rows["notify[0] to=gone@example.edu"].last_error
    assert rows["notify[0] to=full@example.edu"].status == "pending"  # 452: temporary
    smtp.refuse.pop("full@example.edu")
    drain(store, urls, send=SEND, now=utcnow() + timedelta(days=1))
    assert [m[0] for m in smtp.mails] == [("a@example.edu",), ("full@example.edu",)]  # a got one copy only
    assert len({m[1] for m in smtp.mails}) == 2 and all(m[1].startswith("<gradewatch-") for m in smtp.mails)


@pytest.mark.parametrize("fault, outcome", [
    ("sender_553", "failed"), ("data_554", "failed"), ("data_451", "retried"),
    ("connection_refused", "retried"), ("silent_server", "retried"),
])
def test_smtp_faults_fail_or_retry_visibly(tmp_path, smtp, fault, outcome):  # type: ignore[no-untyped-def]
    import socket

    url = smtp.url("s@example.edu")
    silent = None
    if fault == "sender_553":
        smtp.mail_answer = "553 5.7.1 sender rejected"
    elif fault == "data_554":
        smtp.data_answer = "554 5.7.1 message refused as spam"
    elif fault == "data_451":
        smtp.data_answer = "451 4.3.0 try again later"
    elif fault == "connection_refused":
        url = f"mailto://127.0.0.1:{free_port()}?mode=insecure&from=gw@localhost&to=s@example.edu"
    else:  # accepts the connection, never says a word
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"mailto://127.0.0.1:{silent.getsockname()[1]}?mode=insecure&from=gw@localhost&to=s@example.edu"
    store = open_store(tmp_path)
    targets = first_check(store, "me", [url])
    drain(store, {t.fingerprint: t.url for t in targets}, send=partial(deliver, timeout=0.5 if silent else 10))
    [row] = store.messages("me")
    if silent:
        silent.close()
    assert row.status == ("failed" if outcome == "failed" else "pending") and row.attempts == 1
    assert row.last_error and "Traceback" not in row.last_error and smtp.mails == []


def test_sent_is_recorded_between_250_and_quit(smtp):  # type: ignore[no-untyped-def]
    """The outbox's "sent" is committed the moment DATA got 250, before QUIT goes out: a crash then
    leaves no network round trip between the server's acceptance and our record of it."""
    from gradewatch.notify.channels import Message

    msg = Message("s", "t", "<p>t</p>", message_id="<m1@gw>", on_accepted=lambda: smtp.events.append("accepted"))
    SEND(smtp.url("s@example.edu"), msg)
    assert smtp.events == ["accepted", "QUIT"] and len(smtp.mails) == 1


def test_refused_data_is_never_recorded_as_accepted(smtp):  # type: ignore[no-untyped-def]
    from gradewatch.notify.channels import DeliveryError, Message

    smtp.data_answer = "451 4.3.0 try again later"
    msg = Message("s", "t", "<p>t</p>", message_id="<m2@gw>", on_accepted=lambda: smtp.events.append("accepted"))
    with pytest.raises(DeliveryError):
        SEND(smtp.url("s@example.edu"), msg)
    assert "accepted" not in smtp.events


@pytest.mark.parametrize("hang_up", [True, False])
def test_sink_counts_a_mail_only_when_it_answered_250(hang_up):  # type: ignore[no-untyped-def]
    """A client killed while a slow server thinks never got 250: the sink must not count that mail
    (the workers bench counts duplicates and losses from the sink)."""
    import socket
    import time

    from gradewatch.notify.sink import SmtpSink

    with SmtpSink(answer_delay=0.4) as sink:
        conn = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        reader = conn.makefile("rb")

        def say(line: str) -> bytes:
            conn.sendall(line.encode() + b"\r\n")
            return reader.readline()

        reader.readline()  # greeting
        assert say("HELO client").startswith(b"250")
        assert say("MAIL FROM:<gw@localhost>").startswith(b"250")
        assert say("RCPT TO:<s@example.edu>").startswith(b"250")
        assert say("DATA").startswith(b"354")
        conn.sendall(b"Subject: x\r\nMessage-ID: <m3@gw>\r\n\r\nbody\r\n.\r\n")
        if hang_up:
            conn.shutdown(socket.SHUT_WR)
            conn.close()
            time.sleep(1.0)
            assert sink.mails == []
        else:
            assert reader.readline().startswith(b"250")
            assert len(sink.mails) == 1
            conn.close()
