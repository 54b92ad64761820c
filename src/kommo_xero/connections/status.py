"""What an admin must know about a connection: paused access, tokens about to expire; and
resuming the work a revoked connection parked, once it is reconnected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kommo_xero.connections.records import (
    LONG_LIVED,
    OAUTH,
    Credential,
    CredentialStore,
    jwt_claim,
    now_utc,
)
from kommo_xero.store import Store
from kommo_xero.store.token_tables import credentials as credentials_table

# Refresh tokens die when unused this long (reference: Xero §6.2, Kommo §11.1).
REFRESH_IDLE_LIMITS = {"xero": timedelta(days=60), "kommo": timedelta(days=90)}
WARN_AHEAD = timedelta(days=14)
LONG_LIVED_WARN_AHEAD = timedelta(days=30)
REVOKED_REASON = "connection_revoked"
LABELS = {"xero": "Xero", "kommo": "Kommo"}


@dataclass(frozen=True)
class Alert:
    connection_id: str
    service: str
    level: str  # "error" | "warning"
    message: str
    fix: str


def token_expiry(credential: Credential) -> datetime | None:
    """When the grant stops working if nothing uses it: the refresh token's idle limit for
    OAuth, the `exp` of a long-lived token (None when unknown)."""
    if credential.kind == OAUTH and credential.refreshed_at is not None:
        return credential.refreshed_at + REFRESH_IDLE_LIMITS[credential.service]
    if credential.kind == LONG_LIVED and credential.access_token:
        exp = jwt_claim(credential.access_token, "exp")
        if isinstance(exp, int | float):
            return datetime.fromtimestamp(exp, UTC)
    return None


def expiry_alert(credential: Credential, now: datetime | None = None) -> Alert | None:
    now = now or now_utc()
    expires = token_expiry(credential)
    if expires is None:
        return None
    label = LABELS.get(credential.service, credential.service)
    reconnect = f"Reconnect with `kommo-xero connect {credential.service}`."
    if expires <= now:
        return Alert(
            credential.connection_id,
            credential.service,
            "error",
            f"{label} access expired on {expires:%Y-%m-%d}",
            reconnect,
        )
    ahead = WARN_AHEAD if credential.kind == OAUTH else LONG_LIVED_WARN_AHEAD
    if expires - now > ahead:
        return None
    if credential.kind == OAUTH:
        idle = REFRESH_IDLE_LIMITS[credential.service].days
        return Alert(
            credential.connection_id,
            credential.service,
            "warning",
            f"{label} refresh token unused since {credential.refreshed_at:%Y-%m-%d}: it expires "
            f"on {expires:%Y-%m-%d} ({idle} days unused)",
            "Keep `kommo-xero serve` running (it refreshes every day), or " + reconnect.lower(),
        )
    return Alert(
        credential.connection_id,
        credential.service,
        "warning",
        f"{label} long-lived token expires on {expires:%Y-%m-%d}",
        "Create a new long-lived token in the Kommo integration and paste it with "
        "`kommo-xero connect kommo --long-lived`.",
    )


def alerts(credentials: CredentialStore, now: datetime | None = None) -> list[Alert]:
    """Every connection problem to show on the dashboard and in `doctor`."""
    found: list[Alert] = []
    for credential in credentials.all():
        if credential.paused:
            found.append(
                Alert(
                    credential.connection_id,
                    credential.service,
                    "error",
                    credential.pause_reason or "connection paused",
                    f"Reconnect with `kommo-xero connect {credential.service}`.",
                )
            )
            continue
        expiry = expiry_alert(credential, now)
        if expiry is not None:
            found.append(expiry)
    return found


def is_paused(store: Store, connection_id: str) -> bool:
    with store.tx() as conn:
        statuses = conn.execute(
            select(credentials_table.c.status).where(
                credentials_table.c.connection_id == connection_id
            )
        ).scalars()
        return any(status == "paused" for status in statuses)


async def resume(store: Store, connection_id: str) -> list[str]:
    """Re-run the work a revoked connection parked, once no credential of it is paused.

    Safe to call at any time (after each reconnect, at start-up): it only touches items
    parked with reason `connection_revoked`. Returns the workflow ids started."""
    if is_paused(store, connection_id):
        return []
    from kommo_xero.workflows.retry import retry_parked

    return await retry_parked(connection_id, reason_code=REVOKED_REASON)
