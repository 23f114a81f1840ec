"""The 金智 (Wisedu) CAS authserver's password encoding (school-systems.md §6a, both generations).

The login page carries a 16-character salt; the browser sends base64(AES-128-CBC(key=salt, iv=16
random characters, PKCS#7)) of 64 random characters followed by the password. The server decrypts
and drops the first 64 characters, so the IV (which only garbles the first block) never matters.
"""

from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

#: The random-character alphabet of the page's script (no look-alike letters or digits).
ALPHABET = "ABCDEFGHJKMNPQRSTWXYZabcdefhijkmnprstwxyz2345678"
PREFIX = 64


def random_chars(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def encrypt_password(password: str, salt: str) -> str:
    key = salt.strip().encode()
    if len(key) not in (16, 24, 32):
        raise ValueError(f"the CAS page's salt has {len(key)} bytes, not an AES key size")
    padder = padding.PKCS7(128).padder()
    data = padder.update((random_chars(PREFIX) + password).encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(key), modes.CBC(random_chars(16).encode())).encryptor()
    return base64.b64encode(enc.update(data) + enc.finalize()).decode()


def decrypt_password(token: str, salt: str) -> str:
    """What the server does (the simulator uses it). Raises ValueError on anything malformed."""
    try:
        raw = base64.b64decode("".join(token.split()), validate=True)
    except ValueError:
        raise ValueError("the password is not base64") from None
    if not raw or len(raw) % 16:
        raise ValueError("the password is not an AES ciphertext")
    dec = Cipher(algorithms.AES(salt.encode()), modes.CBC(b"\0" * 16)).decryptor()
    data = dec.update(raw) + dec.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        plain = unpadder.update(data) + unpadder.finalize()
    except ValueError:
        raise ValueError("the password's padding is wrong (wrong salt?)") from None
    return plain[PREFIX:].decode("utf-8", errors="strict")
