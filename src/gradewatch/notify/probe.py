"""`gradewatch notify test`: a short test message on every configured channel, and what each
service answered. The result is recorded as the channel's health (shown by `gradewatch status`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gradewatch.config import Config
from gradewatch.notify.channels import DeliveryError, Message, UrlError, channel_for
from gradewatch.notify.health import record_channel
from gradewatch.notify.layout import Document, render_parts
from gradewatch.notify.targets import account_targets
from gradewatch.store.db import Notice, Store


@dataclass(frozen=True)
class ProbeResult:
    account: str
    channel: str  # notify[i]
    via: str  # the channel, secrets masked
    confirmed: bool
    permanent: bool = False
    error: str = ""


def probe(config: Config, store: Store, accounts: Iterable[str], *, timeout: float = 20.0) -> list[ProbeResult]:
    out = []
    for name in accounts:
        acc = config.accounts[name]
        school = config.schools[acc.school]
        store.ensure_account(name, school=acc.school, system=school.system, username=acc.username)
        intro = f"这是 gradewatch 的测试消息: 账号 {name} 的成绩通知会发到这里。"
        notice = Notice("test", "gradewatch 测试消息", intro + "\n", f"<p>{intro}</p>", doc=Document(intro))
        for t in account_targets(store.vault.fingerprint, acc.notify):
            try:
                ch = channel_for(t.url)
            except UrlError as err:
                out.append(ProbeResult(name, t.channel, t.url.split("://")[0] + "://…", False, True, str(err)))
                continue
            [part] = render_parts(notice, ch, label=t.channel)
            msg = Message(part.subject, part.body_text, part.body_html,
                          message_id=f"<gradewatch-test-{t.fingerprint[:12]}@gradewatch>")
            try:
                ch.send(msg, timeout=timeout)
            except DeliveryError as err:
                state = "needs_attention" if err.permanent else "failing"
                record_channel(store, name, t.channel, state, str(err))
                out.append(ProbeResult(name, t.channel, ch.describe(), False, err.permanent, str(err)))
                continue
            record_channel(store, name, t.channel, "ok", "")
            out.append(ProbeResult(name, t.channel, ch.describe(), True))
    return out
