"""OAuth codes, access tokens and rotating refresh tokens of the simulated account."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_like(claims: dict[str, object]) -> str:
    """A token shaped like Kommo's JWTs (header.payload.signature); the signature is random."""
    header = _b64(json.dumps({"typ": "JWT", "alg": "RS256"}).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_b64(secrets.token_bytes(32))}"


@dataclass
class RefreshToken:
    token: str
    successor: str | None = None  # the refresh token issued when this one was used
    revoked: bool = False


@dataclass
class AuthCode:
    code: str
    redirect_uri: str
    expires_at: float


@dataclass
class TokenStore:
    """Access tokens expire; a used refresh token stays valid until its successor is used once."""

    access: dict[str, float] = field(default_factory=dict)  # token -> expires_at (sim clock)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    long_lived_revoked: bool = False

    def issue_code(self, redirect_uri: str, expires_at: float) -> str:
        code = secrets.token_hex(32)
        self.codes[code] = AuthCode(code, redirect_uri, expires_at)
        return code

    def take_code(self, code: str, now: float) -> AuthCode | None:
        found = self.codes.pop(code, None)
        return found if found is not None and found.expires_at > now else None

    def issue_pair(self, claims: dict[str, object], expires_at: float) -> tuple[str, str]:
        access = jwt_like(claims)
        refresh = secrets.token_urlsafe(48)
        self.access[access] = expires_at
        self.refresh[refresh] = RefreshToken(refresh)
        return access, refresh

    def use_refresh(self, token: str) -> bool:
        """Spend a refresh token; False when it is unknown or revoked."""
        record = self.refresh.get(token)
        if record is None or record.revoked:
            return False
        # The first use of a successor is what finally revokes its predecessor.
        for other in self.refresh.values():
            if other.successor == token:
                other.revoked = True
        if record.successor is not None:
            # Used again before its successor: that successor is superseded by a new one.
            self.refresh[record.successor].revoked = True
        return True

    def link(self, used: str, new_refresh: str) -> None:
        self.refresh[used].successor = new_refresh

    def access_valid(self, token: str, now: float) -> bool:
        expires_at = self.access.get(token)
        return expires_at is not None and expires_at > now

    def revoke_all(self, long_lived: bool) -> None:
        self.access.clear()
        for record in self.refresh.values():
            record.revoked = True
        self.codes.clear()
        self.long_lived_revoked = self.long_lived_revoked or long_lived
