"""RSA-keyed CAS builds: no salt in the page; the page's script fetches an RSA public key and the
browser sends the password RSA-encrypted.

Facts used (published clients): the key comes from ``{authserver}/v2/getPubKey`` as JSON
``{"modulus": hex, "exponent": hex}`` (a published client of 闽江学院's authserver); the page
encrypts the password *reversed* with PKCS#1 v1.5 and sends the ciphertext as hex (the
``RSAUtils.encryptedString`` convention, reproduced by a published Dart client: ``encrypt(
data.split("").reversed.join()).base16`` with modulus and exponent parsed as hex).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import padding, rsa

#: Where the page's script fetches the key, relative to the authserver root.
PUBKEY_PATH = "/v2/getPubKey"


def public_key(modulus_hex: str, exponent_hex: str) -> rsa.RSAPublicKey:
    try:
        n, e = int(modulus_hex, 16), int(exponent_hex, 16)
        return rsa.RSAPublicNumbers(e, n).public_key()
    except ValueError:
        raise ValueError("the CAS's RSA key is not a hex modulus and exponent") from None


def rsa_encrypt_password(password: str, modulus_hex: str, exponent_hex: str) -> str:
    key = public_key(modulus_hex, exponent_hex)
    return key.encrypt(password[::-1].encode(), padding.PKCS1v15()).hex()


def rsa_decrypt_password(token: str, key: rsa.RSAPrivateKey) -> str:
    """What the server does (the simulator uses it). Raises ValueError on anything malformed."""
    try:
        raw = bytes.fromhex(token.strip())
        plain = key.decrypt(raw, padding.PKCS1v15())
    except ValueError:
        raise ValueError("the password is not an RSA ciphertext of this key") from None
    return plain.decode("utf-8")[::-1]


def key_json(key: rsa.RSAPrivateKey) -> dict[str, str]:
    """The getPubKey answer for ``key``."""
    numbers = key.public_key().public_numbers()
    return {"modulus": format(numbers.n, "x"), "exponent": format(numbers.e, "x")}
