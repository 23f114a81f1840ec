"""Nothing dropped silently: waiting mails follow an edited URL; failed ones stay visible and can be retried."""

from __future__ import annotations

from datetime import timedelta

from gradewatch.notify.channels import DeliveryError
from gradewatch.notify.outbox import drain
from gradewatch.notify.sink import SmtpSink
from gradewatch.store.db import utcnow

from .helpers import app_for, cli, free_port, write_config


def test_waiting_mail_follows_the_edited_url_and_only_a_removed_channel_drops(ssfw_sim, db_url, tmp_path):
    dead = f"mailto://127.0.0.1:{free_port()}?mode=insecure&from=gw@localhost&to=old@example.edu"
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [dead], database=db_url)
    app = app_for(cfg, ssfw_sim.password)
    assert app.watcher.check_account("student").outcome == "ok"
    assert app.watcher.send_pending().failed == 1  # nobody listens: the mail waits
    app.close()

    with SmtpSink() as sink:  # the user fixes the URL (same channel, new address)
        cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [sink.url(to="new@example.edu")],
                           database=db_url)
        app = app_for(cfg, ssfw_sim.password)
        app.watcher._clock = lambda: utcnow() + timedelta(hours=1)  # its retry is due
        res = app.watcher.send_pending()
        assert (res.sent, res.dropped) == (1, 0)
        [mail] = sink.wait_for(1)
        assert mail.rcpt_tos == ("new@example.edu",)
        app.close()

    # A removed channel is the only way a waiting message is dropped (and it says so).
    ssfw_sim.admin.publish_grade(ssfw_sim.username, {"term": "2099-2100-1", "course_code": "X1",
                                                     "course_name": "新课", "score": "90"})
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [dead], database=db_url)
    app = app_for(cfg, ssfw_sim.password)
    app.watcher.check_account("student")
    app.close()
    cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [], database=db_url)
    app = app_for(cfg, ssfw_sim.password)
    assert app.watcher.send_pending().dropped == 1
    [dropped] = app.store.messages(status="dropped")
    assert "channel no longer exists" in dropped.last_error
    app.close()


def test_permanent_refusal_fails_at_once_and_retry_failed_sends_it(ssfw_sim, tmp_path):
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, ssfw_sim.base_url, ssfw_sim.username, [sink.url()])
        app = app_for(cfg, ssfw_sim.password)
        app.watcher.check_account("student")

        def refuse(url, msg):  # what the channel reports for e.g. an SMTP 550 "no such user"
            raise DeliveryError("550 mailbox unavailable", permanent=True)

        res = drain(app.store, app.watcher.targets, channels=app.watcher.channels, send=refuse)
        assert res.failed == 1
        [msg] = app.store.messages("student")
        assert msg.status == "failed" and msg.attempts == 1 and "550" in msg.last_error
        [chan] = app.store.channel_states()
        assert (chan.account_id, chan.channel, chan.state) == ("student", "notify[0]", "needs_attention")
        out = cli(cfg, ssfw_sim.password, "status")
        assert "failed" in out.stdout and "--retry-failed" in out.stdout, out.stdout
        app.close()

        res = cli(cfg, ssfw_sim.password, "send", "--retry-failed")
        assert res.returncode == 0 and "1 failed notification(s) queued again" in res.stdout, res.stdout + res.stderr
        assert len(sink.wait_for(1)) == 1
        app = app_for(cfg, ssfw_sim.password)
        assert [m.status for m in app.store.messages("student")] == ["sent"]
        assert app.store.channel_states()[0].state == "ok"
        app.close()
