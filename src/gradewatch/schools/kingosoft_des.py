"""The DES of 青果 (Kingosoft) login pages: ``strEnc(data, _deskey, null, null)`` of ``jkingo.des.js``.

It is not standard DES, so a crypto library does not reproduce it. What the page script does:

- strings are cut into blocks of 4 UTF-16 code units (8 bytes, big-endian), the last block padded
  with zero units; the key (``_deskey``, 19 digits) is cut the same way, and *each* key piece
  encrypts each block in turn (5 pieces: 5 DES passes per block);
- each pass is the DES Feistel network with the standard IP, E, S-boxes, P and FP, but a key
  permutation whose second half (D) takes the key's bit rows in the opposite order to PC-1;
- the output is upper-case hex, 16 digits per block. Decryption drops zero code units.

The tests check this module against vectors produced by running the public ``strEnc`` itself.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

# Key permutation of the routine: bit row i of the key, bytes from the last to the first.
_PC1 = tuple(8 * (7 - j) + i for i in range(7) for j in range(8))
_SHIFTS = (1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1)
_PC2 = (13, 16, 10, 23, 0, 4, 2, 27, 14, 5, 20, 9, 22, 18, 11, 3, 25, 7, 15, 6, 26, 19, 12, 1,
        40, 51, 30, 36, 46, 54, 29, 39, 50, 44, 32, 47, 43, 48, 38, 55, 33, 52, 45, 41, 49, 35, 28, 31)
_IP = tuple([(7 - k) * 8 + 2 * i + 1 for i in range(4) for k in range(8)]
            + [(7 - k) * 8 + 2 * i for i in range(4) for k in range(8)])
_FP = tuple(_IP.index(n) for n in range(64))  # the inverse of IP
_E = tuple(((4 * i - 1) % 32, 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3, (4 * i + 4) % 32) for i in range(8))
_P = (15, 6, 19, 20, 28, 11, 27, 16, 0, 14, 22, 25, 4, 17, 30, 9,
      1, 7, 23, 13, 31, 26, 2, 8, 18, 12, 29, 5, 21, 10, 3, 24)
_S = (
    (14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
     4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13),
    (15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
     0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9),
    (10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
     13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12),
    (7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
     10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14),
    (2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
     4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3),
    (12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
     9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13),
    (4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
     1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12),
    (13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
     7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11),
)

Bits = tuple[int, ...]


def _units(text: str) -> list[int]:
    """The UTF-16 code units of ``text`` (what JavaScript's charCodeAt counts)."""
    raw = text.encode("utf-16-be", errors="surrogatepass")
    return [int.from_bytes(raw[i:i + 2], "big") for i in range(0, len(raw), 2)]


def _block_bits(units: list[int]) -> Bits:
    """Up to 4 code units as 64 bits, most significant first, zero-padded."""
    units = (units + [0, 0, 0, 0])[:4]
    return tuple((u >> (15 - b)) & 1 for u in units for b in range(16))


@lru_cache(maxsize=64)
def _subkeys(key: Bits) -> tuple[Bits, ...]:
    cd = [key[i] for i in _PC1]
    out = []
    for shift in _SHIFTS:
        cd = cd[shift:28] + cd[:shift] + cd[28 + shift:] + cd[28:28 + shift]
        out.append(tuple(cd[i] for i in _PC2))
    return tuple(out)


def _feistel(right: Bits, subkey: Bits) -> Bits:
    out: list[int] = []
    for box, idx in enumerate(_E):
        six = [right[i] ^ subkey[box * 6 + n] for n, i in enumerate(idx)]
        value = _S[box][(six[0] * 2 + six[5]) * 16 + six[1] * 8 + six[2] * 4 + six[3] * 2 + six[4]]
        out.extend((value >> (3 - b)) & 1 for b in range(4))
    return tuple(out[i] for i in _P)


def _crypt(block: Bits, subkeys: tuple[Bits, ...]) -> Bits:
    permuted = [block[i] for i in _IP]
    left, right = tuple(permuted[:32]), tuple(permuted[32:])
    for subkey in subkeys:
        left, right = right, tuple(a ^ b for a, b in zip(left, _feistel(right, subkey), strict=True))
    joined = right + left
    return tuple(joined[i] for i in _FP)


def _key_pieces(key: str) -> list[Bits]:
    units = _units(key)
    return [_block_bits(units[i:i + 4]) for i in range(0, len(units), 4)]


def str_enc(data: str, key: str) -> str:
    """``strEnc(data, key, null, null)``: upper-case hex, 16 digits per 4-unit block."""
    pieces = [_subkeys(k) for k in _key_pieces(key)]
    units = _units(data)
    out = []
    for i in range(0, len(units), 4):
        bits = _block_bits(units[i:i + 4])
        for subkeys in pieces:
            bits = _crypt(bits, subkeys)
        out.append(f"{int(''.join(map(str, bits)), 2):016X}")
    return "".join(out)


def str_dec(data: str, key: str) -> str:
    """``strDec(data, key, null, null)``: the inverse of :func:`str_enc` (zero code units dropped)."""
    pieces = [tuple(reversed(_subkeys(k))) for k in _key_pieces(key)]
    units: list[int] = []
    for i in range(0, len(data) - len(data) % 16, 16):
        value = int(data[i:i + 16], 16)
        bits: Bits = tuple((value >> (63 - b)) & 1 for b in range(64))
        for subkeys in reversed(pieces):
            bits = _crypt(bits, subkeys)
        for u in range(4):
            unit = int("".join(map(str, bits[u * 16:(u + 1) * 16])), 2)
            if unit:
                units.append(unit)
    raw = b"".join(u.to_bytes(2, "big") for u in units)
    return raw.decode("utf-16-be", errors="surrogatepass")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode("utf-8")).hexdigest()


def encrypt_params(plain: str, deskey: str, nowtime: str) -> dict[str, str]:
    """What the page's ``getEncParams(plain)`` posts: DES-then-base64 ``params``, ``token``, ``timestamp``."""
    return {
        "params": base64.b64encode(str_enc(plain, deskey).encode("utf-8")).decode("ascii"),
        "token": md5_hex(md5_hex(plain) + md5_hex(nowtime)),
        "timestamp": nowtime,
    }


def decrypt_params(params: str, deskey: str) -> str:
    """The server side of :func:`encrypt_params`; raises ValueError on anything that is not its output."""
    try:
        hex_text = base64.b64decode(params, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        raise ValueError("params is not base64 of hex") from None
    if not hex_text or len(hex_text) % 16 or any(c not in "0123456789ABCDEF" for c in hex_text):
        raise ValueError("params is not the DES routine's hex")
    return str_dec(hex_text, deskey)
