"""Config: every service's own URL form is accepted and mapped to the right channel; a typo'd
scheme or a malformed key is rejected at load, naming the account and the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from gradewatch.config import ConfigError, config_from_dict
from gradewatch.notify.channels import channel_for

UUID = "693a91f6-7aaa-4bc4-97a0-0ec2afa5aaaa"
DING = "a1" * 32

ACCEPTED = [
    ("mailtos://123456:AUTHCODE@qq.com:465?mode=ssl&to=123456@qq.com", "Email", "smtp.qq.com"),
    ("schan://SCT1a2b3c4d5e6f7g8h9", "ServerChan", "https://sctapi.ftqq.com/SCT1a2b3c4d5e6f7g8h9.send"),
    ("https://sctapi.ftqq.com/SCT1a2b3c4d5e6f7g8h9.send", "ServerChan",
     "https://sctapi.ftqq.com/SCT1a2b3c4d5e6f7g8h9.send"),
    ("schan://sctp1234tAbC9dEf8gH7", "ServerChan3", "https://1234.push.ft07.com/send/sctp1234tAbC9dEf8gH7.send"),
    ("https://1234.push.ft07.com/send/sctp1234tAbC9dEf8gH7.send", "ServerChan3",
     "https://1234.push.ft07.com/send/sctp1234tAbC9dEf8gH7.send"),
    ("pushplus://0123456789abcdef0123456789abcdef", "PushPlus", "https://www.pushplus.plus/send"),
    ("https://www.pushplus.plus/send?token=0123456789abcdef0123456789abcdef", "PushPlus",
     "https://www.pushplus.plus/send"),
    ("wxpusher://AT_qHT0cTQfcZNVtAbCdEf/UID_student1", "WxPusher", "https://wxpusher.zjiecode.com/api/send/message"),
    (f"wecombot://{UUID}", "WeComBot", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={UUID}"),
    (f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={UUID}", "WeComBot",
     f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={UUID}"),
    ("wecomapp://ww0123456789abcdef:CORPSECRET@1000002/@all", "WeComApp", None),
    (f"dingtalk://{DING}", "DingTalk", f"https://oapi.dingtalk.com/robot/send?access_token={DING}"),
    (f"https://oapi.dingtalk.com/robot/send?access_token={DING}", "DingTalk",
     f"https://oapi.dingtalk.com/robot/send?access_token={DING}"),
    (f"https://oapi.dingtalk.com/robot/send?access_token={DING}&secret=SEC{'b2' * 32}", "DingTalk", None),
    (f"feishu://{UUID}", "Feishu", f"https://open.feishu.cn/open-apis/bot/v2/hook/{UUID}"),
    (f"https://open.feishu.cn/open-apis/bot/v2/hook/{UUID}", "Feishu",
     f"https://open.feishu.cn/open-apis/bot/v2/hook/{UUID}"),
    (f"https://open.feishu.cn/open-apis/bot/v2/hook/{UUID}?secret=s3cr3t", "Feishu", None),
    ("bark://ABCdef123456", "Bark", "https://api.day.app/push"),
    ("https://api.day.app/ABCdef123456", "Bark", "https://api.day.app/push"),
    ("barks://bark.example.com/ABCdef123456", "Bark", "https://bark.example.com/push"),
    ("tgram://123456789:AAEhBP0av28fz5sAAbbbbbbbbbbbbbbbbbb/12345", "Telegram",
     "https://api.telegram.org/bot123456789:AAEhBP0av28fz5sAAbbbbbbbbbbbbbbbbbb/sendMessage"),
    ("ntfy://gradewatch_me", "Ntfy", "https://ntfy.sh/"),
    ("https://ntfy.sh/gradewatch_me", "Ntfy", "https://ntfy.sh/"),
    ("ntfys://ntfy.example.com/grades", "Ntfy", "https://ntfy.example.com/"),
    ("json://hooks.example.com/gw?success=code:0", "Webhook", "http://hooks.example.com/gw"),
    ("forms://hooks.example.com/gw", "Webhook", "https://hooks.example.com/gw"),
]


def _config(*urls: str) -> dict:  # type: ignore[type-arg]
    return {"schools": {"s": {"system": "ssfw", "base_url": "https://jw.example.edu.cn"}},
            "accounts": {"me": {"school": "s", "username": "u", "notify": list(urls)}}}


@pytest.mark.parametrize("url, cls, endpoint", ACCEPTED)
def test_each_url_form_is_accepted_and_mapped(url: str, cls: str, endpoint: str | None) -> None:
    config_from_dict(_config(url), base_dir=Path("."))
    ch = channel_for(url)
    assert type(ch).__name__ == cls
    if endpoint and hasattr(ch, "build"):
        from gradewatch.notify.channels import Message

        assert ch.build(Message("t", "b", "<p>b</p>", "<id>")).url == endpoint  # type: ignore[attr-defined]
    elif endpoint:
        assert endpoint in ch.describe()


@pytest.mark.parametrize("url, words", [
    ("serverchan://SCT1a2b3c4d5e6f7g8h9", "did you mean schan://"),
    ("dingtlak://" + DING, "did you mean dingtalk://"),
    ("schan://hello", "not a Server酱 SendKey"),
    ("https://sctapi.ftqq.com/SCTshort.send", "not a Server酱 SendKey"),
    ("https://oapi.dingtalk.com/robot/send?access_token=abc", "not a DingTalk access_token"),
    (f"https://oapi.dingtalk.com/robot/send?access_token={DING}&secret=nope", "secret starts with SEC"),
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=123", "not a 企业微信 bot key"),
    ("https://open.feishu.cn/open-apis/bot/v2/hook/xyz", "not a Feishu bot hook token"),
    ("tgram://123456789:AAEhBP0av28fz5sAAbbbbbbbbbbbbbbbbbb", "needs a chat id"),
    ("wxpusher://AT_qHT0cTQfcZNVtAbCdEf", "needs recipients"),
    ("pushplus://x", "not a PushPlus token"),
    ("json://h/p?success=code", "success= must be FIELD:VALUE"),
    ("mailtos://:@", "not a valid e-mail URL"),
    ("not a url", "not a notification URL"),
])
def test_bad_urls_rejected_naming_account_and_key(url: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        config_from_dict(_config("ntfy://fine_topic", url), base_dir=Path("."), source="gw.toml")
    msg = str(err.value)
    assert msg.startswith("gw.toml: accounts.me.notify[1]: ") and words in msg, msg
    assert "\n" not in msg and "Traceback" not in msg
    assert "SCT1a2b3c4d5e6f7g8h9" not in msg  # the key itself is never echoed


def test_a_bare_serverchan_key_becomes_its_url() -> None:
    from gradewatch.notify.channels import channel_for, url_from_key

    url = url_from_key(" SCT1a2b3c4d5e6f7g8h9 ")
    assert url == "https://sctapi.ftqq.com/SCT1a2b3c4d5e6f7g8h9.send"
    assert url is not None and type(channel_for(url)).__name__ == "ServerChan"
    assert url_from_key("mailto://x") is None and url_from_key("SCT1") is None
