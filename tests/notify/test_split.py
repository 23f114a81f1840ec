"""A 64-grade first check is delivered completely on every channel with a limit: split into
numbered parts at grade boundaries, each its own outbox row; a kill -9 between parts resends none."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

import suite_db
from gradewatch.notify.channels import channel_for, deliver
from gradewatch.notify.outbox import drain
from gradewatch.notify.standins import PushStandin
from gradewatch.secrets import Vault
from gradewatch.store.db import Store

from .helpers import SERVICES, first_check, open_store, service_url

SEND = partial(deliver, timeout=10)
SMALL = {"wecombot", "wecomapp", "wechatmp", "ntfy", "bark"}  # 64 grades (~10 KB) cannot fit one message there


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    s = open_store(tmp_path_factory.mktemp("split"))
    yield s
    s.close()


@pytest.mark.parametrize("service", SERVICES)
def test_64_grades_arrive_complete_in_numbered_parts(store, service):  # type: ignore[no-untyped-def]
    with PushStandin(service) as standin:
        url = service_url(service, standin.base)
        targets = first_check(store, service, [url], n_grades=64)
        drain(store, {t.fingerprint: t.url for t in targets}, send=SEND)
        rows = store.messages(service)
        got = standin.delivered()
    assert all(r.status == "sent" for r in rows) and len(got) == len(rows)  # none refused as too long
    n = len(rows)
    assert (n > 1) == (service in SMALL), n
    assert [(r.part, r.parts) for r in rows] == [(k, n) for k in range(1, n + 1)]
    if n > 1:  # numbered, in the title where the service shows one, else at the top of the body
        for k, r in enumerate(got, 1):
            assert f"({k}/{n})" in (r.title or r.content)
    # Every grade exactly once across the parts, none cut in the middle.
    names = re.findall(r"程序设计实践\\?\((\d+)\\?\)", "".join(r.content for r in got))
    assert sorted(map(int, names)) == list(range(64))
    limit = channel_for(url).limits.title
    assert all(len(r.title) <= limit for r in got if limit and r.title)



@pytest.mark.parametrize(("written_for", "sent_to"), [("pushplus", "wecombot"), ("feishu", "ntfy")])
def test_a_waiting_message_is_rendered_again_for_the_service_its_url_now_points_to(store, written_for, sent_to):
    """Written as one part for a roomy service, then the user points the channel at a small one
    before it is sent: it arrives complete, in that service's parts, not refused as too long."""
    account = f"edited-{written_for}"
    with PushStandin(written_for) as old, PushStandin(sent_to) as new:
        first_check(store, account, [service_url(written_for, old.base)], n_grades=64)
        assert [(r.part, r.parts) for r in store.messages(account)] == [(1, 1)]
        edited = {(account, "notify[0]"): service_url(sent_to, new.base)}
        drain(store, {}, channels=edited, send=SEND)
        drain(store, {}, channels=edited, send=SEND)  # nothing is left to send twice
        got = new.delivered()
        assert not old.delivered()
    n = len(got)
    assert n > 1
    rows = store.messages(account)  # the part became one row per message, each sent once
    assert len(rows) == n and all(r.status == "sent" for r in rows)
    for k, r in enumerate(got, 1):
        assert f"({k}/{n})" in (r.title or r.content)
    names = re.findall(r"程序设计实践\\?\((\d+)\\?\)", "".join(r.content for r in got))
    assert sorted(map(int, names)) == list(range(64))


CHILD = """
import sys
from functools import partial
from gradewatch.notify.channels import deliver
from gradewatch.notify.outbox import drain
from gradewatch.secrets import Vault
from gradewatch.store.db import Store
db, key, fp, url = sys.argv[1:5]
store = Store.open(db, Vault(key.encode()))
drain(store, {fp: url}, send=partial(deliver, timeout=60))
"""


def test_kill_between_parts_resends_no_confirmed_part(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    db = suite_db.database_url(tmp_path / "gw.db")
    store = Store.open(db, Vault(key))
    with PushStandin("wecomapp", script=["ok", "ok", "hang"]) as standin:
        url = service_url("wecomapp", standin.base)
        [target] = first_check(store, "me", [url], n_grades=64)
        parts = len(store.messages("me"))
        assert parts >= 3
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        child = subprocess.Popen([sys.executable, "-c", CHILD, db, key.decode(), target.fingerprint, url], env=env)
        deadline = time.monotonic() + 60
        while len(standin.received) < 3 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert len(standin.received) == 3, "the child never reached the third part"
        os.kill(child.pid, signal.SIGKILL)  # while it waits for the service to confirm part 3
        child.wait(10)
        standin.release.set()
        assert [r.status for r in store.messages("me")][:3] == ["sent", "sent", "pending"]
        drain(store, {target.fingerprint: url}, send=SEND)  # the restart
        confirmed = [re.search(r"\((\d+)/\d+\)", r.content).group(1) for r in standin.delivered()]  # type: ignore[union-attr]
    assert confirmed == [str(k) for k in range(1, parts + 1)]  # each part confirmed exactly once, in order
    assert all(r.status == "sent" for r in store.messages("me"))
    store.close()


def test_a_re_rendered_part_that_fails_midway_sends_no_message_twice(store):
    from sqlalchemy import update

    from gradewatch.store.models import OutboxMessage

    account = "edited-midway"
    with PushStandin("pushplus") as old, PushStandin("wecombot") as new:
        first_check(store, account, [service_url("pushplus", old.base)], n_grades=64)
        new.script = ["ok", "server_error"]  # part 2 fails once, then the service is fine
        edited = {(account, "notify[0]"): service_url("wecombot", new.base)}
        drain(store, {}, channels=edited, send=SEND)
        assert {r.status for r in store.messages(account)} == {"sent", "pending"}
        with store.session() as s:  # the failed part's retry: due now rather than in a minute
            s.execute(update(OutboxMessage).where(OutboxMessage.account_id == account,
                                                  OutboxMessage.status == "pending")
                      .values(next_attempt_at=store.now()))
        drain(store, {}, channels=edited, send=SEND)
        got = new.delivered()
    rows = store.messages(account)
    assert all(r.status == "sent" for r in rows)
    bodies = [r.content for r in got]
    assert len(bodies) == len(set(bodies)) == len(rows), "a part was delivered twice"
    names = re.findall(r"程序设计实践\\?\((\d+)\\?\)", "".join(bodies))
    assert sorted(map(int, names)) == list(range(64))


def test_a_chat_part_whose_url_now_is_mail_arrives_as_a_readable_mail(store):
    from gradewatch.notify.sink import SmtpSink

    account = "edited-to-mail"
    with PushStandin("wecombot") as old, SmtpSink() as sink:
        first_check(store, account, [service_url("wecombot", old.base)], n_grades=3)
        drain(store, {}, channels={(account, "notify[0]"): sink.url()}, send=SEND)
        [mail] = sink.wait_for(1)
    assert "程序设计实践(1)" in mail.html and "**" not in mail.text and "<p>" in mail.html
    assert not old.delivered()


def test_a_new_key_for_the_same_service_sends_the_part_as_it_was_rendered(store):
    account = "new-key"
    with PushStandin("pushplus") as standin:
        first_check(store, account, [service_url("pushplus", standin.base)], n_grades=3)
        [row] = store.messages(account)
        other_key = service_url("pushplus", standin.base).replace("0123456789abcdef" * 2, "fedcba9876543210" * 2)
        drain(store, {}, channels={(account, "notify[0]"): other_key}, send=SEND)
        [got] = standin.delivered()
    assert got.title == row.subject and got.content.strip() in (row.body_text.strip(), row.body_html.strip())
