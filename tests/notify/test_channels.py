"""Every channel through the real path (outbox row → drain → our channel class → HTTP) against a
loopback stand-in answering as the service does: only a confirmed message is marked sent."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest

from gradewatch.notify.channels import deliver
from gradewatch.notify.health import channel_health
from gradewatch.notify.outbox import drain
from gradewatch.notify.standins import PushStandin
from gradewatch.store.db import utcnow

from .helpers import SECRETS, SERVICES, first_check, open_store, service_url

SEND = partial(deliver, timeout=10)  # generous: the machine may be busy; only "timeout" uses a short one


@pytest.fixture(scope="module")
def store(tmp_path_factory):  # type: ignore[no-untyped-def]
    s = open_store(tmp_path_factory.mktemp("channels"))
    yield s
    s.close()


@pytest.mark.parametrize("mode, outcome", [
    ("ok", "sent"), ("app_error", "permanent"), ("client_error", "permanent"),
    ("server_error", "retry"), ("timeout", "retry"),
])
@pytest.mark.parametrize("service", SERVICES)
def test_confirmed_only_by_the_services_answer(store, service, mode, outcome):  # type: ignore[no-untyped-def]
    account = f"{service}-{mode}"
    with PushStandin(service, mode=mode, delay=1.0, secret=SECRETS.get(service)) as standin:
        targets = first_check(store, account, [service_url(service, standin.base)])
        first_try = partial(deliver, timeout=0.3) if mode == "timeout" else SEND
        result = drain(store, {t.fingerprint: t.url for t in targets}, send=first_try)
        [row] = store.messages(account)
        health = {h.channel: h for h in channel_health(store, account)}["notify[0]"]
        assert len(standin.received) == 1 and standin.received[0].content  # it really got there
        if outcome == "sent":
            assert (row.status, result.sent, health.state) == ("sent", 1, "ok")
            return
        assert row.status != "sent" and result.failed == 1
        assert row.last_error and "SCT1a2b" not in row.last_error  # the service's words, not the key
        later = utcnow() + timedelta(days=1)
        if outcome == "permanent":
            assert row.status == "failed" and health.state == "needs_attention"
            drain(store, {t.fingerprint: t.url for t in targets}, send=SEND, now=later)
            assert len(standin.received) == 1  # a permanent refusal is not retried
        else:
            assert row.status == "pending" and health.state == "failing" and row.next_attempt_at > utcnow()
            standin.mode = "ok"
            drain(store, {t.fingerprint: t.url for t in targets}, send=SEND, now=later)
            assert [m.status for m in store.messages(account)] == ["sent"]
            assert len(standin.delivered()) == 1


@pytest.mark.parametrize("service", ["dingtalk", "feishu"])
def test_signed_bots_sign_as_the_service_checks(service):  # type: ignore[no-untyped-def]
    from gradewatch.notify.channels import DeliveryError, Message

    msg = Message("t", "body", "", "<id>")
    with PushStandin(service, secret=SECRETS[service]) as right, PushStandin(service, secret="SECwrong" * 8) as wrong:
        deliver(service_url(service, right.base), msg, timeout=5)
        with pytest.raises(DeliveryError) as err:
            deliver(service_url(service, wrong.base), msg, timeout=5)
    assert len(right.delivered()) == 1 and err.value.permanent
    assert ("310000" if service == "dingtalk" else "19021") in str(err.value)


def test_schemes_outside_our_table_still_go_through_apprise():  # type: ignore[no-untyped-def]
    from gradewatch.notify.channels import DeliveryError, Message, channel_for

    msg = Message("t", "body", "", "<id>")
    with PushStandin("webhook") as standin:
        url = f"xml://{standin.base.removeprefix('http://')}/hook"
        assert type(channel_for(url)).__name__ == "AppriseChannel"
        deliver(url, msg, timeout=5)
        standin.mode = "server_error"
        with pytest.raises(DeliveryError) as err:
            deliver(url, msg, timeout=5)
    assert len(standin.received) == 2 and not err.value.permanent


def test_an_apprise_channel_waits_as_long_as_the_send_allows_not_apprises_4_s():  # type: ignore[no-untyped-def]
    import time

    from gradewatch.notify.channels import DeliveryError, Message

    msg = Message("t", "body", "", "<id>")
    with PushStandin("webhook") as standin:
        url = f"xml://{standin.base.removeprefix('http://')}/hook"
        standin.mode, standin.delay = "timeout", 5.5  # answers OK, after 5.5 s
        deliver(url, msg, timeout=10)
        began = time.monotonic()
        with pytest.raises(DeliveryError):
            deliver(url, msg, timeout=1.5)
        assert time.monotonic() - began < 4
    assert len(standin.received) == 2


def test_keys_never_reach_the_log(caplog):  # type: ignore[no-untyped-def]
    import logging

    from gradewatch.logs import RedactingFilter
    from gradewatch.notify.channels import Message

    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.DEBUG, logger="httpx")
    with PushStandin("serverchan") as standin:
        deliver(service_url("serverchan", standin.base), Message("t", "b", "", "<id>"), timeout=5)
    assert "HTTP Request" in caplog.text and "SCT1a2b3c4d5e6f7g8h9" not in caplog.text


def test_an_unsplit_message_over_the_limit_is_refused_by_the_standin():  # type: ignore[no-untyped-def]
    from gradewatch.notify.channels import DeliveryError, Message

    with PushStandin("wecombot") as standin, pytest.raises(DeliveryError, match="40058"):
        deliver(service_url("wecombot", standin.base), Message("t", "成绩" * 1400, "", "<id>"), timeout=5)
    assert standin.delivered() == []


def test_wecom_app_reuses_its_token_and_fetches_a_new_one_when_it_expires():  # type: ignore[no-untyped-def]
    from gradewatch.notify.channels import Message

    msg = Message("t", "b", "", "<id>")
    with PushStandin("wecomapp") as standin:
        url = service_url("wecomapp", standin.base)
        deliver(url, msg, timeout=5)
        deliver(url, msg, timeout=5)
        assert standin.tokens_issued == 1  # cached between messages
        standin.revoked_tokens.add("ACCESS_TOKEN_1")
        deliver(url, msg, timeout=5)
        assert standin.tokens_issued == 2 and len(standin.delivered()) == 3


def test_serverchan_daily_quota_waits_for_the_next_day_instead_of_failing_for_good(store):  # type: ignore[no-untyped-def]
    """Server酱's free plan answers its daily limit with the bad-key code 40001: the message must wait
    for the quota to come back (midnight in Beijing), not fail for good and flag the SendKey as wrong."""
    from datetime import UTC, datetime

    from gradewatch.notify.channels.cn_push import until_next_day_in_china

    with PushStandin("serverchan", mode="quota") as standin:
        targets = first_check(store, "quota-student", [service_url("serverchan", standin.base)])
        before = utcnow()
        result = drain(store, {t.fingerprint: t.url for t in targets})
        assert result.failed == 1 and "daily quota" in result.errors[0]
        [row] = store.messages("quota-student")
        assert row.status == "pending" and row.attempts == 1
        wait = row.next_attempt_at - before
        assert timedelta(minutes=4) < wait <= timedelta(hours=24, minutes=36)
        [health] = channel_health(store, "quota-student")
        assert health.state == "failing"  # not needs_attention: the key is fine
    # 15:00 UTC is 23:00 in Beijing: the quota is back at 00:05 there, an hour and five minutes later.
    assert timedelta(hours=1, minutes=5) <= until_next_day_in_china(datetime(2026, 12, 7, 15, 0, tzinfo=UTC)) \
        <= timedelta(hours=1, minutes=35)


def test_serverchan_daily_quota_waits_by_the_databases_time_not_this_hosts(store):  # type: ignore[no-untyped-def]
    """Next midnight in Beijing counted from the time the drain runs on (the database's, which every
    worker agrees on): a host clock hours off must not retry before the quota is back."""
    with PushStandin("serverchan", mode="quota") as standin:
        targets = first_check(store, "quota-clock", [service_url("serverchan", standin.base)])
        # The drain runs at the next 23:00 in Beijing (15:00 UTC), hours from this host's time.
        at = (utcnow() + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
        drain(store, {t.fingerprint: t.url for t in targets}, now=at)
        [row] = store.messages("quota-clock")
    assert timedelta(hours=1, minutes=5) <= row.next_attempt_at - at <= timedelta(hours=1, minutes=36)


def test_wxpusher_counts_the_recipients_verdicts_not_only_the_requests():  # type: ignore[no-untyped-def]
    """WxPusher answers a valid request with code 1000 and gives each recipient its own verdict in
    data[]: a message every recipient refused (unsubscribed) was not delivered."""
    from gradewatch.notify.channels import DeliveryError, Message

    with PushStandin("wxpusher", mode="recipient_refused") as standin:
        with pytest.raises(DeliveryError, match="every recipient refused") as err:
            deliver(service_url("wxpusher", standin.base), Message("t", "b", "", "<id>"), timeout=5)
        assert err.value.permanent  # 1004: the user is gone, retrying cannot help
        standin.mode = "ok"
        deliver(service_url("wxpusher", standin.base), Message("t", "b", "", "<id>"), timeout=5)
        assert len(standin.delivered()) == 1


def test_webhook_sends_the_basic_auth_of_its_url_and_keeps_the_password_out_of_the_log(caplog):  # type: ignore[no-untyped-def]
    import base64
    import logging

    from gradewatch.logs import RedactingFilter
    from gradewatch.notify.channels import Message

    caplog.handler.addFilter(RedactingFilter())
    caplog.set_level(logging.DEBUG)
    with PushStandin("webhook") as standin:
        url = f"json://alice:s3cret-pw@{standin.base.removeprefix('http://')}/hook?success=code:0"
        deliver(url, Message("t", "b", "", "<id>"), timeout=5)
        [got] = standin.delivered()
    assert got.authorization == "Basic " + base64.b64encode(b"alice:s3cret-pw").decode()
    assert "s3cret-pw" not in caplog.text


@pytest.mark.parametrize("scheme", ["json", "xml"])  # ours, and one only Apprise knows
@pytest.mark.parametrize("dribbled", ["headers", "body"])
def test_a_service_dribbling_its_answer_cannot_hold_a_send_past_its_timeout(dribbled, scheme):  # type: ignore[no-untyped-def]
    """httpx's timeout bounds each read; a service sending its answer a byte at a time would hold the
    send (and every message behind it in the drain) for ever. The whole answer must come in time."""
    import socket
    import threading
    import time

    from gradewatch.notify.channels import DeliveryError, Message

    server = socket.create_server(("127.0.0.1", 0))
    port, stop = server.getsockname()[1], threading.Event()

    def dribble() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)
            body = b'{"code": 0, "msg": "ok"}' + b" " * 200
            head = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Pad: " + b"a" * 200
                    + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode())
            if dribbled == "body":
                conn.sendall(head)
            for byte in head + body if dribbled == "headers" else body:
                if stop.wait(0.2):
                    return
                conn.sendall(bytes([byte]))

    worker = threading.Thread(target=dribble, daemon=True)
    worker.start()
    started = time.monotonic()
    try:
        with pytest.raises(DeliveryError, match="no complete answer within 1 s"):
            deliver(f"{scheme}://127.0.0.1:{port}/hook" + ("?success=code:0" if scheme == "json" else ""),
                    Message("t", "b", "", "<id>"), timeout=1.0)
    finally:
        stop.set()
        server.close()
    assert time.monotonic() - started < 3
