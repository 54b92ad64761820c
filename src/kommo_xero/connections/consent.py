"""The OAuth consent flows: a `state` generated and stored, the callback checked against it,
the code exchanged, the organisation chosen, the tokens stored encrypted."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert, select, update

from kommo_xero.config import ConfigError, Settings
from kommo_xero.connections.records import (
    KOMMO,
    OAUTH,
    XERO,
    CredentialStore,
    TokenUpdate,
    jwt_claim,
    now_utc,
    utc,
)
from kommo_xero.connections.wiring import kommo_oauth, xero_oauth
from kommo_xero.store import Store
from kommo_xero.store.token_tables import oauth_states
from kommo_xero.transport import ApiError
from kommo_xero.xero.tokens import GRANULAR_SCOPES, LEGACY_SCOPES

# Kommo's authorization code lives 20 minutes; a consent left longer is started again.
STATE_TTL = timedelta(minutes=20)
PENDING, DONE, CHOOSE_TENANT, FAILED = "pending", "done", "choose_tenant", "failed"


class ConsentRefused(Exception):
    """The callback cannot be accepted (unknown or reused state, denied consent, bad code)."""


@dataclass(frozen=True)
class ConsentStart:
    url: str
    state: str = field(repr=False)


@dataclass(frozen=True)
class ConsentOutcome:
    status: str  # pending | done | choose_tenant | failed
    message: str
    tenants: list[dict[str, str]] = field(default_factory=list)
    connection_id: str = ""  # which connection the consent was for (set on completion)


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def _new_state(store: Store, service: str, connection_id: str, scope: str | None) -> str:
    state = secrets.token_urlsafe(32)
    now = now_utc()
    with store.tx() as conn:
        conn.execute(
            insert(oauth_states).values(
                state_hash=_hash(state),
                connection_id=connection_id,
                service=service,
                status=PENDING,
                scope=scope,
                created_at=now,
                expires_at=now + STATE_TTL,
            )
        )
    return state


def _take_state(store: Store, service: str, state: str) -> str:
    """The connection the state was issued for; each state is accepted once, in time."""
    key = _hash(state)
    with store.tx() as conn:
        taken = conn.execute(
            update(oauth_states)
            .where(
                oauth_states.c.state_hash == key,
                oauth_states.c.service == service,
                oauth_states.c.status == PENDING,
                oauth_states.c.expires_at > now_utc(),
            )
            .values(status="taken")
        )
        if taken.rowcount != 1:
            raise ConsentRefused(
                "this consent answer does not match a consent we started (state mismatch, "
                f"reused or older than 20 minutes): start again with `kommo-xero connect {service}`"
            )
        row = conn.execute(select(oauth_states).where(oauth_states.c.state_hash == key)).first()
        assert row is not None
        return str(row.connection_id)


def _connection_settings(settings: Settings, connection_id: str) -> Settings:
    """The settings of the connection a consent was started for (its own app credentials)."""
    try:
        return settings.for_connection(connection_id)
    except ConfigError:
        raise ConsentRefused(
            f"this consent was started for connection {connection_id!r}, which is no longer "
            "configured; start it again with `kommo-xero connect … --connection NAME`"
        ) from None


def _finish(store: Store, state: str, status: str, message: str) -> None:
    with store.tx() as conn:
        conn.execute(
            update(oauth_states)
            .where(oauth_states.c.state_hash == _hash(state))
            .values(status=status, outcome=message, finished_at=now_utc())
        )


def consent_outcome(credentials: CredentialStore, state: str) -> ConsentOutcome:
    """Where a consent stands (the CLI polls this while the browser is away)."""
    with credentials.store.tx() as conn:
        row = conn.execute(
            select(oauth_states).where(oauth_states.c.state_hash == _hash(state))
        ).first()
    if row is None:
        return ConsentOutcome(FAILED, "unknown consent")
    status = PENDING if row.status == "taken" else str(row.status)
    if status == PENDING and utc(row.expires_at) < now_utc():  # type: ignore[operator]
        return ConsentOutcome(FAILED, "the consent was not completed within 20 minutes")
    tenants: list[dict[str, str]] = []
    if status == CHOOSE_TENANT:
        found = credentials.get(row.connection_id, XERO)
        tenants = found.tenants if found else []
    return ConsentOutcome(status, row.outcome or "", tenants)


async def start_xero(
    settings: Settings, credentials: CredentialStore, *, legacy: bool = False
) -> ConsentStart:
    """The consent URL for Xero (granular scopes, or the broad legacy ones for older apps)."""
    scope = LEGACY_SCOPES if legacy else GRANULAR_SCOPES
    async with httpx.AsyncClient() as http:
        oauth = xero_oauth(settings, http)  # checks the client id and secret first
        state = _new_state(credentials.store, XERO, settings.connection_name, scope)
        return ConsentStart(oauth.authorize_url(state, scope), state)


async def start_kommo(settings: Settings, credentials: CredentialStore) -> ConsentStart:
    """The consent URL for Kommo (its redirect URI is the one set in the integration)."""
    async with httpx.AsyncClient() as http:
        oauth = kommo_oauth(settings, http)
        state = _new_state(credentials.store, KOMMO, settings.connection_name, None)
        return ConsentStart(oauth.authorize_url(state, mode="popup"), state)


async def _tenants(
    settings: Settings, access_token: str, http: httpx.AsyncClient
) -> list[dict[str, str]]:
    url = f"{settings.xero.base_url.rstrip('/')}/connections"
    answer = await http.get(url, headers={"Authorization": f"Bearer {access_token}"})
    if answer.status_code != 200:
        raise ConsentRefused(
            f"Xero did not list the connected organisations (HTTP {answer.status_code})"
        )
    rows = [r for r in answer.json() if r.get("tenantType", "ORGANISATION") == "ORGANISATION"]
    event = jwt_claim(access_token, "authentication_event_id")
    latest = [r for r in rows if event and r.get("authEventId") == event]
    return [
        {"tenantId": str(r["tenantId"]), "tenantName": str(r.get("tenantName") or "")}
        for r in (latest or rows)
    ]


async def complete_xero(
    settings: Settings,
    credentials: CredentialStore,
    *,
    state: str,
    code: str | None,
    error: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> ConsentOutcome:
    """Handle Xero's redirect: check the state, exchange the code, pick the organisation."""
    connection_id = _take_state(credentials.store, XERO, state)
    client = http or httpx.AsyncClient(timeout=30.0)
    try:
        settings = _connection_settings(settings, connection_id)
        if error or not code:
            raise ConsentRefused(f"Xero consent was not given ({error or 'no code'})")
        tokens = await xero_oauth(settings, client).exchange_code(code)
        tenants = await _tenants(settings, tokens.access_token, client)
    except (ConsentRefused, ApiError) as exc:
        _finish(credentials.store, state, FAILED, str(exc))
        raise ConsentRefused(str(exc)) from None
    finally:
        if http is None:
            await client.aclose()
    wanted = settings.xero.tenant_id
    chosen = next((t for t in tenants if t["tenantId"] == wanted), None) if wanted else None
    if chosen is None and len(tenants) == 1:
        chosen = tenants[0]
    credentials.connect(
        connection_id,
        XERO,
        OAUTH,
        TokenUpdate(tokens.access_token, tokens.refresh_token, tokens.expires_at, tokens.scope),
        tenant_id=chosen["tenantId"] if chosen else None,
        tenant_name=chosen["tenantName"] if chosen else None,
        tenants=tenants,
    )
    if chosen is None:
        outcome = ConsentOutcome(
            CHOOSE_TENANT,
            f"Xero connected {len(tenants)} organisations: choose one with "
            "`kommo-xero connect xero --tenant ID`",
            tenants,
            connection_id,
        )
    else:
        outcome = ConsentOutcome(
            DONE,
            f"Xero connected to {chosen['tenantName'] or chosen['tenantId']}",
            connection_id=connection_id,
        )
    _finish(credentials.store, state, outcome.status, outcome.message)
    return outcome


async def complete_kommo(
    settings: Settings,
    credentials: CredentialStore,
    *,
    state: str,
    code: str | None,
    error: str | None = None,
    http: httpx.AsyncClient | None = None,
) -> ConsentOutcome:
    """Handle Kommo's redirect: check the state, exchange the code (valid 20 minutes)."""
    connection_id = _take_state(credentials.store, KOMMO, state)
    client = http or httpx.AsyncClient(timeout=30.0)
    try:
        settings = _connection_settings(settings, connection_id)
        if error or not code:
            raise ConsentRefused(f"Kommo consent was not given ({error or 'no code'})")
        tokens = await kommo_oauth(settings, client).exchange_code(code)
    except (ConsentRefused, ApiError) as exc:
        _finish(credentials.store, state, FAILED, str(exc))
        raise ConsentRefused(str(exc)) from None
    finally:
        if http is None:
            await client.aclose()
    expires = datetime.fromtimestamp(tokens.expires_at, UTC)
    scopes = jwt_claim(tokens.access_token, "scopes")
    scope = " ".join(scopes) if isinstance(scopes, list) else (tokens.scope or "")
    credentials.connect(
        connection_id,
        KOMMO,
        OAUTH,
        TokenUpdate(tokens.access_token, tokens.refresh_token, expires, scope),
    )
    account = jwt_claim(tokens.access_token, "account_id")
    message = f"Kommo connected (account {account})" if account else "Kommo connected"
    _finish(credentials.store, state, DONE, message)
    return ConsentOutcome(DONE, message, connection_id=connection_id)
