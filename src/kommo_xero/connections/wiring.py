"""Building the connection objects from settings: credential store, OAuth clients, auth flows."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from kommo_xero.config import Settings
from kommo_xero.connections.crypto import SecretKeyError, load_secret_box
from kommo_xero.connections.records import (
    KOMMO,
    LONG_LIVED,
    XERO,
    CredentialStore,
    TokenUpdate,
)
from kommo_xero.connections.rotation import XERO_REFRESH_GRACE, Exchange, Rotator
from kommo_xero.connections.sources import (
    KommoTokenSource,
    PauseOnRefusal,
    StoredTokens,
    XeroTokenSource,
)
from kommo_xero.kommo.auth import DEFAULT_CONSENT_URL, REFRESH_LEEWAY_S, KommoOAuth
from kommo_xero.kommo.auth import RefreshingAuth as KommoRefreshingAuth
from kommo_xero.store import Store, make_engine, migrate
from kommo_xero.xero.auth import RefreshingAuth as XeroRefreshingAuth
from kommo_xero.xero.auth import XeroOAuth
from kommo_xero.xero.tokens import REFRESH_MARGIN_S

HttpFactory = Callable[[], httpx.AsyncClient]


class ConnectionConfigError(Exception):
    """A setting the chosen way of connecting needs is missing; the message names it."""


def redirect_uri(settings: Settings, service: str) -> str:
    """Where Kommo or Xero sends the browser back after consent (register it in the app)."""
    return f"{settings.service.public_url.rstrip('/')}/oauth/{service}/callback"


def open_credentials(settings: Settings, store: Store | None = None) -> CredentialStore:
    """The encrypted credential store of this installation (migrating the database first
    when no `store` is handed in)."""
    if store is None:
        settings.service.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.service.resolved_database_url()
        migrate(url)
        store = Store(make_engine(url))
    return CredentialStore(store, load_secret_box(settings.service.data_dir))


def _client(http_factory: HttpFactory | None) -> httpx.AsyncClient:
    return http_factory() if http_factory else httpx.AsyncClient(timeout=20.0)


def xero_oauth(settings: Settings, http: httpx.AsyncClient) -> XeroOAuth:
    x = settings.xero
    if not x.client_id or x.client_secret is None:
        raise ConnectionConfigError(
            "xero.client_id and xero.client_secret are needed: set KOMMO_XERO_XERO__CLIENT_ID "
            "and KOMMO_XERO_XERO__CLIENT_SECRET (see docs/setup-xero.md)"
        )
    return XeroOAuth(
        x.identity_url,
        x.login_url,
        x.client_id,
        x.client_secret.get_secret_value(),
        redirect_uri(settings, XERO),
        http=http,
    )


def kommo_consent_url(base_url: str) -> str:
    """Kommo's consent page lives on www.kommo.com, not on the account's subdomain; any
    other host (the simulator) serves it itself."""
    host = httpx.URL(base_url).host
    if host == "kommo.com" or host.endswith(".kommo.com"):
        return DEFAULT_CONSENT_URL
    return f"{base_url.rstrip('/')}/oauth"


def kommo_oauth(settings: Settings, http: httpx.AsyncClient) -> KommoOAuth:
    k = settings.kommo
    if not k.client_id or k.client_secret is None:
        raise ConnectionConfigError(
            "kommo.client_id and kommo.client_secret are needed for Kommo OAuth: set "
            "KOMMO_XERO_KOMMO__CLIENT_ID and KOMMO_XERO_KOMMO__CLIENT_SECRET, or paste a "
            "long-lived token with `kommo-xero connect kommo --token` (see docs/setup-kommo.md)"
        )
    return KommoOAuth(
        k.base_url,
        k.client_id,
        k.client_secret.get_secret_value(),
        redirect_uri(settings, KOMMO),
        consent_url=kommo_consent_url(k.base_url),
        http=http,
    )


def xero_exchange(settings: Settings, http_factory: HttpFactory | None = None) -> Exchange:
    async def exchange(refresh_token: str) -> TokenUpdate:
        async with _client(http_factory) as http:
            tokens = await xero_oauth(settings, http).refresh(refresh_token)
        return TokenUpdate(
            tokens.access_token, tokens.refresh_token, tokens.expires_at, tokens.scope
        )

    return exchange


def kommo_exchange(settings: Settings, http_factory: HttpFactory | None = None) -> Exchange:
    async def exchange(refresh_token: str) -> TokenUpdate:
        async with _client(http_factory) as http:
            tokens = await kommo_oauth(settings, http).refresh(refresh_token)
        expires = datetime.fromtimestamp(tokens.expires_at, UTC)
        return TokenUpdate(tokens.access_token, tokens.refresh_token, expires, tokens.scope or "")

    return exchange


def xero_token_source(
    settings: Settings,
    credentials: CredentialStore,
    *,
    http_factory: HttpFactory | None = None,
    lost_answer_retries: int = 2,
) -> XeroTokenSource:
    rotator = Rotator(
        credentials,
        settings.connection_name,
        XERO,
        xero_exchange(settings, http_factory),
        grace=XERO_REFRESH_GRACE,
        lost_answer_retries=lost_answer_retries,
    )
    return XeroTokenSource(StoredTokens(credentials, rotator, margin_s=REFRESH_MARGIN_S))


def kommo_token_source(
    settings: Settings,
    credentials: CredentialStore,
    *,
    http_factory: HttpFactory | None = None,
    lost_answer_retries: int = 2,
) -> KommoTokenSource:
    rotator = Rotator(
        credentials,
        settings.connection_name,
        KOMMO,
        kommo_exchange(settings, http_factory),
        lost_answer_retries=lost_answer_retries,
    )
    return KommoTokenSource(StoredTokens(credentials, rotator, margin_s=REFRESH_LEEWAY_S))


def _refused(service: str, label: str) -> str:
    return (
        f"{label} refused our access even after a token refresh (the app was disconnected or "
        f"its access revoked). Reconnect with `kommo-xero connect {service}`; paused work "
        "resumes then."
    )


def xero_auth(source: XeroTokenSource) -> httpx.Auth:
    """Bearer auth for Xero OAuth: refresh ahead of expiry, pause the connection on refusal."""
    inner = XeroRefreshingAuth(source, refresh_margin_s=REFRESH_MARGIN_S)
    return PauseOnRefusal(inner, lambda: source.tokens.pause(_refused(XERO, "Xero")))


def kommo_auth(source: KommoTokenSource) -> httpx.Auth:
    """Bearer auth for Kommo OAuth: refresh ahead of expiry, pause the connection on refusal."""
    inner = KommoRefreshingAuth(source, leeway=REFRESH_LEEWAY_S)
    return PauseOnRefusal(inner, lambda: source.tokens.pause(_refused(KOMMO, "Kommo")))


def _open_for_service(settings: Settings, store: Store | None) -> CredentialStore:
    try:
        return open_credentials(settings, store)
    except SecretKeyError as exc:
        raise ConnectionConfigError(str(exc)) from exc


def stored_kommo_auth(settings: Settings, store: Store | None = None) -> str | httpx.Auth:
    """Kommo credentials for the client: `kommo.token` when set, else what `connect kommo`
    stored (a pasted long-lived token, or OAuth tokens refreshed as they expire)."""
    if settings.kommo.token is not None:
        return settings.kommo.token.get_secret_value()
    credentials = _open_for_service(settings, store)
    stored = credentials.get(settings.connection_name, KOMMO)
    if stored is None:
        raise ConnectionConfigError(
            "kommo.token is not set: set KOMMO_XERO_KOMMO__TOKEN to a long-lived token "
            "(or run `kommo-xero connect kommo`)."
        )
    if stored.kind == LONG_LIVED and stored.access_token:
        return stored.access_token
    return kommo_auth(kommo_token_source(settings, credentials))


def stored_xero_auth(settings: Settings, store: Store | None = None) -> tuple[httpx.Auth, str]:
    """Auth and tenant for a Xero OAuth connection stored by `connect xero`."""
    credentials = _open_for_service(settings, store)
    stored = credentials.get(settings.connection_name, XERO)
    if stored is None or stored.kind != "oauth":
        raise ConnectionConfigError(
            'xero.auth is "oauth" but Xero is not connected: run `kommo-xero connect xero`.'
        )
    tenant_id = settings.xero.tenant_id or stored.tenant_id
    if not tenant_id:
        raise ConnectionConfigError(
            "Xero is connected to several organisations: choose one with "
            "`kommo-xero connect xero --tenant ID` (or set xero.tenant_id)."
        )
    return xero_auth(xero_token_source(settings, credentials)), tenant_id
