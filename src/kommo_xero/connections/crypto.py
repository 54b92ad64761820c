"""Encryption of tokens at rest (Fernet) and where its key comes from.

The key is read from `KOMMO_XERO_SECRET_KEY` (several keys separated by commas: the first
encrypts, all decrypt, which lets a key be rotated), or for the embedded single-machine
default generated once into `<data_dir>/secret.key` with 0600 permissions.
"""

from __future__ import annotations

import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

SECRET_KEY_ENV = "KOMMO_XERO_SECRET_KEY"
KEY_FILE_NAME = "secret.key"


class SecretKeyError(Exception):
    """The key is missing, malformed, or not the one the stored tokens were encrypted with."""


@dataclass(frozen=True)
class KeySource:
    """Where the key came from, for `doctor` (never the key itself)."""

    kind: str  # "env" | "file"
    path: Path | None = None
    created: bool = False

    def describe(self) -> str:
        if self.kind == "env":
            return f"from ${SECRET_KEY_ENV}"
        return f"from {self.path}" + (" (generated now)" if self.created else "")


class SecretBox:
    """Encrypts and decrypts token strings; its repr shows nothing of the key."""

    def __init__(self, keys: list[bytes], source: KeySource) -> None:
        if not keys:
            raise SecretKeyError("no secret key given")
        try:
            self._fernet = MultiFernet([Fernet(k) for k in keys])
        except ValueError:
            raise SecretKeyError(
                f"{SECRET_KEY_ENV} is not a valid key: generate one with "
                "`python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from None
        self.source = source

    def __repr__(self) -> str:
        return f"SecretBox({self.source.describe()})"

    def encrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        return self._fernet.encrypt(value.encode()).decode("ascii")

    def decrypt(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return self._fernet.decrypt(value.encode("ascii")).decode()
        except InvalidToken:
            raise SecretKeyError(
                "stored tokens cannot be decrypted with the current secret key: restore the "
                f"key they were stored with ({self.source.describe()}) or reconnect"
            ) from None


def _read_or_create_key_file(path: Path) -> tuple[bytes, bool]:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL: of several processes starting together exactly one writes the key.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes().strip()
        for _ in range(20):  # another process may have created it and not yet written it
            if key:
                break
            time.sleep(0.05)
            key = path.read_bytes().strip()
    else:
        key = Fernet.generate_key()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key + b"\n")
        return key, True
    if not key:
        raise SecretKeyError(f"{path} is empty: delete it (and reconnect) or restore it")
    return key, False


def load_secret_box(data_dir: Path) -> SecretBox:
    """The key from the environment, else from (or newly into) `<data_dir>/secret.key`."""
    configured = os.environ.get(SECRET_KEY_ENV, "").strip()
    if configured:
        keys = [k.strip().encode() for k in configured.split(",") if k.strip()]
        return SecretBox(keys, KeySource("env"))
    path = data_dir / KEY_FILE_NAME
    key, created = _read_or_create_key_file(path)
    return SecretBox([key], KeySource("file", path, created))


def key_file_too_open(path: Path) -> bool:
    """True when group or others may read the key file."""
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))
