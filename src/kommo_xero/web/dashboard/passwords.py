"""The admin password: scrypt hashes, kept in the environment or a 0600 file in the data dir.

Format: `scrypt$<n>$<r>$<p>$<salt b64>$<hash b64>`, so the cost can be raised later and
old hashes still verify.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

PASSWORD_HASH_ENV = "KOMMO_XERO_ADMIN_PASSWORD_HASH"
PASSWORD_FILE = "admin-password"
MIN_PASSWORD_LENGTH = 10

# scrypt cost: ~50 ms and 16 MiB per check, which makes guessing slow without hurting a person.
_N, _R, _P = 2**14, 8, 1


class PasswordError(ValueError):
    """The password (or the stored hash) is not usable; the message says why."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    """True when `password` matches `encoded` (constant-time compare)."""
    try:
        scheme, n, r, p, salt, expected = encoded.strip().split("$")
        if scheme != "scrypt":
            return False
        digest = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(base64.b64decode(expected)),
            maxmem=256 * 1024 * 1024,
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, base64.b64decode(expected))


def write_secret_file(path: Path, content: str) -> None:
    """Write `content` readable by the owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(content)
    os.chmod(path, 0o600)


def store_password_hash(data_dir: Path, encoded: str) -> Path:
    path = data_dir / PASSWORD_FILE
    write_secret_file(path, encoded + "\n")
    return path


def load_password_hash(data_dir: Path) -> str | None:
    """The hash in force: the environment wins over the file; None when neither is set."""
    from_env = os.environ.get(PASSWORD_HASH_ENV, "").strip()
    if from_env:
        return from_env
    path = data_dir / PASSWORD_FILE
    if path.is_file():
        return path.read_text().strip() or None
    return None
