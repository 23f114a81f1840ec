"""WeChat template messages against the loopback stand-in: what is sent where, the access token's
life, and the answers that mean "never retry"."""

from __future__ import annotations

import pytest

from gradewatch.notify.channels import DeliveryError, Message, UrlError, channel_for, deliver
from gradewatch.notify.standins import PushStandin

from .helpers import service_url

MSG = Message("成绩更新", "高等数学 92", "", "<id>")


def test_the_template_send_carries_openid_template_and_fields():  # type: ignore[no-untyped-def]
    with PushStandin("wechatmp") as standin:
        deliver(service_url("wechatmp", standin.base), MSG, timeout=5)
    [got] = standin.delivered()
    assert got.path == "/cgi-bin/message/template/send"
    assert got.body["touser"] == "oOPENID_student1"
    assert got.body["template_id"] == "Tmpl_ABCdef123"  # case kept, although it sits in the host part
    assert (got.title, got.content) == ("成绩更新", "高等数学 92")


def test_fields_named_in_the_url_are_used():  # type: ignore[no-untyped-def]
    with PushStandin("wechatmp") as standin:
        deliver(service_url("wechatmp", standin.base) + "&title=thing1&body=thing2", MSG, timeout=5)
    assert standin.received[0].body["data"] == {"thing1": {"value": "成绩更新"}, "thing2": {"value": "高等数学 92"}}


def test_token_is_cached_and_fetched_again_once_when_expired():  # type: ignore[no-untyped-def]
    with PushStandin("wechatmp") as standin:
        url = service_url("wechatmp", standin.base).replace("APPSECRET", "APPSECRET2")  # own cache entry
        deliver(url, MSG, timeout=5)
        deliver(url, MSG, timeout=5)
        assert standin.tokens_issued == 1
        standin.revoked_tokens.add("ACCESS_TOKEN_1")
        deliver(url, MSG, timeout=5)
        assert standin.tokens_issued == 2 and len(standin.delivered()) == 3


def test_not_subscribed_is_permanent_and_names_the_code_not_the_secret():  # type: ignore[no-untyped-def]
    with PushStandin("wechatmp", mode="app_error") as standin:
        with pytest.raises(DeliveryError) as err:
            deliver(service_url("wechatmp", standin.base), MSG, timeout=5)
    assert err.value.permanent and "43004" in str(err.value) and "APPSECRET" not in str(err.value)


@pytest.mark.parametrize("url", [
    "wxmp://wx0123456789abcdef@Tmpl/oOPENID",  # no secret
    "wxmp://notanappid:S@Tmpl/oOPENID",
    "wxmp://wx0123456789abcdef:S@Tmpl",  # no openid
    "wxmp://wx0123456789abcdef:S@Tmpl/oOPENID?title=bad-field",
])
def test_bad_urls_are_refused_with_a_reason(url):  # type: ignore[no-untyped-def]
    with pytest.raises(UrlError) as err:
        channel_for(url)
    assert "WeChat template" in str(err.value) and ":S@" not in str(err.value)
