"""Alerts about the watcher: told once on the channels that still work, told again on recovery;
privacy mode keeps scores (and course names) out of every channel."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import partial

from gradewatch.diff import diff_grades, keyed
from gradewatch.notify.alerts import alert_on_status_change, school_failing_too_long, school_outage_change
from gradewatch.notify.channels import channel_for, deliver
from gradewatch.notify.health import record_channel
from gradewatch.notify.layout import render_parts
from gradewatch.notify.outbox import drain
from gradewatch.notify.render import compose
from gradewatch.notify.standins import PushStandin
from gradewatch.store.db import utcnow

from .helpers import grades, open_store, service_url

SEND = partial(deliver, timeout=10)


def test_alert_once_on_working_channels_and_again_on_recovery(tmp_path):  # type: ignore[no-untyped-def]
    store = open_store(tmp_path)
    store.ensure_account("me", school="uni", system="ssfw", username="me")
    with PushStandin("ntfy") as ok, PushStandin("wecombot") as refused:
        urls = [service_url("ntfy", ok.base), service_url("wecombot", refused.base)]
        targets = {store.vault.fingerprint(u): u for u in urls}
        record_channel(store, "me", "notify[1]", "needs_attention", "errcode 93000: invalid webhook url")
        assert alert_on_status_change(store, "me", "ok", "needs_attention", "用户名或密码错误", urls=urls) == 1
        assert alert_on_status_change(store, "me", "needs_attention", "needs_attention", "again", urls=urls) == 0
        drain(store, targets, send=SEND)
        assert alert_on_status_change(store, "me", "needs_attention", "ok", "", urls=urls) == 1
        assert alert_on_status_change(store, "me", "ok", "ok", "", urls=urls) == 0
        drain(store, targets, send=SEND)
        got = ok.delivered()
    assert [r.title for r in got] == ["gradewatch: me 需要处理", "gradewatch: me 已恢复正常"]
    assert "用户名或密码错误" in got[0].content and "密码" in got[0].content
    assert refused.received == []  # the refused channel is not bothered
    assert [m.kind for m in store.messages("me")] == ["alert", "alert"]


def test_school_outage_told_once_and_on_recovery():
    t0 = utcnow()  # the last good check; then a failed check every hour
    told = []
    previous = t0
    for h in range(1, 10):
        now = t0 + timedelta(hours=h)
        change = school_outage_change(t0, previous, now, 6, ok=False)
        told += [(h, change)] if change else []
        previous = now
    recovered = school_outage_change(t0, previous, previous + timedelta(hours=1), 6, ok=True)
    assert told == [(6, "down")] and recovered == "recovered"
    assert school_outage_change(t0, t0 + timedelta(hours=1), t0 + timedelta(hours=2), 6, ok=True) is None


def test_school_failing_threshold():
    now = utcnow()
    assert school_failing_too_long(now - timedelta(hours=7), 6, now)
    assert not school_failing_too_long(now - timedelta(hours=5), 6, now)
    assert not school_failing_too_long(None, 6, now)


def test_privacy_modes_hide_scores_everywhere():
    gs = grades(3)
    d = diff_grades({}, keyed(gs))
    for mode, names_shown in (("hide_scores", True), ("hide_all", False)):
        [n] = compose(d, [], gs, False, account="me", privacy=mode)
        for url in ("schan://SCT1a2b3c4d5e6f7g8h9", "bark://ABCdef123456", "pushplus://" + "0" * 32,
                    "mailto://127.0.0.1:25?mode=insecure&from=a@b.example&to=c@d.example"):
            for part in render_parts(n, channel_for(url)):
                everything = part.subject + part.body_text + part.body_html
                assert not re.search(r"\b6[0-2]\b", everything), everything  # the scores are 60, 61, 62
                assert ("程序设计实践" in everything) == names_shown


def test_watcher_alerts_on_wrong_password_and_on_recovery(ssfw_sim, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    from gradewatch.app import open_app

    with PushStandin("ntfy") as standin:
        cfg = tmp_path / "gradewatch.toml"
        cfg.write_text(f"""
database = "sqlite:///gw.db"
key_file = "gw.key"
[schools.uni]
system = "ssfw"
base_url = "{ssfw_sim.base_url}"
[accounts.student]
school = "uni"
username = "{ssfw_sim.username}"
password_env = "GW_ALERT_PW"
notify = ["{service_url('ntfy', standin.base)}"]
""", encoding="utf-8")
        monkeypatch.setenv("GW_ALERT_PW", "not-the-password")
        app = open_app(cfg, logging=False)
        assert [r.outcome for r in app.watcher.check_all()] == ["wrong_password"]
        assert [r.outcome for r in app.watcher.check_all()] == ["skipped"]  # no second alert either
        monkeypatch.setenv("GW_ALERT_PW", ssfw_sim.password)
        assert [r.outcome for r in app.watcher.check_all()] == ["ok"]
        app.watcher.send_pending()
        app.close()
        titles = [r.title for r in standin.delivered()]
    assert titles[0] == "gradewatch: student 需要处理" and titles[-1] == "gradewatch: student 已恢复正常"
    assert len(titles) == 3 and titles[1].startswith("全部成绩")  # the alert, the first table, the recovery


def test_a_channel_refused_for_good_is_told_once_on_the_others(tmp_path):  # type: ignore[no-untyped-def]
    from gradewatch.notify.targets import account_targets
    from gradewatch.store.db import Notice

    store = open_store(tmp_path)
    store.ensure_account("me", school="uni", system="ssfw", username="me")
    with PushStandin("ntfy") as ok, PushStandin("wecombot", mode="app_error") as refused:
        urls = [service_url("ntfy", ok.base), service_url("wecombot", refused.base)]
        found = account_targets(store.vault.fingerprint, urls)
        channels = {("me", t.channel): t.url for t in found}
        targets = {t.fingerprint: t.url for t in found}
        for n_grades in (1, 2):  # two grade notices for both channels: the bot refuses both
            notice = Notice("update", "新成绩", "x", "<p>x</p>")
            store.apply_grades("me", store.start_check("me"), grades(n_grades), lambda *a, n=notice: [n],
                               [t.fingerprint for t in found], [t.channel for t in found])
            drain(store, targets, send=SEND, channels=channels, notify_urls={"me": urls})
        drain(store, targets, send=SEND, channels=channels, notify_urls={"me": urls})
        titles = [r.title for r in ok.delivered()]
    assert titles.count("gradewatch: me 需要处理") == 1  # told once, on the channel that works
    assert len(refused.received) == 2  # the refused one got no alert (and no retry)
