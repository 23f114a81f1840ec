"""A channel entry edited between one target and a mail to several recipients keeps its waiting
messages: the outbox names one row per recipient of a mail URL ("notify[0] to=a@b"), and those
names change with the edit. Real SMTP sink and a real PushPlus stand-in on loopback; both backends."""

from __future__ import annotations

import re
import threading
from functools import partial

import pytest
from cryptography.fernet import Fernet

from gradewatch.notify.channels import deliver
from gradewatch.notify.outbox import drain
from gradewatch.notify.sink import SmtpSink
from gradewatch.notify.standins import PushStandin
from gradewatch.notify.targets import account_targets
from gradewatch.secrets import Vault
from gradewatch.store.db import Store

from .helpers import first_check, service_url

SEND = partial(deliver, timeout=10)


@pytest.fixture
def store(db_url):
    s = Store.open(db_url, Vault(Fernet.generate_key()))
    yield s
    s.close()


def _channels(store: Store, account: str, url: str) -> dict[tuple[str, str], str]:
    return {(account, t.channel): t.url for t in account_targets(store.vault.fingerprint, [url])}


def test_a_mail_to_two_edited_to_a_chat_sends_the_chat_each_message_once(store):
    with SmtpSink() as sink, PushStandin("pushplus") as chat:
        mail = sink.url(to="a@example.edu,b@example.edu")
        first_check(store, "pair", [mail])
        assert sorted({r.channel for r in store.messages("pair")}) == ["notify[0] to=a@example.edu",
                                                                       "notify[0] to=b@example.edu"]
        waiting = len(store.messages("pair"))
        edited = _channels(store, "pair", service_url("pushplus", chat.base))
        # Two workers drain at once: still one copy of each message for the chat.
        gate = threading.Barrier(2)

        def worker(owner: str) -> None:
            gate.wait()
            drain(store, {}, channels=edited, send=SEND, owner=owner)

        threads = [threading.Thread(target=worker, args=(f"worker-{i}",)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        drain(store, {}, channels=edited, send=SEND)
        got = chat.delivered()
        assert not sink.mails
    rows = store.messages("pair")
    sent = [r for r in rows if r.status == "sent"]
    assert len(sent) == waiting // 2 == len(got) and all(r.channel == "notify[0]" for r in sent)
    dropped = [r for r in rows if r.status == "dropped"]
    assert len(dropped) == waiting // 2 and all("another recipient's copy" in r.last_error for r in dropped)


def test_a_chat_edited_to_a_mail_to_two_sends_each_recipient_a_copy(store):
    with SmtpSink() as sink, PushStandin("pushplus") as chat:
        first_check(store, "solo", [service_url("pushplus", chat.base)])
        waiting = len(store.messages("solo"))
        edited = _channels(store, "solo", sink.url(to="a@example.edu,b@example.edu"))
        drain(store, {}, channels=edited, send=SEND)
        drain(store, {}, channels=edited, send=SEND)
        assert not chat.delivered()
        to = sorted(rcpt for m in sink.mails for rcpt in m.rcpt_tos)
    assert to == sorted(["a@example.edu", "b@example.edu"] * waiting)
    rows = store.messages("solo")
    assert len(rows) == 2 * waiting and all(r.status == "sent" for r in rows)


def test_a_recipient_taken_off_the_mail_gets_nothing_and_the_others_get_theirs(store):
    with SmtpSink() as sink:
        first_check(store, "trio", [sink.url(to="a@example.edu,b@example.edu")])
        edited = _channels(store, "trio", sink.url(to="a@example.edu,c@example.edu"))
        drain(store, {}, channels=edited, send=SEND)
        to = {rcpt for m in sink.mails for rcpt in m.rcpt_tos}
    assert to == {"a@example.edu"}
    by = {r.channel: r.status for r in store.messages("trio")}
    assert by == {"notify[0] to=a@example.edu": "sent", "notify[0] to=b@example.edu": "dropped"}


def test_pieces_of_a_split_part_are_not_taken_for_recipients_copies(store):
    """A part split into pieces (one check, kind, part and created_at each), fanned out to a mail's
    two recipients, then edited back to a chat: every piece reaches the chat once, none is dropped."""
    from datetime import timedelta

    with PushStandin("pushplus") as chat:
        first_check(store, "pieces", [service_url("pushplus", chat.base)])
        [row] = store.messages("pieces")
        owner = "splitter"
        assert store.claim_message(owner, store.now(), timedelta(minutes=1), ["pieces"]).id == row.id
        pieces = [(f"piece {k}", f"text {k}", f"<p>{k}</p>", f'{{"piece": {k}}}') for k in (1, 2, 3)]
        assert store.split_message(row.id, owner, pieces)
        store.release_claim(row.id, owner)
        names = ["notify[0] to=a@example.edu", "notify[0] to=b@example.edu"]
        held = []  # the entry became a mail to two: each piece fans out (claims held until all are done)
        while (claimed := store.claim_message(owner, store.now(), timedelta(minutes=1), ["pieces"])) is not None:
            held.append(claimed.id)
            if claimed.channel == "notify[0]":
                assert store.fan_out(claimed.id, owner, names, ["fp-a", "fp-b"])
        for row_id in held:
            store.release_claim(row_id, owner)
        assert sorted(r.channel for r in store.messages("pieces")) == sorted(names * 3)
        drain(store, {}, channels=_channels(store, "pieces", service_url("pushplus", chat.base)), send=SEND)
        got = sorted(m.title for m in chat.delivered())
    assert got == ["piece 1", "piece 2", "piece 3"]
    assert sorted(r.status for r in store.messages("pieces")) == ["dropped"] * 3 + ["sent"] * 3


def test_a_mail_to_two_edited_to_a_small_chat_sends_each_piece_once(store):
    """The moved row is split for the chat's limit (its first piece keeps the row, the others are new
    rows); the other recipient's copy is still taken for a copy, so no piece goes twice."""
    with SmtpSink() as sink, PushStandin("wecombot") as chat:
        first_check(store, "small", [sink.url(to="a@example.edu,b@example.edu")], n_grades=64)
        edited = _channels(store, "small", service_url("wecombot", chat.base))
        drain(store, {}, channels=edited, send=SEND)
        drain(store, {}, channels=edited, send=SEND)
        got = chat.delivered()
    n = len(got)
    assert n > 1  # 64 grades do not fit one WeCom message
    numbers = [re.search(r"\((\d+)/(\d+)\)", r.title or r.content) for r in got]
    assert sorted(int(m[1]) for m in numbers if m) == list(range(1, n + 1))  # each piece once


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_second_worker_waits_for_the_first_move_and_then_sees_it(store, db_url):
    """Deterministic form of the race: worker 1 has locked the account and moved one recipient's row,
    not yet committed; worker 2's move of the other copy must wait for it, then see it (READ
    COMMITTED: each statement sees what was committed before it), and not move."""
    from datetime import timedelta

    from sqlalchemy import select, update

    from gradewatch.store.models import Account, OutboxMessage

    with SmtpSink() as sink:
        first_check(store, "race", [sink.url(to="a@example.edu,b@example.edu")], n_grades=1)
    rows = store.messages("race")
    mine = [r for r in rows if r.channel.endswith("to=a@example.edu")][0]
    theirs = [r for r in rows if r.channel.endswith("to=b@example.edu") and r.part == mine.part
              and r.created_at == mine.created_at][0]
    other = Store.open(db_url, store.vault)  # worker 2's own connection pool
    try:
        while (claimed := other.claim_message("w2", other.now(), timedelta(minutes=1), ["race"])) is not None:
            if claimed.id == theirs.id:
                break
        assert claimed is not None and claimed.id == theirs.id
        result: list[bool] = []
        with store.session() as s:  # worker 1, mid-move
            s.execute(select(Account).where(Account.id == "race").with_for_update(key_share=True))
            s.execute(update(OutboxMessage).where(OutboxMessage.id == mine.id).values(channel="notify[0]"))
            t = threading.Thread(target=lambda: result.append(other.adopt_channel(theirs.id, "w2", "notify[0]", "fp")))
            t.start()
            t.join(1.5)
            assert t.is_alive(), "worker 2 did not wait for worker 1's lock"
        t.join(30)
        assert result == [False]  # it saw the committed move: its copy is not moved (the drain drops it)
    finally:
        other.close()
