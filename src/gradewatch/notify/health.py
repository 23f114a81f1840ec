"""Channel health per account (table channel_state): ok | failing | needs_attention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from gradewatch.store.db import Store
from gradewatch.store.models import Account, ChannelState


@dataclass(frozen=True)
class ChannelHealth:
    account_id: str
    channel: str
    state: str
    last_error: str
    updated_at: datetime | None


def record_channel(store: Store, account_id: str, channel: str, state: str, error: str) -> str:
    """Set the channel's state; returns the state it had before ("ok" if none), so the caller can
    alert once on the change to needs_attention (``alerts.alert_on_status_change(…,
    "ok", "channel_refused", …)``)."""
    channel = channel[:100]
    with store.session() as s:
        if s.get(Account, account_id) is None:
            return "ok"
        row = s.get(ChannelState, (account_id, channel))
        if row is None:
            s.add(ChannelState(account_id=account_id, channel=channel, state=state, last_error=error[:500],
                               updated_at=store.now()))
            return "ok"
        before = row.state
        if (row.state, row.last_error) != (state, error[:500]):
            row.state, row.last_error, row.updated_at = state, error[:500], store.now()
        return before


def channel_health(store: Store, account_id: str | None = None) -> list[ChannelHealth]:
    with store.session() as s:
        q = select(ChannelState).order_by(ChannelState.account_id, ChannelState.channel)
        if account_id:
            q = q.where(ChannelState.account_id == account_id)
        return [ChannelHealth(r.account_id, r.channel, r.state, r.last_error, r.updated_at) for r in s.scalars(q)]


def broken_channels(store: Store, account_id: str) -> set[str]:
    """Channels of the account a service refused permanently (they need the user's attention)."""
    return {h.channel for h in channel_health(store, account_id) if h.state == "needs_attention"}
