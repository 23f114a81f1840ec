"""Alerts about the watcher itself: the student is told once when their account needs attention
(wrong password, locked by the school, a channel refused permanently) or their school has been
failing for longer than ``school_alert_hours``, and told again when it has recovered.

Alerts go out on the account's channels that still work (not those a service refused
permanently) as outbox rows of kind "alert", rendered and split per channel like grade notices.

Call sites (the watcher, src/gradewatch/watch/checker.py): after ``store.set_status(...)`` for a
wrong password or a lock, after a successful check of an account whose status was not ok, and
when the school has failed for longer than the configured time and again when it answers
(``school_outage_change``)::

    alert_on_status_change(store, name, old_status, new_status, reason, urls=acc.notify)

The outbox drain (not wired here: it has no per-account URL list yet) should tell the student when
``health.record_channel(…, "needs_attention", …)`` returns a state other than needs_attention:
``alert_on_status_change(store, account, "ok", "channel_refused", f"{channel}: {error}", urls=…)``;
the refused channel itself is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from gradewatch.notify.channels import UrlError, channel_for
from gradewatch.notify.health import broken_channels
from gradewatch.notify.layout import Document, render_parts
from gradewatch.notify.targets import account_targets
from gradewatch.store.db import Notice, Store, utcnow
from gradewatch.store.models import OutboxMessage

#: Statuses that need the student (or mean gradewatch cannot watch for them right now).
TROUBLE = {
    "needs_attention": "学校拒绝了密码, 请在配置里更新密码 (gradewatch 不会再用这个密码登录)",
    "paused": "学校锁定了账号, gradewatch 暂停检查",
    "school_down": "学校的教务系统长时间无法访问",
    "channel_refused": "一个通知渠道被服务拒绝, 请检查它的设置",
}


def alert_on_status_change(store: Store, account: str, old_status: str, new_status: str, reason: str, *,
                           urls: Sequence[str]) -> int:
    """Queue an alert if the account entered trouble, changed trouble, or recovered; returns the
    number of outbox rows written (0 when nothing the student needs to hear happened)."""
    if old_status == new_status or (old_status not in TROUBLE and new_status not in TROUBLE):
        return 0
    if new_status in TROUBLE:
        subject = f"gradewatch: {account} 需要处理"
        intro = f"{TROUBLE[new_status]}。" + (f"\n原因: {reason}" if reason else "")
    else:
        subject = f"gradewatch: {account} 已恢复正常"
        intro = f"之前的问题已解决 ({TROUBLE[old_status]}), gradewatch 继续为你检查成绩。"
    notice = Notice("alert", subject, intro + "\n", "".join(f"<p>{line}</p>" for line in intro.splitlines()),
                    doc=Document(intro))
    broken = broken_channels(store, account)
    now = store.now()
    written = 0
    with store.session() as s:
        for t in account_targets(store.vault.fingerprint, urls):
            if t.channel in broken:
                continue  # the service refused it for good: it would only fail again
            try:
                parts = render_parts(notice, channel_for(t.url), label=t.channel)
            except UrlError:
                continue
            for n in parts:
                s.add(OutboxMessage(account_id=account, check_id=None, target=t.fingerprint, channel=n.channel,
                                    part=n.part, parts=n.parts, kind="alert", subject=n.subject,
                                    body_text=n.body_text, body_html=n.body_html, source=n.source or None,
                                    status="pending", attempts=0,
                                    next_attempt_at=now, last_error="", created_at=now))
                written += 1
    return written


def school_outage_change(last_ok_at: datetime | None, previous_check_at: datetime | None, now: datetime,
                         hours: float, *, ok: bool) -> str | None:
    """"down" for the first failed check past ``hours`` since the last good one, "recovered" for
    the first good check after such an outage, else None. Needs no state of its own: the account's
    last good check and its previous check (read before this one) say where the threshold lies."""
    if last_ok_at is None or previous_check_at is None:
        return None
    limit = timedelta(hours=hours)
    was_down = previous_check_at - last_ok_at >= limit
    if ok:
        return "recovered" if was_down else None
    return "down" if now - last_ok_at >= limit and not was_down else None


def school_failing_too_long(first_failure_at: datetime | None, hours: float, now: datetime | None = None) -> bool:
    """Whether a school failing since ``first_failure_at`` has failed for ``hours`` or more."""
    return first_failure_at is not None and (now or utcnow()) - first_failure_at >= timedelta(hours=hours)
