"""Stored credentials: decrypted on the way out, encrypted on the way in.

`CredentialStore` is the only code that touches the `credentials` table; everything that
reads a token gets a `Credential` whose secrets are hidden from `repr`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.engine import RowMapping

from kommo_xero.connections.crypto import SecretBox
from kommo_xero.store import Store
from kommo_xero.store.token_tables import credentials

KOMMO = "kommo"
XERO = "xero"
OAUTH = "oauth"
LONG_LIVED = "long_lived"
CLIENT_CREDENTIALS = "client_credentials"
ACTIVE = "active"
PAUSED = "paused"


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything we store is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def now_utc() -> datetime:
    return datetime.now(UTC)


def jwt_claim(token: str, name: str) -> Any:
    """A claim from a JWT's payload, read without verifying it (only to show facts such as
    an expiry date or the scopes); None when the token is not a JWT."""
    try:
        payload = token.split(".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    return data.get(name) if isinstance(data, dict) else None


@dataclass(frozen=True)
class Credential:
    connection_id: str
    service: str
    kind: str
    status: str
    access_token: str | None = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: datetime | None
    scope: str = ""
    tenant_id: str | None = None
    tenant_name: str | None = None
    tenants: list[dict[str, str]] = field(default_factory=list)
    refreshed_at: datetime | None = None
    refresh_in_doubt_since: datetime | None = None
    rotations: int = 0
    pause_reason: str | None = None
    paused_at: datetime | None = None

    @property
    def paused(self) -> bool:
        return self.status == PAUSED


@dataclass(frozen=True)
class TokenUpdate:
    """What a consent or a refresh hands over to be stored."""

    access_token: str
    refresh_token: str | None
    expires_at: datetime | None
    scope: str = ""


class CredentialStore:
    def __init__(self, store: Store, box: SecretBox) -> None:
        self.store = store
        self.box = box

    def __repr__(self) -> str:
        return f"CredentialStore({self.box!r})"

    def _decode(self, row: RowMapping) -> Credential:
        return Credential(
            connection_id=row["connection_id"],
            service=row["service"],
            kind=row["kind"],
            status=row["status"],
            access_token=self.box.decrypt(row["access_token"]),
            refresh_token=self.box.decrypt(row["refresh_token"]),
            expires_at=utc(row["expires_at"]),
            scope=row["scope"] or "",
            tenant_id=row["tenant_id"],
            tenant_name=row["tenant_name"],
            tenants=json.loads(row["tenants"]) if row["tenants"] else [],
            refreshed_at=utc(row["refreshed_at"]),
            refresh_in_doubt_since=utc(row["refresh_in_doubt_since"]),
            rotations=int(row["rotations"] or 0),
            pause_reason=row["pause_reason"],
            paused_at=utc(row["paused_at"]),
        )

    @staticmethod
    def _where(connection_id: str, service: str) -> Any:
        return (credentials.c.connection_id == connection_id) & (credentials.c.service == service)

    def read(self, conn: Connection, connection_id: str, service: str) -> Credential | None:
        row = (
            conn.execute(select(credentials).where(self._where(connection_id, service)))
            .mappings()
            .first()
        )
        return self._decode(row) if row is not None else None

    def get(self, connection_id: str, service: str) -> Credential | None:
        with self.store.tx() as conn:
            return self.read(conn, connection_id, service)

    def all(self) -> list[Credential]:
        with self.store.tx() as conn:
            rows = conn.execute(select(credentials)).mappings().all()
            return [self._decode(row) for row in rows]

    def _update(self, conn: Connection, connection_id: str, service: str, **values: Any) -> int:
        values["updated_at"] = now_utc()
        result = conn.execute(
            update(credentials).where(self._where(connection_id, service)).values(**values)
        )
        return int(result.rowcount or 0)

    def connect(
        self,
        connection_id: str,
        service: str,
        kind: str,
        tokens: TokenUpdate | None,
        *,
        tenant_id: str | None = None,
        tenant_name: str | None = None,
        tenants: list[dict[str, str]] | None = None,
    ) -> None:
        """Store a fresh grant (a consent, a pasted token): the connection becomes active."""
        now = now_utc()
        values: dict[str, Any] = {
            "kind": kind,
            "status": ACTIVE,
            "access_token": self.box.encrypt(tokens.access_token if tokens else None),
            "refresh_token": self.box.encrypt(tokens.refresh_token if tokens else None),
            "expires_at": tokens.expires_at if tokens else None,
            "scope": tokens.scope if tokens else None,
            "tenant_id": tenant_id,
            "tenant_name": tenant_name,
            "tenants": json.dumps(tenants) if tenants else None,
            "refreshed_at": now,
            "refresh_in_doubt_since": None,
            "pause_reason": None,
            "paused_at": None,
        }
        with self.store.tx() as conn:
            if not self._update(conn, connection_id, service, **values):
                conn.execute(
                    insert(credentials).values(
                        connection_id=connection_id,
                        service=service,
                        rotations=0,
                        created_at=now,
                        updated_at=now,
                        **values,
                    )
                )

    def save_refresh(self, conn: Connection, old: Credential, tokens: TokenUpdate) -> None:
        """Persist a rotation inside the caller's locked transaction."""
        self._update(
            conn,
            old.connection_id,
            old.service,
            access_token=self.box.encrypt(tokens.access_token),
            # Kommo and Xero both rotate; keep the old one only if none came back.
            refresh_token=self.box.encrypt(tokens.refresh_token or old.refresh_token),
            expires_at=tokens.expires_at,
            scope=tokens.scope or old.scope,
            refreshed_at=now_utc(),
            refresh_in_doubt_since=None,
            rotations=old.rotations + 1,
        )

    def mark_in_doubt(self, conn: Connection, old: Credential) -> None:
        if old.refresh_in_doubt_since is None:
            self._update(conn, old.connection_id, old.service, refresh_in_doubt_since=now_utc())

    def pause(
        self, connection_id: str, service: str, reason: str, conn: Connection | None = None
    ) -> None:
        """Stop using the credential until someone reconnects; `reason` is shown as an alert."""
        values = {"status": PAUSED, "pause_reason": reason, "paused_at": now_utc()}
        if conn is not None:
            self._update(conn, connection_id, service, **values)
            return
        with self.store.tx() as own:
            self._update(own, connection_id, service, **values)

    def choose_tenant(self, connection_id: str, tenant_id: str) -> Credential:
        """Bind the Xero credential to one of the organisations its consent covered."""
        current = self.get(connection_id, XERO)
        if current is None:
            raise LookupError(f"no Xero connection stored for {connection_id!r}")
        offered = {t["tenantId"]: t.get("tenantName", "") for t in current.tenants}
        if offered and tenant_id not in offered:
            names = ", ".join(f"{name} ({tid})" for tid, name in offered.items())
            raise LookupError(f"organisation {tenant_id} was not part of the consent: {names}")
        with self.store.tx() as conn:
            self._update(
                conn, connection_id, XERO, tenant_id=tenant_id, tenant_name=offered.get(tenant_id)
            )
        chosen = self.get(connection_id, XERO)
        assert chosen is not None
        return chosen

    @contextmanager
    def locked(self, connection_id: str, service: str) -> Iterator[tuple[Connection, Any]]:
        """A transaction holding the credential's row lock, across processes and machines.

        PostgreSQL: `SELECT … FOR UPDATE` locks the row. SQLite has no row locks, so
        `BEGIN IMMEDIATE` takes the database's write lock (other writers wait, readers don't).
        Yields the connection and the credential as read *after* the lock was taken.
        """
        with self.store.engine.connect() as conn:
            query = select(credentials).where(self._where(connection_id, service))
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            else:
                query = query.with_for_update()
            try:
                row = conn.execute(query).mappings().first()
                yield conn, (self._decode(row) if row is not None else None)
            except BaseException:
                conn.rollback()
                raise
            conn.commit()
