"""E-mail through our own smtplib code, with the settings Apprise resolves from a mailto:// URL
(host, port, TLS mode, QQ/163 defaults).

Why not Apprise's sender: it flattens the HTML into the text part (a grade table becomes one cell
per line) and cannot set a stable Message-ID. And the SMTP semantics must be exact:
- the message is delivered once the server answered 250 to DATA, whatever QUIT says afterwards
  (a 421 or a dropped connection after 250 is still a success), and the outbox records it as sent
  at that 250, before QUIT (``Message.on_accepted``), so a crash between the server's acceptance
  and our record of it has no network round trip to fall into;
- refused recipients are reported by address; the outbox gives each recipient its own row
  (see ``split_recipients``), so a refused one is retried alone and the others never get a copy.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from apprise.plugins.email import NotifyEmail

from gradewatch.notify.channels.base import Channel, DeliveryError, Limits, Message, UrlError

SCHEMES = ("mailto", "mailtos")


class Email(Channel):
    label = "e-mail"
    schemes = SCHEMES
    body_format = "html"
    full_table = True
    limits = Limits(body=10_000_000, unit="bytes", title=998)
    confirmed_by = "SMTP 250 after DATA (QUIT's answer does not matter); refused recipients named"

    def __init__(self, url: str) -> None:
        parsed = NotifyEmail.parse_url(url)
        if not parsed:
            raise UrlError("not a valid e-mail URL (mailto://user:pass@host?to=address)")
        try:
            self.cfg = NotifyEmail(**parsed)
        except TypeError as err:
            raise UrlError(f"not a valid e-mail URL ({err})") from None
        if not self.cfg.targets:
            raise UrlError("e-mail URL without recipient (add ?to=address)")
        self.url = url

    def describe(self) -> str:
        return f"e-mail via {self.cfg.smtp_host} to {', '.join(a for _, a in self.cfg.targets)}"

    def send(self, msg: Message, *, timeout: float) -> None:
        cfg = self.cfg
        from_name, from_addr = cfg.from_addr
        rcpts = [a for _, a in cfg.targets]
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
        smtp: smtplib.SMTP | None = None
        try:
            if mode == "ssl":
                smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(host, port, timeout=timeout)
            if mode == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg.user and cfg.password:
                smtp.login(cfg.user, cfg.password)
            refused = smtp.send_message(mail, from_addr=from_addr, to_addrs=rcpts)
            if not refused and msg.on_accepted is not None:
                # 250 to DATA: delivered. Record it now, before QUIT, so a crash cannot fall between
                # the server's acceptance and our "sent" with a round trip in the gap.
                msg.on_accepted()
        except smtplib.SMTPRecipientsRefused as err:
            raise _refused(self, err.recipients) from None
        except smtplib.SMTPResponseException as err:
            # 5xx: authentication failed (535), sender or message rejected: retrying cannot help.
            raise DeliveryError(f"{self.describe()}: SMTP {err.smtp_code}: {_text(err.smtp_error)}",
                                permanent=500 <= err.smtp_code < 600) from None
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"{self.describe()}: {type(err).__name__}: {_first_line(err)}") from None
        finally:
            if smtp is not None:
                _quit_quietly(smtp)  # after 250 for DATA the message is the server's; QUIT is politeness
        if refused:
            raise _refused(self, refused)


def _refused(ch: Email, refused: dict[str, tuple[int, bytes]]) -> DeliveryError:
    parts = [f"{addr} ({code} {_text(text)})" for addr, (code, text) in refused.items()]
    permanent = all(500 <= code < 600 for code, _ in refused.values())
    return DeliveryError(f"{ch.describe()}: recipient refused: {'; '.join(parts)}", permanent=permanent)


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        pass
    finally:
        smtp.close()


def split_recipients(url: str) -> list[str]:
    """A mailto URL with several recipients as one URL per recipient, so each gets its own
    outbox row: a refused recipient is retried alone. Other URLs come back unchanged."""
    if url.split("://", 1)[0].lower() not in SCHEMES:
        return [url]
    parts = urlsplit(url)
    q = parse_qsl(parts.query, keep_blank_values=True)
    tos = [t.strip() for k, v in q if k.lower() == "to" for t in v.replace(";", ",").split(",") if t.strip()]
    if len(tos) <= 1:
        return [url]
    rest = [(k, v) for k, v in q if k.lower() != "to"]
    return [urlunsplit(parts._replace(query=urlencode([*rest, ("to", t)]))) for t in tos]


def _text(raw: bytes | str) -> str:
    s = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    return s.strip().splitlines()[0][:200] if s.strip() else ""


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:200] if text else ""
