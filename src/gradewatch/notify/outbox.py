"""Drain the outbox: deliver each due message, mark it sent only after the channel confirmed it."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gradewatch.notify.channels import DeliveryError, Message, deliver
from gradewatch.notify.health import record_channel
from gradewatch.store.db import Store, utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff with ±20 % jitter: 1 min, 2, 4 … capped at 6 h."""
    base = min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)
    return base * (0.8 + 0.4 * (rng or random).random())


@dataclass
class DrainResult:
    sent: int = 0
    failed: int = 0
    dropped: int = 0
    errors: list[str] = field(default_factory=list)


def drain(
    store: Store,
    targets: Mapping[str, str],
    *,
    now: datetime | None = None,
    send: Callable[[str, Message], None] = deliver,
    max_attempts: int = MAX_ATTEMPTS,
) -> DrainResult:
    """Try every due message once. ``targets`` maps target fingerprints to notification URLs
    (from the config: the URLs themselves are never stored)."""
    now = now or utcnow()
    result = DrainResult()
    for row in store.due_messages(now):
        url = targets.get(row.target)
        if url is None:
            store.mark_dropped(row.id, "notification target no longer in the config")
            result.dropped += 1
            continue
        mid = f"<gradewatch-{row.id}-{row.target}@gradewatch>"
        msg = Message(row.subject, row.body_text, row.body_html, message_id=mid)
        try:
            send(url, msg)
        except DeliveryError as err:
            attempts = row.attempts + 1
            # A permanent refusal (bad key, banned bot) cannot get better by waiting: fail at once.
            permanent = getattr(err, "permanent", False)
            give_up = permanent or attempts >= max_attempts
            record_channel(store, row.account_id, row.channel or row.target,
                           "needs_attention" if permanent else "failing", str(err))
            store.mark_attempt_failed(row.id, str(err), retry_at=None if give_up else now + retry_delay(attempts))
            result.failed += 1
            result.errors.append(str(err))
            log.warning("notification %d for %s not delivered (attempt %d): %s", row.id, row.account_id, attempts, err)
            continue
        store.mark_sent(row.id)
        record_channel(store, row.account_id, row.channel or row.target, "ok", "")
        result.sent += 1
        log.info("notification %d for %s delivered", row.id, row.account_id)
    return result
