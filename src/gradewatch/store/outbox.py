"""Outbox rows claimed one at a time before sending, so N workers never deliver the same message.

A claim expires by itself: a worker killed while sending leaves the row to the next worker after
``claim_until``; a live worker renews its claim while a send runs. Delivery stays at-least-once: a
duplicate needs a kill between the channel's confirmation and the commit of "sent", or a service
that delivered but whose answer never reached us (a timeout), which is then retried.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, aliased

from gradewatch.store.models import Account, ChannelState, OutboxMessage
from gradewatch.store.schools import insert_ignoring_duplicates


def _copy_of(row: OutboxMessage, **changes: object) -> OutboxMessage:
    """A new pending row for the same account, check and part as ``row``, with ``changes``; never
    sent, never tried, whatever ``row`` went through."""
    fields = {name: getattr(row, name) for name in (
        "account_id", "check_id", "target", "channel", "part", "parts", "kind", "subject", "body_text",
        "body_html", "source", "next_attempt_at", "created_at")}
    return OutboxMessage(**{**fields, **changes, "status": "pending", "attempts": 0, "last_error": ""})


class OutboxMixin:
    def session(self) -> contextlib.AbstractContextManager[Session]:  # provided by Store
        raise NotImplementedError

    def now(self) -> datetime:  # provided by Store: the database's time
        raise NotImplementedError

    def claim_message(self, owner: str, now: datetime, ttl: timedelta,
                      account_ids: Iterable[str] | None = None) -> OutboxMessage | None:
        """Claim the oldest due, unclaimed pending message (of ``account_ids``), or None."""
        accounts = list(account_ids) if account_ids is not None else None
        free = or_(OutboxMessage.claim_until.is_(None), OutboxMessage.claim_until < now)
        for _ in range(20):  # bounded: each round either claims or sees another worker take a row
            with self.session() as s:
                q = (select(OutboxMessage.id)
                     .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
                     .order_by(OutboxMessage.id).limit(1)
                     .with_for_update(skip_locked=True))  # PostgreSQL: skip rows another worker is claiming
                if accounts is not None:
                    q = q.where(OutboxMessage.account_id.in_(accounts))
                row_id = s.scalar(q)
                if row_id is None:
                    return None
                res = s.execute(update(OutboxMessage)
                                .where(OutboxMessage.id == row_id, OutboxMessage.status == "pending", free)
                                .values(claimed_by=owner, claim_until=now + ttl))
                if res.rowcount:  # type: ignore[attr-defined]
                    msg = s.get(OutboxMessage, row_id)
                    if msg is not None:
                        s.refresh(msg)
                        return msg
        return None

    def reap_dead_claims(self) -> int:
        """Free the claims of processes of this host that died while sending (kill -9)."""
        from gradewatch.store.leases import owner_is_dead

        with self.session() as s:
            owners = set(s.scalars(select(OutboxMessage.claimed_by)
                                   .where(OutboxMessage.status == "pending", OutboxMessage.claimed_by.is_not(None))))
            dead = [o for o in owners if o and owner_is_dead(o)]
            if not dead:
                return 0
            res = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.status == "pending", OutboxMessage.claimed_by.in_(dead))
                            .values(claimed_by=None, claim_until=None))
            return int(res.rowcount)  # type: ignore[attr-defined]

    def renew_claim(self, message_id: int, owner: str, until: datetime) -> bool:
        """Keep a claim while its message is being sent (a slow channel must not let a second worker in)."""
        with self.session() as s:
            res = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner,
                                   OutboxMessage.status == "pending")
                            .values(claim_until=until))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def defer_message(self, message_id: int, owner: str, until: datetime) -> bool:
        """Give a claimed row back, due at ``until``, no attempt counted: its channel failed on an
        earlier row of this drain, so trying it now would only wait out the same timeout again."""
        with self.session() as s:
            res = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner,
                                   OutboxMessage.status == "pending")
                            .values(next_attempt_at=until, claimed_by=None, claim_until=None))
            return bool(res.rowcount)  # type: ignore[attr-defined]

    def split_message(self, message_id: int, owner: str, parts: Sequence[tuple[str, str, str, str]]) -> bool:
        """Replace a claimed row's content by the first of ``parts`` (subject, text, html, source)
        and queue the others as rows of their own right behind it, in one transaction: each part
        then has its own claim, retries and record of delivery, so a failure at part 3 never sends
        parts 1 and 2 again. False (nothing changed) when the claim is no longer held."""
        with self.session() as s:
            row = s.get(OutboxMessage, message_id, with_for_update=True)
            if row is None or row.claimed_by != owner or row.status != "pending":
                return False
            row.subject, row.body_text, row.body_html, row.source = parts[0]
            now = self.now()
            for k, (subject, text, html, source) in enumerate(parts[1:], 1):
                # Each piece its own created_at: adopt_channel takes rows of one check, kind, part and
                # created_at for copies of one message (a recipient's), which pieces are not.
                s.add(_copy_of(row, subject=subject, body_text=text, body_html=html, source=source,
                               next_attempt_at=now, created_at=now + timedelta(microseconds=k)))
            return True

    # ---- a channel entry edited between one target and one per mail recipient -------------------
    # Rows name their channel ("notify[0]", or "notify[0] to=a@b" per recipient of a mail URL): when
    # the entry's URL now has another number of targets, the waiting rows follow it instead of being
    # dropped as "no longer in the config".
    def adopt_channel(self, message_id: int, owner: str, channel: str, target: str) -> bool:
        """Move a claimed row to ``channel`` (URL fingerprint ``target``), unless a copy of the same
        message (another recipient's: one check, kind, part and created_at) is already there: several
        recipients' copies become one message for a chat. False when the row was not moved (the
        caller drops it)."""
        with self.session() as s:
            row = s.get(OutboxMessage, message_id)
            if row is None or row.claimed_by != owner or row.status != "pending":
                return False
            # PostgreSQL: siblings move one at a time. NO KEY UPDATE: the account's checks, grades and
            # outbox rows (which only share-lock its key) are not held up meanwhile.
            s.get(Account, row.account_id, with_for_update={"key_share": True})
            other = aliased(OutboxMessage)  # not the UPDATE's own row: a sibling of it
            sibling = (select(other.id)
                       .where(other.account_id == row.account_id, other.channel == channel,
                              other.check_id.is_not_distinct_from(row.check_id), other.kind == row.kind,
                              other.created_at == row.created_at, other.part == row.part, other.parts == row.parts)
                       .exists())
            res = s.execute(update(OutboxMessage)
                            .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner, ~sibling)
                            .values(channel=channel, target=target))
            return int(res.rowcount) == 1  # type: ignore[attr-defined]

    def fan_out(self, message_id: int, owner: str, channels: Sequence[str], targets: Sequence[str]) -> bool:
        """A claimed row for one target whose entry is now a mail URL with several recipients: the
        row becomes the first recipient's (``channels[0]``, fingerprint ``targets[0]``) and a copy
        is queued for each other one. False (nothing changed) when the claim is no longer held."""
        with self.session() as s:
            row = s.get(OutboxMessage, message_id, with_for_update=True)
            if row is None or row.claimed_by != owner or row.status != "pending":
                return False
            row.channel, row.target = channels[0], targets[0]
            for channel, target in zip(channels[1:], targets[1:], strict=True):
                # The same created_at: a copy of one message, which adopt_channel recognises as such.
                s.add(_copy_of(row, channel=channel, target=target))
            return True

    def release_claim(self, message_id: int, owner: str) -> None:
        with self.session() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == owner)
                      .values(claimed_by=None, claim_until=None))

    def retry_failed(self, account_ids: Iterable[str] | None = None, now: datetime | None = None) -> int:
        """Put failed messages back in the queue (``gradewatch send --retry-failed``)."""
        now = now or self.now()
        with self.session() as s:
            q = update(OutboxMessage).where(OutboxMessage.status == "failed")
            if account_ids is not None:
                q = q.where(OutboxMessage.account_id.in_(list(account_ids)))
            res = s.execute(q.values(status="pending", attempts=0, next_attempt_at=now, claimed_by=None,
                                     claim_until=None))
            return int(res.rowcount)  # type: ignore[attr-defined]

    # ---- channel health -----------------------------------------------------------------------
    def set_channel_state(self, account_id: str, channel: str, state: str, error: str = "",
                          now: datetime | None = None) -> None:
        now = now or self.now()
        with self.session() as s:
            insert_ignoring_duplicates(s, ChannelState, {"account_id": account_id, "channel": channel,
                                                         "state": "ok", "last_error": ""})
            s.execute(update(ChannelState)
                      .where(ChannelState.account_id == account_id, ChannelState.channel == channel)
                      .values(state=state, last_error=error[:500], updated_at=now))

    def channel_states(self) -> list[ChannelState]:
        with self.session() as s:
            return list(s.scalars(select(ChannelState).order_by(ChannelState.account_id, ChannelState.channel)))

    def failed_counts(self) -> dict[str, int]:
        """Failed messages per account (shown by `status`)."""
        with self.session() as s:
            q = (select(OutboxMessage.account_id, func.count()).where(OutboxMessage.status == "failed")
                 .group_by(OutboxMessage.account_id))
            return {a: n for a, n in s.execute(q)}
