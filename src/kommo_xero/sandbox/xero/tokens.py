"""OAuth 2.0 grants, rotating refresh tokens with a grace window, and connections (§6)."""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .formats import new_id, to_ms

REFRESH_IDLE_LIMIT = timedelta(days=60)
DEFAULT_SCOPE = "openid profile email accounting.transactions accounting.contacts offline_access"


class InvalidGrant(Exception):
    """Answered as 400 {"error": "invalid_grant"}."""


@dataclass
class Grant:
    """One consent (or one client-credentials custom connection)."""

    grant_id: str
    client_id: str
    scope: str
    tenant_ids: list[str]
    auth_event_id: str
    custom: bool = False
    revoked: bool = False


@dataclass
class AccessToken:
    grant: Grant
    expires_at: datetime


@dataclass
class RefreshToken:
    grant: Grant
    issued_at: datetime
    superseded_at: datetime | None = None
    successor: dict[str, Any] | None = None  # the token set issued when it was used
    uses: int = 0


@dataclass
class Connection:
    connection_id: str
    tenant_id: str
    tenant_name: str
    auth_event_id: str
    grant_id: str
    created: datetime
    updated: datetime


@dataclass
class TokenStore:
    access_ttl: int
    grace_s: int
    codes: dict[str, tuple[Grant, str, datetime]] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)  # by tenant id
    refresh_calls: int = 0

    def issue_code(self, grant: Grant, redirect_uri: str, now: datetime) -> str:
        code = secrets.token_urlsafe(24)
        self.codes[code] = (grant, redirect_uri, now + timedelta(minutes=5))
        return code

    def connect(self, grant: Grant, names: dict[str, str], now: datetime) -> None:
        """A consent (re)connects each chosen organisation; re-consent keeps the connection id."""
        for tenant_id in grant.tenant_ids:
            existing = self.connections.get(tenant_id)
            self.connections[tenant_id] = Connection(
                connection_id=existing.connection_id if existing else new_id(),
                tenant_id=tenant_id,
                tenant_name=names.get(tenant_id, ""),
                auth_event_id=grant.auth_event_id,
                grant_id=grant.grant_id,
                created=existing.created if existing else now,
                updated=now,
            )

    def redeem_code(self, code: str, redirect_uri: str | None, now: datetime) -> dict[str, Any]:
        entry = self.codes.pop(code, None)
        if entry is None or entry[2] < now:
            raise InvalidGrant("unknown or expired code")
        grant, expected_uri, _ = entry
        if redirect_uri is not None and redirect_uri != expected_uri:
            raise InvalidGrant("redirect_uri mismatch")
        return self.token_set(grant, now, with_refresh="offline_access" in grant.scope.split())

    def token_set(self, grant: Grant, now: datetime, *, with_refresh: bool) -> dict[str, Any]:
        access = self._jwt_like(grant, now)
        self.access[access] = AccessToken(grant, now + timedelta(seconds=self.access_ttl))
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": self.access_ttl,
            "token_type": "Bearer",
            "scope": grant.scope,
        }
        if not grant.custom:
            body["id_token"] = self._jwt_like(grant, now)
        if with_refresh:
            refresh = secrets.token_urlsafe(32)
            self.refresh[refresh] = RefreshToken(grant, now)
            body["refresh_token"] = refresh
        return body

    def use_refresh(self, token: str, client_id: str, now: datetime) -> dict[str, Any]:
        """Rotate: a new pair each time; a superseded token replays its successor during grace."""
        self.refresh_calls += 1
        record = self.refresh.get(token)
        if record is None or record.grant.revoked or record.grant.client_id != client_id:
            raise InvalidGrant("unknown or revoked refresh token")
        record.uses += 1
        if record.superseded_at is not None:
            if now - record.superseded_at > timedelta(seconds=self.grace_s):
                raise InvalidGrant("refresh token superseded and its grace period is over")
            assert record.successor is not None
            return dict(record.successor)
        if now - record.issued_at > REFRESH_IDLE_LIMIT:
            raise InvalidGrant("refresh token expired after 60 days unused")
        successor = self.token_set(record.grant, now, with_refresh=True)
        record.superseded_at = now
        record.successor = successor
        return dict(successor)

    def revoke(self, token: str) -> None:
        record = self.refresh.get(token)
        if record is not None:
            self.revoke_grant(record.grant)

    def revoke_grant(self, grant: Grant) -> None:
        grant.revoked = True
        for tenant_id, connection in list(self.connections.items()):
            if connection.grant_id == grant.grant_id:
                del self.connections[tenant_id]

    def revoke_all(self) -> int:
        grants = {id(r.grant): r.grant for r in self.refresh.values()}
        grants.update({id(a.grant): a.grant for a in self.access.values()})
        for grant in grants.values():
            self.revoke_grant(grant)
        return len(grants)

    def refresh_uses(self) -> dict[str, int]:
        """How many times each refresh token was presented (tests check exactly-one refresh)."""
        return {token[:12]: record.uses for token, record in self.refresh.items() if record.uses}

    def _jwt_like(self, grant: Grant, now: datetime) -> str:
        """Opaque to clients, but shaped like Xero's JWTs so a client may read `exp`."""

        def part(data: dict[str, Any]) -> str:
            raw = json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

        issued = to_ms(now) // 1000
        claims = {
            "nbf": issued,
            "exp": issued + self.access_ttl,
            "iss": "https://identity.xero.com",
            "client_id": grant.client_id,
            "authentication_event_id": grant.auth_event_id,
            "jti": secrets.token_hex(8),
        }
        return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(32)}"
