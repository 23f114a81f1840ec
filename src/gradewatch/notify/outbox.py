"""Drain the outbox: claim each due message, deliver it, mark it sent only after the channel confirmed it.

A message is claimed in the database just before it is sent, so several workers draining one
outbox never send the same message; a claim a dead worker leaves behind expires (CLAIM_TTL).
A message finds its URL through its account's channel name at send time, so it follows a URL the
user edited; only a removed channel drops it.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gradewatch.notify.alerts import alert_on_status_change
from gradewatch.notify.channels import DeliveryError, Message, deliver
from gradewatch.store.db import Store, utcnow
from gradewatch.store.leases import new_owner

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)
#: How long a claimed message is reserved for its worker (longer than one delivery's timeout).
CLAIM_TTL = timedelta(seconds=60)
#: Messages one drain sends at most (the next tick continues).
MAX_PER_DRAIN = 1000


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
    channels: Mapping[tuple[str, str], str] | None = None,
    owner: str | None = None,
    accounts: Iterable[str] | None = None,
    stop: threading.Event | None = None,
    notify_urls: Mapping[str, Sequence[str]] | None = None,
) -> DrainResult:
    """Send every due message once. ``channels`` maps (account, channel name) to its URL and
    ``targets`` a URL fingerprint to its URL (messages written before channels had names); both come
    from the config: URLs are never stored. ``accounts`` limits the drain to this worker's accounts."""
    now = now or utcnow()
    owner = owner or new_owner()
    mine = list(accounts) if accounts is not None else None
    store.reap_dead_claims()
    health = {(c.account_id, c.channel): c.state for c in store.channel_states()}
    result = DrainResult()
    for _ in range(MAX_PER_DRAIN):
        if stop is not None and stop.is_set():
            break
        row = store.claim_message(owner, now, CLAIM_TTL, mine)
        if row is None:
            break
        if row.channel and channels is not None:
            url = channels.get((row.account_id, row.channel))
            gone = "the account's channel no longer exists in the config"
        else:
            url = targets.get(row.target)
            gone = "notification target no longer in the config"
        if url is None:
            store.mark_dropped(row.id, gone)
            result.dropped += 1
            continue
        mid = f"<gradewatch-{row.id}-{row.target}@gradewatch>"
        recorded = False

        def record_sent(row_id: int = row.id) -> None:
            nonlocal recorded
            if not recorded:
                store.mark_sent(row_id)
                recorded = True

        msg = Message(row.subject, row.body_text, row.body_html, message_id=mid, on_accepted=record_sent)
        key = (row.account_id, row.channel or row.target[:100])
        try:
            send(url, msg)
        except DeliveryError as err:
            attempts = row.attempts + 1
            permanent = bool(getattr(err, "permanent", False))
            give_up = permanent or attempts >= max_attempts
            store.mark_attempt_failed(row.id, str(err), retry_at=None if give_up else now + retry_delay(attempts))
            state = "needs_attention" if permanent else "failing"
            if health.get(key) != state:
                store.set_channel_state(key[0], key[1], state, str(err), now)
                if permanent and notify_urls is not None and row.kind != "alert":
                    # Told once, on the account's channels that still work (the refused one is skipped).
                    alert_on_status_change(store, row.account_id, "ok", "channel_refused", f"{key[1]}: {err}",
                                           urls=list(notify_urls.get(row.account_id, ())))
                health[key] = state
            result.failed += 1
            result.errors.append(str(err))
            log.warning("notification %d for %s not delivered (attempt %d%s): %s", row.id, row.account_id,
                        attempts, ", permanent" if permanent else "", err)
            continue
        record_sent()  # no-op when the channel already recorded it at the service's acceptance
        if health.get(key) != "ok":  # also the first time: `status` then shows the channel as working
            store.set_channel_state(key[0], key[1], "ok", "", now)
            health[key] = "ok"
        result.sent += 1
        log.info("notification %d for %s delivered", row.id, row.account_id)
    return result
