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
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from gradewatch.notify.alerts import alert_on_status_change
from gradewatch.notify.channels import DeliveryError, Message, UrlError, channel_for, deliver
from gradewatch.notify.layout import rendered_for, rendering_key, rerender
from gradewatch.store.db import Store
from gradewatch.store.leases import kept_renewed, new_owner
from gradewatch.store.models import OutboxMessage

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
    deferred: int = 0  # rows of a channel that failed earlier in the same drain, left for its next try
    errors: list[str] = field(default_factory=list)


CHANNEL_GONE = "the account's channel no longer exists in the config"


def _delay(err: DeliveryError, attempts: int, now: datetime) -> timedelta:
    """The backoff, but not shorter than the wait the service named (a daily quota: next morning)."""
    return max(retry_delay(attempts), err.wait_from(now))


def _as_delivery_error(row_id: int, exc: Exception) -> DeliveryError:
    """Any failure of a send is a failed attempt of that row. A bug in a channel (or a store error
    inside it) must neither stop the drain for everyone's messages nor leave the row claimed and
    uncounted, to be tried again without end; its trace goes to the log."""
    if isinstance(exc, DeliveryError):
        return exc
    log.error("notification %d: the channel failed unexpectedly", row_id, exc_info=exc)
    return DeliveryError(f"the channel failed unexpectedly ({type(exc).__name__})")


def _content(store: Store, row: OutboxMessage, url: str, owner: str) -> tuple[str, str, str]:
    """What to send for the row: as it was rendered, or, when the channel's URL now points to a
    channel that renders differently (mail → Telegram, wecombot → mail: another kind, format or
    limit), rendered again from the part's content for it. A part that now needs several
    messages becomes several rows (``split_message``), and this row sends the first."""
    stored = (row.subject, row.body_text, row.body_html)
    if not row.source:
        return stored
    try:
        channel = channel_for(url)
        if rendered_for(row.source) == rendering_key(channel):
            return stored
        parts = rerender(row.source, row.kind, channel, label=row.channel)
    except (UrlError, ValueError, KeyError, TypeError):  # the send reports a bad URL in its own words
        return stored
    log.info("notification %d: its channel now renders differently; rendered again as %d message(s)",
             row.id, len(parts))
    contents = [(p.subject, p.body_text, p.body_html, p.source) for p in parts]
    if len(contents) > 1 and not store.split_message(row.id, owner, contents):
        return stored  # the claim is gone: another worker has the row now
    return contents[0][:3]


def _follow_edited_entry(store: Store, row: OutboxMessage, channels: Mapping[tuple[str, str], str],
                         owner: str) -> tuple[str | None, str]:
    """(URL, "") for a row whose channel name is gone because its entry's URL now has another number
    of targets (notify/targets.py names one per recipient of a mail URL): a mail to two people
    edited to a chat sends the chat the message once, a chat edited to a mail to two people sends
    each a copy. (None, why) when the row is not sent: the entry is gone, the row's recipient is no
    longer among the entry's, or another recipient's copy already went to the chat."""
    entry = row.channel.split(" to=", 1)[0]
    if row.channel != entry:  # one recipient of a mail URL
        single = channels.get((row.account_id, entry))
        if single is None:
            return None, CHANNEL_GONE
        if not store.adopt_channel(row.id, owner, entry, store.vault.fingerprint(single)):
            return None, f"{entry} is now one target, and another recipient's copy of this message goes there"
        row.channel = entry
        return single, ""
    recipients = sorted(name for (account, name) in channels
                        if account == row.account_id and name.startswith(entry + " to="))
    if not recipients:
        return None, CHANNEL_GONE
    urls = [channels[(row.account_id, name)] for name in recipients]
    if not store.fan_out(row.id, owner, recipients, [store.vault.fingerprint(u) for u in urls]):
        return None, "another worker took the message over"
    row.channel = recipients[0]
    return urls[0], ""


def _claim_renewal(store: Store, row_id: int, owner: str, clock: Callable[[], datetime]) -> Callable[[], bool]:
    return lambda: store.renew_claim(row_id, owner, clock() + CLAIM_TTL)


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
    start, began = now or store.now(), time.monotonic()

    def clock() -> datetime:
        # Time moves on during a drain: a claim made at minute 3 must last until minute 4, not be
        # already over because the drain started at minute 0 (another worker would send it again).
        return start + timedelta(seconds=time.monotonic() - began)

    owner = owner or new_owner()
    mine = list(accounts) if accounts is not None else None
    store.reap_dead_claims()
    health = {(c.account_id, c.channel): c.state for c in store.channel_states()}
    result = DrainResult()
    # A channel that just failed (not for good) waits until its retry with all its rows: the others'
    # messages are not held up behind its timeouts, and its own parts stay in order (part 3 is not
    # sent while part 2 waits).
    waiting: dict[tuple[str, str], datetime] = {}
    for _ in range(MAX_PER_DRAIN):
        if stop is not None and stop.is_set():
            break
        row = store.claim_message(owner, clock(), CLAIM_TTL, mine)
        if row is None:
            break
        if row.channel and channels is not None:
            url, gone = channels.get((row.account_id, row.channel)), CHANNEL_GONE
            if url is None:
                url, gone = _follow_edited_entry(store, row, channels, owner)
        else:
            url = targets.get(row.target)
            gone = "notification target no longer in the config"
        if url is None:
            store.mark_dropped(row.id, gone, owner)
            result.dropped += 1
            continue
        recorded = False

        def record_sent(row_id: int = row.id) -> None:
            nonlocal recorded
            if not recorded:
                store.mark_sent(row_id)
                recorded = True

        key = (row.account_id, row.channel or row.target[:100])
        if key in waiting and waiting[key] > clock():
            store.defer_message(row.id, owner, waiting[key])
            result.deferred += 1
            continue
        waiting.pop(key, None)  # its retry time has come during this drain: try it again
        try:
            # A send may outlast a claim (several requests, each with its own timeout): kept renewed.
            with kept_renewed(_claim_renewal(store, row.id, owner, clock), CLAIM_TTL / 4,
                              f"the claim on notification {row.id}"):
                subject, text, html = _content(store, row, url, owner)
                send(url, Message(subject, text, html, message_id=f"<gradewatch-{row.id}-{row.target}@gradewatch>",
                                  on_accepted=record_sent))
        except Exception as exc:  # noqa: BLE001 - see _as_delivery_error
            err = _as_delivery_error(row.id, exc)
            about_the_channel = isinstance(exc, DeliveryError)  # a crash may be this row's content alone
            attempts = row.attempts + 1
            permanent = bool(getattr(err, "permanent", False))
            give_up = permanent or attempts >= max_attempts
            failed_at = clock()
            retry_at = None if give_up else failed_at + _delay(err, attempts, failed_at)
            if not store.mark_attempt_failed(row.id, str(err), owner=owner, retry_at=retry_at):
                log.warning("notification %d: another worker took it over meanwhile; its record stands", row.id)
            if retry_at is not None and about_the_channel:
                waiting[key] = retry_at
            state = "needs_attention" if permanent else "failing"
            if health.get(key) != state:
                store.set_channel_state(key[0], key[1], state, str(err), clock())
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
            store.set_channel_state(key[0], key[1], "ok", "", clock())
            health[key] = "ok"
        result.sent += 1
        log.info("notification %d for %s delivered", row.id, row.account_id)
    return result
