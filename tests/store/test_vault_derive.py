"""Secrets derived from the key file: the same in every process with that key, different for
another key or purpose, and not a fingerprint (fingerprints are stored in the database)."""

from __future__ import annotations

from cryptography.fernet import Fernet

from gradewatch.secrets import Vault


def test_a_derived_secret_is_fixed_by_the_key_and_purpose_and_is_no_fingerprint():
    key = Fernet.generate_key()
    one, same = Vault(key), Vault(key)  # two processes with one key file
    other = Vault(Fernet.generate_key())
    cookie = one.derive("web session cookies")
    assert cookie == same.derive("web session cookies") and len(cookie) >= 43  # 256 bits, base64
    assert cookie != other.derive("web session cookies")
    assert cookie != one.derive("something else")
    assert not cookie.startswith(one.fingerprint("web session cookies"))
    assert key.decode() not in cookie
