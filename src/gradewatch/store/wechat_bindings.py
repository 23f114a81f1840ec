"""WeChat users bound to accounts, the live one-time `绑定` codes, the signed URLs already seen and
the bind tries per user, in the database: a code made on a student's page in one web process is
known to the process that answers `/wechat`, no process overwrites another's bindings (each used
to keep the JSON file's map it read at start), and a captured URL or a guesser gets no more from
several processes than from one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from gradewatch.store.db import Store
from gradewatch.store.models import WechatBinding, WechatBindTry, WechatCode, WechatReplay
from gradewatch.store.once import spend
from gradewatch.store.schools import insert_ignoring_duplicates


def new_code(store: Store, account: str, draw: Callable[[], str], ttl: timedelta) -> str:
    """A new code for ``account`` from ``draw()``; its older codes end, and a code another account
    holds is never taken over (that student would bind to this account): drawn again."""
    now = store.now()
    with store.session() as s:
        s.execute(delete(WechatCode).where((WechatCode.account == account) | (WechatCode.expires_at <= now)))
    while True:
        code = draw()
        try:
            with store.session() as s:
                s.add(WechatCode(code=code, account=account, expires_at=now + ttl))
            return code
        except IntegrityError:
            continue  # one in a million per live code: draw again


def spend_code(store: Store, code: str) -> str | None:
    """The account of a live code, which this call spends (None: unknown, spent or expired)."""
    with store.session() as s:
        return spend(s, WechatCode.code, code, WechatCode.expires_at, WechatCode.account, store.now())


def bind(store: Store, openid: str, account: str) -> None:
    with store.session() as s:
        insert_ignoring_duplicates(s, WechatBinding, {"openid": openid, "account": account})
        s.execute(update(WechatBinding).where(WechatBinding.openid == openid).values(account=account))


def account_of(store: Store, openid: str) -> str | None:
    with store.session() as s:
        return s.scalar(select(WechatBinding.account).where(WechatBinding.openid == openid))


def forget_account(store: Store, account: str) -> None:
    with store.session() as s:
        s.execute(delete(WechatBinding).where(WechatBinding.account == account))


def import_bindings(store: Store, bindings: Mapping[object, object]) -> int:
    """Bindings of the JSON file earlier versions kept; one already in the database stays, and an
    entry that is no (openid, account) pair of strings that fit is skipped. Returns how many were."""
    skipped = 0
    with store.session() as s:
        for openid, account in bindings.items():
            if not (isinstance(openid, str) and isinstance(account, str) and 0 < len(openid) <= 100
                    and 0 < len(account) <= 100):
                skipped += 1
                continue
            insert_ignoring_duplicates(s, WechatBinding, {"openid": openid, "account": account})
    return skipped


def first_user(store: Store, timestamp: str, nonce: str, from_user: str, keep: timedelta) -> str:
    """The user a signed (timestamp, nonce) first came with: ``from_user`` if it is new. Seen ones
    are kept for ``keep`` (past the signature's window), in every process."""
    now = store.now()
    with store.session() as s:
        s.execute(delete(WechatReplay).where(WechatReplay.seen_at < now - keep))
        insert_ignoring_duplicates(s, WechatReplay, {"timestamp": timestamp, "nonce": nonce, "from_user": from_user,
                                                     "seen_at": now})
        first = s.scalar(select(WechatReplay.from_user).where(WechatReplay.timestamp == timestamp,
                                                              WechatReplay.nonce == nonce))
    return str(first)


def bind_try(store: Store, openid: str, limit: int, window: timedelta) -> bool:
    """Count one `绑定` try of ``openid``; False (not counted) when it had ``limit`` in ``window``.
    Two processes at the very same moment may each let one more through: a bound, not a lock."""
    now = store.now()
    with store.session() as s:
        s.execute(delete(WechatBindTry).where(WechatBindTry.at <= now - window))
        tries = s.scalar(select(func.count()).select_from(WechatBindTry).where(WechatBindTry.openid == openid))
        if int(tries or 0) >= limit:
            return False
        s.add(WechatBindTry(openid=openid, at=now))
        return True
