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
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken


class SecretsError(Exception):
    pass


class Vault:
    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)
        self._mac_key = hashlib.sha256(b"gradewatch-fingerprint" + key).digest()

    @classmethod
    def from_env(cls, name: str = "GRADEWATCH_KEY") -> Vault | None:
        """The key from an environment variable (a runner's secret) instead of a file; None if unset."""
        value = os.environ.get(name, "").strip()
        if not value:
            return None
        try:
            return cls(value.encode())
        except ValueError:
            raise SecretsError(f"{name}: not a gradewatch key (make one with `gradewatch key new`)") from None

    @classmethod
    def open(cls, path: Path) -> Vault:
        """Load the key file, creating it (0600, never overwritten) on first use."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process created it first; read theirs
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        try:
            key = path.read_bytes().strip()
            return cls(key)
        except (OSError, ValueError) as err:
            raise SecretsError(f"{path}: not a usable key file ({type(err).__name__})") from None

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

    def fingerprint(self, secret: str) -> str:
        digest = hmac.new(self._mac_key, secret.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()
