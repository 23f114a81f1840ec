"""Encryption at rest: a Fernet key in a file created with mode 0600, and keyed fingerprints.

Session cookies and any password the user asks us to keep are encrypted with this key, so the
database alone reveals nothing. The fingerprint lets us notice a changed password (to lift a
"wrong password" hold) without storing the password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from gradewatch.logs import register_secret

log = logging.getLogger(__name__)


class SecretsError(Exception):
    """The key is not a key, or a stored secret does not decrypt with it."""


class KeyFileAccessError(SecretsError):
    """The key file cannot be created or read (permissions, a directory in its place …)."""


def exposed_mode(path: Path) -> int | None:
    """The file's permission bits when group or others may read it, else None (also when it is absent)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & 0o044 else None


def warn_if_exposed(path: Path, what: str) -> bool:
    """Log a warning (once per call) when ``path`` is readable by group or others. True if it is."""
    mode = exposed_mode(path)
    if mode is None:
        return False
    log.warning("%s %s is readable by other users (mode %03o); run: chmod 600 %s", what, path, mode, path)
    return True


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"gradewatch-fingerprint" + key).digest()
        # Apart from the fingerprints' key: a stored fingerprint never tells a derived secret.
        self._derive_key = hashlib.sha256(b"gradewatch-derive" + key).digest()

    @classmethod
    def from_env(cls, name: str = "GRADEWATCH_KEY") -> Vault | None:
        """The key from an environment variable (a runner's secret) instead of a file; None if unset."""
        value = os.environ.get(name, "").strip()
        if not value:
            return None
        try:
            vault = cls(value.encode())
        except ValueError:
            raise SecretsError(f"{name}: not a gradewatch key (make one with `gradewatch key new`)") from None
        register_secret(value)
        return vault

    @classmethod
    def open(cls, path: Path) -> Vault:
        """Load the key file, creating it (0600, never overwritten) on first use."""
        path = Path(path)
        if not path.exists():
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first; read theirs
            except OSError as err:
                raise KeyFileAccessError(
                    f"key file {path}: cannot create: {err.strerror or type(err).__name__}") from None
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        try:
            key = path.read_bytes().strip()
        except OSError as err:
            raise KeyFileAccessError(f"key file {path}: cannot read: {err.strerror or type(err).__name__}") from None
        try:
            vault = cls(key)
        except ValueError:
            raise SecretsError(f"key file {path}: not a gradewatch key (expected one Fernet key)") from None
        register_secret(key.decode("ascii", "replace"))
        warn_if_exposed(path, "key file")
        return vault

    def encrypt(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._fernet.decrypt(token)
        except InvalidToken:
            raise SecretsError("stored secret cannot be decrypted with this key file") from None

    def encrypt_json(self, obj: Any) -> bytes:
        return self.encrypt(json.dumps(obj).encode())

    def decrypt_json(self, token: bytes) -> Any:
        return json.loads(self.decrypt(token))

    def derive(self, purpose: str) -> str:
        """A secret of its own for ``purpose`` (the web's cookie-signing key): the same in every
        process that has this key file, and telling nothing about the key."""
        digest = hmac.new(self._derive_key, purpose.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode()

    def fingerprint(self, secret: str) -> str:
        digest = hmac.new(self._mac_key, secret.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()
