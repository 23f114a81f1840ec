"""Images that declare a size and hold no pixels, for the size checks made before decoding."""

from __future__ import annotations

import struct
import zlib


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes that declares ``width`` x ``height`` one-bit pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
