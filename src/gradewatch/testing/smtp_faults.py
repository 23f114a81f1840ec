"""An SMTP server (aiosmtpd, loopback) that misbehaves on demand, and the table of what delivery makes of it.

    with FaultySmtp() as smtp:
        smtp.script(SmtpFault("QUIT", code=421))       # accept the mail, then answer QUIT with 421
        deliver(smtp.url(["a@x.test"]), message)
        smtp.copies("a@x.test")                        # how many copies that recipient really got

Each fault acts at one SMTP stage (EHLO, MAIL, RCPT, DATA, QUIT): a reply code, a dropped connection
or a slow answer, for one recipient or all, for the first ``times`` sessions or always.
``run_smtp_faults`` plays every fault of ``SMTP_FAULTS`` through ``gradewatch.notify.channels.deliver``
the way the outbox would (retry while it raises, at most ``rounds`` times) and counts the copies.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from typing import Any

from aiosmtpd.controller import Controller

from gradewatch.sim.server import bind


@dataclass
class SmtpFault:
    stage: str  # EHLO | MAIL | RCPT | DATA | QUIT
    code: int | None = None  # reply with this code (None: the normal reply)
    drop: bool = False  # close the connection instead of replying
    delay: float = 0.0  # wait this long before replying
    rcpt: str | None = None  # RCPT only: just this recipient
    times: int | None = None  # for the first N sessions only (None: always)
    #: DATA only: the message counts as accepted (stored) even though the reply is a fault or never comes.
    accept_first: bool = False
    used: int = field(default=0, compare=False)


@dataclass
class Accepted:
    message_id: str
    rcpt_tos: list[str]


class _Handler:
    def __init__(self, owner: FaultySmtp) -> None:
        self.owner = owner

    async def _fault(self, stage: str, server: Any, session: Any, rcpt: str | None = None) -> str | None:
        """The reply a scripted fault gives at this stage, "" after a drop, None when there is none."""
        fault = self.owner._active(stage, session, rcpt)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.drop:
            server.transport.abort()
            return ""
        if fault.code is not None:
            return f"{fault.code} {'Temporary' if fault.code < 500 else 'Permanent'} failure (scripted)"
        return None

    async def handle_EHLO(self, server: Any, session: Any, envelope: Any, hostname: str,
                          responses: list[str]) -> list[str]:
        self.owner._new_session(session)
        reply = await self._fault("EHLO", server, session)
        session.host_name = hostname
        return [reply] if reply else responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        reply = await self._fault("EHLO", server, session)
        session.host_name = hostname
        return reply or f"250 {server.hostname}"

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        reply = await self._fault("MAIL", server, session)
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        reply = await self._fault("RCPT", server, session, address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        fault = self.owner._peek("DATA", session)
        if fault is not None and fault.accept_first:
            self.owner._store(envelope)
        reply = await self._fault("DATA", server, session)
        if reply is not None:
            return reply
        if fault is None or not fault.accept_first:
            self.owner._store(envelope)
        return "250 Message accepted for delivery"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await self._fault("QUIT", server, session)
        return reply or "221 Bye"


class FaultySmtp:
    def __init__(self) -> None:
        self._faults: list[SmtpFault] = []
        self._lock = threading.Lock()
        self.accepted: list[Accepted] = []
        self.sessions = 0
        self._seen: set[int] = set()
        sock = bind()
        self.port = int(sock.getsockname()[1])
        sock.close()
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)

    # ---- script -----------------------------------------------------------------------------------
    def script(self, *faults: SmtpFault) -> None:
        with self._lock:
            self._faults = list(faults)

    def reset(self) -> None:
        with self._lock:
            self._faults, self.accepted, self.sessions = [], [], 0
            self._seen.clear()

    def _new_session(self, session: Any) -> None:
        with self._lock:
            if id(session) not in self._seen:
                self._seen.add(id(session))
                self.sessions += 1

    def _peek(self, stage: str, session: Any, rcpt: str | None = None) -> SmtpFault | None:
        for f in self._faults:
            if f.stage == stage and (f.rcpt is None or f.rcpt == rcpt):
                if f.times is None or self.sessions <= f.times:
                    return f
        return None

    def _active(self, stage: str, session: Any, rcpt: str | None) -> SmtpFault | None:
        with self._lock:
            fault = self._peek(stage, session, rcpt)
            if fault is not None:
                fault.used += 1
            return fault

    def _store(self, envelope: Any) -> None:
        msg = message_from_bytes(envelope.original_content or envelope.content or b"")
        with self._lock:
            self.accepted.append(Accepted(str(msg.get("Message-ID", "")), list(envelope.rcpt_tos)))

    # ---- what arrived -----------------------------------------------------------------------------
    def copies(self, rcpt: str) -> int:
        with self._lock:
            return sum(1 for a in self.accepted if rcpt in a.rcpt_tos)

    def url(self, to: list[str], sender: str = "gradewatch@localhost") -> str:
        return f"mailto://127.0.0.1:{self.port}?mode=insecure&from={sender}&to={','.join(to)}"

    # ---- lifecycle --------------------------------------------------------------------------------
    def start(self) -> FaultySmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> FaultySmtp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- the fault table ------------------------------------------------------------------------------
RCPTS = ["a@example.edu", "b@example.edu"]


@dataclass(frozen=True)
class SmtpCase:
    name: str
    description: str
    faults: tuple[SmtpFault, ...]
    #: What a correct client makes of it: "delivered once", "retried, delivered once", "failed visibly",
    #: "delivered once to the others, the refused one failed visibly", "at least once" (inherent window).
    expected: str
    #: Not what a correct client does when one URL is delivered as a whole: the outbox avoids it by giving
    #: each recipient its own row (notify), which this direct deliver() of a two-recipient URL bypasses.
    needs_notify_fix: bool = False


def _cases() -> list[SmtpCase]:
    F = SmtpFault
    return [
        SmtpCase("ok", "a well-behaved server", (), "delivered once"),
        SmtpCase("ehlo_421_once", "421 to EHLO (and HELO), first session", (F("EHLO", 421, times=1),),
                 "retried, delivered once"),
        SmtpCase("ehlo_554", "554 to EHLO and HELO, always", (F("EHLO", 554),), "failed visibly"),
        SmtpCase("mail_451_once", "451 to MAIL FROM, first session", (F("MAIL", 451, times=1),),
                 "retried, delivered once"),
        SmtpCase("mail_550", "550 to MAIL FROM, always", (F("MAIL", 550),), "failed visibly"),
        SmtpCase("rcpt_450_once", "450 to every RCPT, first session", (F("RCPT", 450, times=1),),
                 "retried, delivered once"),
        SmtpCase("rcpt_550_all", "550 to every RCPT, always", (F("RCPT", 550),), "failed visibly"),
        SmtpCase("rcpt_550_one", "550 to one of two recipients, always", (F("RCPT", 550, rcpt=RCPTS[1]),),
                 "delivered once to the others, the refused one failed visibly"),
        SmtpCase("data_451_once", "451 to DATA, first session", (F("DATA", 451, times=1),),
                 "retried, delivered once"),
        SmtpCase("data_554", "554 to DATA, always", (F("DATA", 554),), "failed visibly"),
        SmtpCase("quit_421", "250 to DATA, then 421 to QUIT, always", (F("QUIT", 421),), "delivered once"),
        SmtpCase("drop_after_250", "250 to DATA, then the connection drops at QUIT", (F("QUIT", drop=True),),
                 "delivered once"),
        SmtpCase("drop_at_mail_once", "connection dropped at MAIL FROM, first session",
                 (F("MAIL", drop=True, times=1),), "retried, delivered once"),
        SmtpCase("drop_at_rcpt_once", "connection dropped at RCPT, first session", (F("RCPT", drop=True, times=1),),
                 "retried, delivered once"),
        SmtpCase("drop_at_data_once", "connection dropped at DATA before the reply, first session",
                 (F("DATA", drop=True, times=1),), "retried, delivered once"),
        SmtpCase("slow_data", "DATA answered after 0.5 s (client timeout 2 s)", (F("DATA", delay=0.5),),
                 "delivered once"),
        SmtpCase("slow_ehlo_timeout_once", "EHLO answered after 3 s (past the client's 2 s timeout), first session",
                 (F("EHLO", delay=3.0, times=1),), "retried, delivered once"),
        SmtpCase("data_timeout_after_accept_once",
                 "the server stores the mail but its 250 to DATA comes after the client's timeout, first session",
                 (F("DATA", delay=3.0, times=1, accept_first=True),), "at least once"),
    ]


SMTP_FAULTS: list[SmtpCase] = _cases()


@dataclass(frozen=True)
class SmtpOutcome:
    case: str
    description: str
    expected: str
    got: str
    rounds: int
    copies: dict[str, int]
    errors: list[str]
    needs_notify_fix: bool

    @property
    def as_expected(self) -> bool:
        return self.got == self.expected or (self.expected == "at least once" and self.got in (
            "delivered once", "retried, delivered once", "duplicate"))


def classify(results: list[str | None], copies: dict[str, int], refused: set[str]) -> str:
    """Name an outcome from each round's error (None: delivered) and the copies each recipient got."""
    if any(v == "UNTYPED" for v in results):
        return "untyped exception"
    others = {r: n for r, n in copies.items() if r not in refused}
    if any(n > 1 for n in copies.values()):
        return "duplicate"
    if refused:
        got_others = all(n == 1 for n in others.values())
        if got_others and all(copies.get(r, 0) == 0 for r in refused) and results and results[-1] is not None:
            return "delivered once to the others, the refused one failed visibly"
        return "other"
    if results and results[-1] is None and all(n == 1 for n in copies.values()):
        return "delivered once" if len(results) == 1 else "retried, delivered once"
    if results and all(v is not None for v in results) and all(n == 0 for n in copies.values()):
        return "failed visibly"
    if results and results[-1] is not None and any(n == 1 for n in copies.values()):
        return "delivered, but reported failed"
    return "other"


def run_smtp_faults(cases: list[SmtpCase] | None = None, *, rounds: int = 3, timeout: float = 2.0,
                    deliver: Callable[..., Any] | None = None) -> list[SmtpOutcome]:
    """Play each case: deliver, and while it raises a temporary error retry (at most ``rounds`` tries), then
    count copies. A permanent refusal (``DeliveryError.permanent``) is not retried, as in the outbox."""
    from gradewatch.notify.channels import DeliveryError, Message
    from gradewatch.notify.channels import deliver as channel_deliver

    send = deliver or channel_deliver
    out: list[SmtpOutcome] = []
    with FaultySmtp() as smtp:
        for case in cases or SMTP_FAULTS:
            smtp.reset()
            smtp.script(*[SmtpFault(**{**f.__dict__, "used": 0}) for f in case.faults])
            msg = Message(subject="新成绩: 高等数学 95", text="高等数学 95", html="<p>高等数学 95</p>",
                          message_id=f"<{case.name}.{time.time_ns()}@gradewatch.test>")
            results: list[str | None] = []
            errors: list[str] = []
            for _ in range(rounds):
                try:
                    send(smtp.url(RCPTS), msg, timeout=timeout)
                    results.append(None)
                    break
                except DeliveryError as err:
                    results.append("failed")
                    errors.append(str(err).split("\n")[0][:200])
                    if getattr(err, "permanent", False):
                        break  # the outbox does not retry a permanent refusal either
                except Exception as err:  # noqa: BLE001 - what the table is looking for
                    results.append("UNTYPED")
                    errors.append(f"{type(err).__name__}: {err}"[:200])
                    break
            copies = dict(Counter({r: smtp.copies(r) for r in RCPTS}))
            refused = {f.rcpt for f in case.faults if f.stage == "RCPT" and f.rcpt and f.times is None}
            got = classify(results, copies, {r for r in refused if r})
            out.append(SmtpOutcome(case.name, case.description, case.expected, got, len(results), copies, errors,
                                   case.needs_notify_fix))
    return out
