"""What `gradewatch status` says about each account: never "ok" for one that is not being checked fine."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from datetime import datetime

from gradewatch.config import AccountConfig, Config
from gradewatch.store.db import AccountState, Store
from gradewatch.store.leases import owner_is_dead


@dataclass(frozen=True)
class Health:
    account: str
    status: str  # ok | checking | stale_lease | failing | no_password | needs_attention | paused | mail_failed
    detail: str


def password_problem(name: str, acc: AccountConfig | None, has_stored: bool) -> str | None:
    """Why the account's password cannot be found, without running password_cmd; None if it can."""
    if acc is None:
        return None
    if acc.password:
        return None
    if acc.password_env:
        return None if os.environ.get(acc.password_env) else f"password_env {acc.password_env} is not set here"
    if acc.password_cmd:
        try:
            cmd = shlex.split(acc.password_cmd)
        except ValueError as err:
            return f"password_cmd cannot be parsed: {err}"
        if not cmd or shutil.which(cmd[0]) is None:
            return f"password_cmd {cmd[0] if cmd else ''!r} not found"
        return None
    return None if has_stored else f"no password (set one with `gradewatch password set {name}`)"


def account_health(config: Config, store: Store, now: datetime | None = None) -> list[Health]:
    now = now or store.now()
    stored = {st.id: st for st in store.accounts()}
    failed_mail = store.failed_counts()
    out = []
    for name in sorted(set(stored) | set(config.accounts)):
        st = stored.get(name)
        acc = config.accounts.get(name)
        out.append(_one(name, st, acc, store, now, failed_mail.get(name, 0)))
    return out


def _one(name: str, st: AccountState | None, acc: AccountConfig | None, store: Store, now: datetime,
         failed_mail: int) -> Health:
    if st is None:
        return Health(name, "new", "not checked yet")
    notes = []
    if failed_mail:
        notes.append(f"{failed_mail} notification(s) failed: `gradewatch send --retry-failed`")
    no_source = acc is not None and not (acc.password or acc.password_env or acc.password_cmd)
    has_stored = no_source and store.stored_password(name) is not None
    missing = password_problem(name, acc, has_stored)
    if st.lease_owner and st.lease_until:
        if st.lease_until < now or owner_is_dead(st.lease_owner):
            notes.insert(0, f"stale lease of {st.lease_owner} (its process died; free within seconds)")
            return Health(name, "stale_lease", "; ".join(notes))
        notes.insert(0, f"being checked by {st.lease_owner}")
    if st.status != "ok":
        return Health(name, st.status, "; ".join([st.status_reason, *notes]))
    if missing:
        return Health(name, "no_password", "; ".join([missing, *notes]))
    if st.login_attempt_fp:
        return Health(name, "needs_attention", "; ".join(["a password attempt's answer was never read", *notes]))
    if st.failed_checks:
        last = store.checks(name, limit=1)
        why = f"{last[0].outcome}: {last[0].message}" if last else ""
        return Health(name, "failing", "; ".join([f"last {st.failed_checks} check(s) failed ({why[:200]})", *notes]))
    if st.lease_owner:
        return Health(name, "checking", "; ".join(notes))
    if failed_mail:
        return Health(name, "mail_failed", "; ".join(notes))
    return Health(name, "ok", "")
