"""Delivering one message to one notification URL.

Every URL is parsed by Apprise. E-mail (mailto:// / mailtos://) is then sent by us with the
settings Apprise resolved (host, port, TLS mode, QQ/163 defaults): Apprise builds the text part of
an HTML mail by flattening the HTML, which turns a grade table into one cell per line, and it
cannot set a stable Message-ID. Every other scheme goes through Apprise unchanged.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, formatdate

import apprise
from apprise.plugins.email import NotifyEmail

EMAIL_SCHEMES = ("mailto", "mailtos")


class DeliveryError(Exception):
    """The channel did not confirm the message; the text is safe to log (no credentials)."""


@dataclass(frozen=True)
class Message:
    subject: str
    text: str
    html: str
    message_id: str  # stable per outbox row, so a re-delivery after a crash threads as the same mail


def redact(url: str) -> str:
    """A notification URL with its secrets masked, for logs and `status` output."""
    parsed = apprise.Apprise.instantiate(url)
    if parsed is None:
        return url.split("://", 1)[0] + "://…"
    return str(parsed.url(privacy=True)).split("?", 1)[0]


def validate_url(url: str) -> str | None:
    """None when Apprise understands the URL, else a reason."""
    if apprise.Apprise.instantiate(url) is None:
        return "Apprise does not understand this URL (see https://github.com/caronc/apprise/wiki)"
    return None


def deliver(url: str, msg: Message, *, timeout: float = 20.0) -> None:
    scheme = url.split("://", 1)[0].lower()
    if scheme in EMAIL_SCHEMES:
        _send_email(url, msg, timeout)
        return
    ap = apprise.Apprise()
    if not ap.add(url):
        raise DeliveryError(f"Apprise does not understand {redact(url)}")
    with apprise.LogCapture(level=apprise.logging.WARNING) as logs:
        ok = ap.notify(title=msg.subject, body=msg.text, body_format=apprise.NotifyFormat.TEXT)
    if not ok:
        detail = logs.getvalue().strip().splitlines()
        raise DeliveryError(f"{redact(url)}: " + (detail[-1] if detail else "not delivered"))


def _send_email(url: str, msg: Message, timeout: float) -> None:
    parsed = NotifyEmail.parse_url(url)
    if not parsed:
        raise DeliveryError(f"not a valid e-mail URL: {redact(url)}")
    try:
        cfg = NotifyEmail(**parsed)
    except TypeError as err:
        raise DeliveryError(f"not a valid e-mail URL: {redact(url)} ({err})") from None
    if not cfg.targets:
        raise DeliveryError(f"{redact(url)}: no recipient (add ?to=address)")
    from_name, from_addr = cfg.from_addr
    mail = EmailMessage()
    mail["Subject"] = msg.subject
    mail["From"] = formataddr((from_name or "gradewatch", from_addr))
    mail["To"] = ", ".join(formataddr((n or "", a)) for n, a in cfg.targets)
    mail["Date"] = formatdate(localtime=True)
    mail["Message-ID"] = msg.message_id
    mail["X-Application"] = "gradewatch"
    mail.set_content(msg.text)
    mail.add_alternative(msg.html, subtype="html")
    host, port, mode = cfg.smtp_host, int(cfg.port), cfg.secure_mode
    try:
        smtp: smtplib.SMTP
        if mode == "ssl":
            smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        with smtp:
            if mode == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg.user and cfg.password:
                smtp.login(cfg.user, cfg.password)
            refused = smtp.send_message(mail, from_addr=from_addr, to_addrs=[a for _, a in cfg.targets])
    except (OSError, smtplib.SMTPException) as err:
        raise DeliveryError(f"{redact(url)}: {type(err).__name__}: {_first_line(err)}") from None
    if refused:
        raise DeliveryError(f"{redact(url)}: recipients refused: {', '.join(refused)}")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""
