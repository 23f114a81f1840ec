"""RSA-keyed CAS builds: the password travels RSA-encrypted (reversed, PKCS#1 v1.5, hex), the
simulator decrypts it with its private key, and the watcher gets in."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from gradewatch.frontdoor.cas_rsa import key_json, rsa_decrypt_password, rsa_encrypt_password
from gradewatch.notify.sink import SmtpSink
from watch.helpers import app_for, write_config


def test_round_trip_and_a_foreign_key_fails():
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pub = key_json(key)
    token = rsa_encrypt_password("pässwörd-123", pub["modulus"], pub["exponent"])
    assert all(c in "0123456789abcdef" for c in token) and len(token) == 256
    assert token != rsa_encrypt_password("pässwörd-123", pub["modulus"], pub["exponent"])  # random padding
    assert rsa_decrypt_password(token, key) == "pässwörd-123"
    other = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    with pytest.raises(ValueError):
        rsa_decrypt_password(token, other)
    with pytest.raises(ValueError):
        rsa_encrypt_password("x", "not-hex", "10001")


@pytest.mark.parametrize("generation", ["old", "new"])
def test_watcher_signs_in_through_an_rsa_cas_and_the_wire_has_no_plaintext(make_fronted, tmp_path, generation):
    fronted = make_fronted("zf", cas=True, generation=generation, cipher="rsa", captcha=True)
    with SmtpSink() as sink:
        cfg = write_config(tmp_path, fronted.base_url, fronted.username, [sink.url()], system="zf",
                           extra_school=fronted.school_toml)
        app = app_for(cfg, fronted.password)
        [r] = app.watcher.check_all()
        assert r.outcome == "ok", r.message
        app.close()
    stats = fronted.cas_admin.stats(fronted.username)
    assert stats["successful_logins"] == 1 and stats["login_posts"] == 1  # the simulator decrypted it
    [body] = fronted.cas.login_bodies
    secret = fronted.password
    for form in (secret, secret[::-1]):
        assert form.encode() not in body and quote_plus(form).encode() not in body


def test_a_wrong_password_through_rsa_is_a_wrong_password(make_fronted, tmp_path):
    fronted = make_fronted("qiangzhi", cas=True, cipher="rsa", login="seed", captcha=True)
    cfg = write_config(tmp_path, fronted.base_url, fronted.username, [], system="qiangzhi",
                       extra_school=fronted.school_toml)
    app = app_for(cfg, "not-the-password")
    [r] = app.watcher.check_all()
    assert r.outcome == "wrong_password", r.message
    app.close()
    assert fronted.cas_admin.stats(fronted.username)["outcomes"]["wrong_password"] == 1
