"""What the web's sign-ins need to outlive a process: the sign-out generation of each identity and
the mailed one-time sign-in links. In the database, so every web process on it agrees, and a
restart neither signs everybody out nor lets a signed-out cookie back in.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update

from gradewatch.store.db import Store
from gradewatch.store.models import SignInLink, WebSignIn
from gradewatch.store.once import spend
from gradewatch.store.schools import insert_ignoring_duplicates


def generation(store: Store, key: str) -> int:
    with store.session() as s:
        return int(s.scalar(select(WebSignIn.generation).where(WebSignIn.key == key)) or 0)


def end_generation(store: Store, key: str, seen: int) -> None:
    """Sign out every session of ``key`` made in generation ``seen`` (a stale cookie moves nothing)."""
    with store.session() as s:
        insert_ignoring_duplicates(s, WebSignIn, {"key": key, "generation": 0})
        s.execute(update(WebSignIn).where(WebSignIn.key == key, WebSignIn.generation == seen)
                  .values(generation=seen + 1))


def add_link(store: Store, token: str, account: str, ttl: timedelta) -> None:
    now = store.now()
    with store.session() as s:
        s.execute(delete(SignInLink).where(SignInLink.expires_at <= now))
        s.add(SignInLink(token_fp=store.vault.fingerprint(token), account=account, expires_at=now + ttl))


def link_account(store: Store, token: str) -> str | None:
    """The account a live link signs in (None: unknown, spent or expired); the link stays."""
    with store.session() as s:
        return s.scalar(select(SignInLink.account).where(SignInLink.token_fp == store.vault.fingerprint(token),
                                                         SignInLink.expires_at > store.now()))


def spend_link(store: Store, token: str) -> str | None:
    """The account of a live link, which is spent by this call: of two clicks (or two web
    processes), one signs in."""
    with store.session() as s:
        return spend(s, SignInLink.token_fp, store.vault.fingerprint(token), SignInLink.expires_at,
                     SignInLink.account, store.now())


def drop_link(store: Store, token: str) -> None:
    with store.session() as s:
        s.execute(delete(SignInLink).where(SignInLink.token_fp == store.vault.fingerprint(token)))
