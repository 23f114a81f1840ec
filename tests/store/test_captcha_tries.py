"""Captcha tries stored per check and summed per school over a window, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from cryptography.fernet import Fernet

from gradewatch.secrets import Vault
from gradewatch.store.captcha_tries import first_try_accuracy, record_captcha_tries
from gradewatch.store.db import Store, utcnow


def test_first_try_accuracy_per_school(db_url):  # type: ignore[no-untyped-def]
    store = Store.open(db_url, Vault(Fernet.generate_key()))
    try:
        store.ensure_account("a.1", school="a", system="ssfw", username="1")
        store.ensure_account("b.1", school="b", system="zf", username="1")
        for answers, outcome in [(1, "ok"), (2, "ok"), (1, "wrong_password"), (3, "wrong_captcha"),
                                 (1, "wrong_captcha")]:  # one try allowed, and it was refused
            check = store.start_check("a.1")
            store.finish_check(check, outcome)
            record_captcha_tries(store, check, answers)
        for answers in (2, 0):  # 0: no captcha at all, not counted
            check = store.start_check("b.1")
            store.finish_check(check, "ok")
            record_captcha_tries(store, check, answers)
        since = utcnow() - timedelta(hours=24)
        assert first_try_accuracy(store, since) == {"a": (2, 5), "b": (0, 1)}
        assert first_try_accuracy(store, utcnow() + timedelta(minutes=1)) == {}  # outside the window
    finally:
        store.close()
