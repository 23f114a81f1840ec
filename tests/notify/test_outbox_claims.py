"""Claims on outbox rows while they are sent: nothing twice across workers, whatever a send takes."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest

import gradewatch.notify.outbox as ob
from gradewatch.store.db import utcnow

from .helpers import first_check, open_store

URLS = ["json://127.0.0.1:9/a", "json://127.0.0.1:9/b"]


def _row(message_id: str) -> int:
    return int(message_id.split("-")[1])


@pytest.mark.parametrize("slow", ["a long drain", "one long send"])
def test_a_second_worker_never_takes_a_row_that_is_being_sent(tmp_path, monkeypatch, slow):
    """Scaled down (claims of 2 s): a drain already older than a claim lasts, or one send longer
    than a claim lasts (a token refresh and three requests of 20 s each), and a second worker
    draining meanwhile. Each row is sent once: claims are taken by the clock of the moment and
    renewed while their send runs."""
    monkeypatch.setattr(ob, "CLAIM_TTL", timedelta(seconds=2))
    store = open_store(tmp_path)
    targets = {t.fingerprint: t.url for t in first_check(store, "me", URLS)}
    sends: list[tuple[str, int]] = []
    sending_last, release = threading.Event(), threading.Event()

    def send_as(who: str):
        def send(url: str, msg) -> None:
            sends.append((who, _row(msg.message_id)))
            if who != "A":
                return
            if len(sends) == 1 and slow == "a long drain":
                time.sleep(2.5)  # the first row takes longer than a claim lasts
            elif len(sends) == 2 or slow == "one long send":
                sending_last.set()
                release.wait(10)
        return send

    first = threading.Thread(target=lambda: ob.drain(store, targets, send=send_as("A"), owner="A"))
    first.start()
    try:
        assert sending_last.wait(10)
        time.sleep(2.5)  # longer than a claim: only a renewed one still holds
        second = ob.drain(store, targets, send=send_as("B"), owner="B")
    finally:
        release.set()
        first.join(10)
    ids = [row for _, row in sends]
    assert sorted(ids) == sorted(set(ids)), sends  # no row twice
    if slow == "a long drain":
        assert [who for who, _ in sends] == ["A", "A"] and second.sent == 0
    else:  # A held the first row; B sent the other one
        assert sorted(who for who, _ in sends) == ["A", "B"] and second.sent == 1
    assert {m.status for m in store.messages("me")} == {"sent"}
    store.close()


def test_a_late_failure_does_not_undo_another_workers_delivery(tmp_path):
    """A worker whose claim ran out (killed network, suspended laptop) reports its failure after the
    worker that took the row over delivered it: "sent" stays, so --retry-failed sends no third copy."""
    store = open_store(tmp_path)
    first_check(store, "me", URLS[:1])
    t0 = utcnow()
    a = store.claim_message("A", t0, ob.CLAIM_TTL)
    b = store.claim_message("B", t0 + ob.CLAIM_TTL + timedelta(seconds=1), ob.CLAIM_TTL)
    assert a is not None and b is not None and a.id == b.id
    assert store.mark_sent(b.id)
    assert not store.mark_attempt_failed(a.id, "A: no answer", retry_at=None, owner="A")
    assert not store.mark_sent(a.id)  # recorded once: attempts counted once
    [row] = store.messages("me")
    assert (row.status, row.attempts) == ("sent", 1)
    assert store.retry_failed() == 0
    store.close()


def test_a_channel_that_crashes_costs_one_attempt_of_its_row_only(tmp_path, caplog):
    """A bug in a channel (any exception, not a DeliveryError) is a failed attempt of that row: the
    drain goes on with the others, and the row is neither left claimed nor retried without count."""
    store = open_store(tmp_path)
    targets = {t.fingerprint: t.url for t in first_check(store, "me", URLS)}

    def send(url: str, msg) -> None:
        if url.endswith("/a"):
            raise UnicodeEncodeError("ascii", "密码", 0, 1, "ordinal not in range(128)")

    result = ob.drain(store, targets, send=send)
    assert (result.sent, result.failed) == (1, 1)
    broken = next(m for m in store.messages("me") if m.status == "pending")
    assert broken.attempts == 1 and broken.claimed_by is None and broken.next_attempt_at > utcnow()
    assert "UnicodeEncodeError" in broken.last_error
    assert "failed unexpectedly" in caplog.text
    store.close()


def test_a_failing_channel_waits_with_all_its_parts_and_holds_up_no_other(tmp_path):
    """A 64-grade first check goes to 企业微信 bot in several parts. When its first part fails (not
    for good), its other parts wait for the same retry instead of each waiting out the same timeout,
    and part 2 is never delivered while part 1 waits; the other channel's message goes at once."""
    from gradewatch.notify.standins import PushStandin

    from .helpers import service_url

    store = open_store(tmp_path)
    with PushStandin("wecombot", mode="server_error") as bot, PushStandin("serverchan") as chan:
        targets = first_check(store, "me", [service_url("wecombot", bot.base), service_url("serverchan", chan.base)],
                              n_grades=64)
        urls = {t.fingerprint: t.url for t in targets}
        parts = [m for m in store.messages("me") if m.target == targets[0].fingerprint]
        assert len(parts) >= 2
        result = ob.drain(store, urls)
        assert (result.sent, result.failed, result.deferred) == (1, 1, len(parts) - 1)
        assert len(bot.received) == 1 and len(chan.delivered()) == 1
        waiting = [m for m in store.messages("me") if m.target == targets[0].fingerprint]
        assert {m.status for m in waiting} == {"pending"} and sorted(m.attempts for m in waiting)[-1] == 1
        assert len({m.next_attempt_at for m in waiting}) == 1  # one retry time for the channel
        bot.mode = "ok"
        later = ob.drain(store, urls, now=max(m.next_attempt_at for m in waiting) + timedelta(seconds=1))
        assert later.sent == len(parts)
        delivered = sorted((m for m in store.messages("me") if m.target == targets[0].fingerprint), key=lambda m: m.id)
        assert [m.sent_at for m in delivered] == sorted(m.sent_at for m in delivered)  # in their order
    store.close()


def test_a_channel_whose_retry_time_comes_during_the_drain_is_tried_not_spun_on(tmp_path, monkeypatch):
    """Scaled down: a first retry of 50 ms, and another channel's send of 200 ms. Once the failed
    channel's retry time has passed, its row is tried again, not deferred again and again to a time
    already past (the drain spun on it a thousand times and the rows after it never went)."""
    from gradewatch.notify.channels import DeliveryError

    monkeypatch.setattr(ob, "retry_delay", lambda attempts, rng=None: timedelta(milliseconds=50))
    store = open_store(tmp_path)
    targets = {t.fingerprint: t.url for t in first_check(store, "me", URLS + ["json://127.0.0.1:9/c"])}
    sends: list[str] = []

    def send(url: str, msg) -> None:
        sends.append(url[-1])
        if url.endswith("/a"):
            raise DeliveryError("HTTP 502")
        if url.endswith("/b"):
            time.sleep(0.2)

    result = ob.drain(store, targets, send=send)
    assert result.deferred == 0 and "c" in sends and result.sent == 2, (result, sends)
    store.close()


def test_a_crash_on_one_row_does_not_make_its_channel_wait(tmp_path):
    """An exception that is no delivery error may be about that row's content alone: the channel's
    other rows still go in the same drain."""
    from gradewatch.notify.standins import PushStandin

    from .helpers import service_url

    store = open_store(tmp_path)
    with PushStandin("wecombot") as bot:
        targets = first_check(store, "me", [service_url("wecombot", bot.base)], n_grades=64)
        parts = sorted(store.messages("me"), key=lambda m: m.id)
        assert len(parts) >= 2
        from gradewatch.notify.channels import deliver

        def send(url: str, msg) -> None:
            if msg.message_id.startswith(f"<gradewatch-{parts[0].id}-"):
                raise UnicodeEncodeError("ascii", "成绩", 0, 1, "ordinal not in range(128)")
            deliver(url, msg)

        result = ob.drain(store, {t.fingerprint: t.url for t in targets}, send=send)
    assert (result.failed, result.deferred, result.sent) == (1, 0, len(parts) - 1)
    store.close()
