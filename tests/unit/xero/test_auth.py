"""Auth flows: custom-connection tokens, refreshing auth, the OAuth code flow, secrecy."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kommo_xero.transport import AuthFailed
from kommo_xero.xero.auth import (
    GRANULAR_SCOPES,
    LEGACY_SCOPES,
    ClientCredentialsAuth,
    RefreshingAuth,
    TokenSet,
    XeroOAuth,
)
from kommo_xero.xero.client import XeroClient

from .conftest import ManualClock, ScriptedXero, xero_json

TOKEN_URL = "https://identity.xero.com/connect/token"
TOKEN_PATH = "/connect/token"
CURRENCIES = "/api.xro/2.0/Currencies"


def _token_reply(access: str, refresh: str | None = None) -> httpx.Response:
    payload = {"access_token": access, "expires_in": 1800, "token_type": "Bearer", "scope": "a b"}
    if refresh:
        payload["refresh_token"] = refresh
    return xero_json(payload)


def _bearer_check(valid: set[str]) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers.get("Authorization", "").removeprefix("Bearer ") in valid:
            return xero_json({"Currencies": [{"Code": "USD"}]})
        return xero_json({"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}, 401)

    return answer


def test_token_set_repr_and_str_hide_secrets() -> None:
    """repr/str of a TokenSet never show the access, refresh or id token."""
    token = TokenSet(
        access_token="SECRET-ACCESS",
        refresh_token="SECRET-REFRESH",
        id_token="SECRET-ID",
        expires_at=datetime(2026, 7, 20, tzinfo=UTC),
        scope="offline_access accounting.invoices",
    )
    for text in (repr(token), str(token)):
        assert "SECRET" not in text
        assert "accounting.invoices" in text
    assert token.model_dump()["refresh_token"] == "SECRET-REFRESH"


def test_scope_constants() -> None:
    """Granular scopes name invoices/payments; legacy scopes use accounting.transactions."""
    assert GRANULAR_SCOPES.split() == [
        "offline_access",
        "accounting.invoices",
        "accounting.payments.read",
        "accounting.contacts",
        "accounting.settings.read",
        "accounting.attachments",
    ]
    assert "accounting.transactions" in LEGACY_SCOPES.split()
    assert "accounting.invoices" not in LEGACY_SCOPES.split()


@pytest.mark.anyio
async def test_client_credentials_fetches_once_and_caches(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """One token request (Basic auth, client_credentials) serves several API calls."""
    xero.on("POST", TOKEN_PATH, _token_reply("tok-1"))
    xero.on("GET", CURRENCIES, _bearer_check({"tok-1"}))
    auth = ClientCredentialsAuth(TOKEN_URL, "cid", "csecret", "accounting.invoices", clock=clock)
    async with make_client(auth=auth, tenant_id=None) as client:
        await client.get_currencies()
        await client.get_currencies()
    (token_call,) = xero.sent("POST", TOKEN_PATH)
    assert (
        token_call.headers["Authorization"] == "Basic " + base64.b64encode(b"cid:csecret").decode()
    )
    form = parse_qs(token_call.content.decode())
    assert form == {"grant_type": ["client_credentials"], "scope": ["accounting.invoices"]}
    assert len(xero.sent("GET", CURRENCIES)) == 2
    assert "tok-1" not in repr(auth)


@pytest.mark.anyio
async def test_client_credentials_refreshes_sixty_seconds_before_expiry(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """A token with less than 60 s left is replaced before the call goes out."""
    xero.on("POST", TOKEN_PATH, _token_reply("tok-1"), _token_reply("tok-2"))
    xero.on("GET", CURRENCIES, _bearer_check({"tok-1", "tok-2"}))
    auth = ClientCredentialsAuth(TOKEN_URL, "cid", "csecret", clock=clock)
    async with make_client(auth=auth) as client:
        await client.get_currencies()
        clock.now += timedelta(seconds=1800 - 61)
        await client.get_currencies()
        assert len(xero.sent("POST", TOKEN_PATH)) == 1
        clock.now += timedelta(seconds=2)
        await client.get_currencies()
    assert len(xero.sent("POST", TOKEN_PATH)) == 2
    assert xero.sent("GET", CURRENCIES)[-1].headers["Authorization"] == "Bearer tok-2"


@pytest.mark.anyio
async def test_client_credentials_refreshes_once_on_401_then_fails(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """A revoked token is replaced and the call replayed; a second 401 is AuthFailed."""
    xero.on("POST", TOKEN_PATH, _token_reply("tok-1"), _token_reply("tok-2"), _token_reply("x"))
    xero.on("GET", CURRENCIES, _bearer_check({"tok-2"}))
    auth = ClientCredentialsAuth(TOKEN_URL, "cid", "csecret", clock=clock)
    async with make_client(auth=auth) as client:
        assert await client.get_currencies() == ["USD"]
        xero.on("GET", CURRENCIES, _bearer_check(set()))
        with pytest.raises(AuthFailed) as caught:
            await client.get_currencies()
    assert len(xero.sent("POST", TOKEN_PATH)) == 3
    assert "tok-" not in str(caught.value)


@pytest.mark.anyio
async def test_client_credentials_rejected_secret_is_auth_failed(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """invalid_client from the token endpoint raises AuthFailed without calling the API."""
    xero.on("POST", TOKEN_PATH, xero_json({"error": "invalid_client"}, 400))
    auth = ClientCredentialsAuth(TOKEN_URL, "cid", "wrong", clock=clock)
    async with make_client(auth=auth) as client:
        with pytest.raises(AuthFailed, match="invalid_client"):
            await client.get_currencies()
    assert xero.sent("GET", CURRENCIES) == []


@dataclass
class MemoryTokenSource:
    """A TokenSource that mints tok-N on every refresh and counts refreshes."""

    clock: ManualClock
    token: TokenSet = field(init=False)
    refreshes: int = 0

    def __post_init__(self) -> None:
        self.token = self._mint("tok-0")

    def _mint(self, access: str) -> TokenSet:
        return TokenSet(
            access_token=access,
            refresh_token="r",
            expires_at=self.clock() + timedelta(seconds=1800),
        )

    async def current(self) -> TokenSet:
        return self.token

    async def refresh(self, stale: TokenSet) -> TokenSet:
        await asyncio.sleep(0)
        self.refreshes += 1
        self.token = self._mint(f"tok-{self.refreshes}")
        return self.token


@pytest.mark.anyio
async def test_refreshing_auth_refreshes_ahead_of_expiry(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """A token within 60 s of expiry is refreshed through the TokenSource first."""
    source = MemoryTokenSource(clock)
    xero.on("GET", CURRENCIES, _bearer_check({"tok-0", "tok-1"}))
    async with make_client(auth=RefreshingAuth(source, clock=clock)) as client:
        await client.get_currencies()
        clock.now += timedelta(seconds=1750)
        await client.get_currencies()
    assert source.refreshes == 1
    sent = [r.headers["Authorization"] for r in xero.requests]
    assert sent == ["Bearer tok-0", "Bearer tok-1"]


@pytest.mark.anyio
async def test_refreshing_auth_concurrent_401s_share_one_refresh(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """Several calls hitting 401 at once cause one refresh, and all replay successfully."""
    source = MemoryTokenSource(clock)
    xero.on("GET", CURRENCIES, _bearer_check({"tok-1"}))
    async with make_client(auth=RefreshingAuth(source, clock=clock)) as client:
        results = await asyncio.gather(*(client.get_currencies() for _ in range(4)))
    assert results == [["USD"]] * 4
    assert source.refreshes == 1


@pytest.mark.anyio
async def test_refreshing_auth_second_401_is_auth_failed(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """When even the refreshed token is refused the client raises AuthFailed."""
    source = MemoryTokenSource(clock)
    xero.on("GET", CURRENCIES, _bearer_check(set()))
    async with make_client(auth=RefreshingAuth(source, clock=clock)) as client:
        with pytest.raises(AuthFailed):
            await client.get_currencies()
    assert source.refreshes == 1 and len(xero.requests) == 2


def test_sync_clients_are_refused() -> None:
    """Our auth flows need an AsyncClient; a sync client fails loudly, not unauthenticated."""
    auth = ClientCredentialsAuth(TOKEN_URL, "cid", "csecret")
    transport = httpx.MockTransport(lambda r: httpx.Response(200))
    with (
        httpx.Client(auth=auth, transport=transport) as sync_client,
        pytest.raises(RuntimeError, match="AsyncClient"),
    ):
        sync_client.get("https://api.xero.com/x")


def _oauth(xero: ScriptedXero, clock: ManualClock) -> XeroOAuth:
    http = httpx.AsyncClient(transport=httpx.MockTransport(xero.handle))
    return XeroOAuth(
        "https://identity.xero.com",
        "https://login.xero.com",
        "cid",
        "csecret",
        "https://app.example/callback",
        http=http,
        clock=clock,
    )


def test_authorize_url_carries_the_consent_parameters(
    xero: ScriptedXero, clock: ManualClock
) -> None:
    """The consent URL targets Xero's login host with code flow, scopes, redirect and state."""
    url = urlsplit(_oauth(xero, clock).authorize_url("st4te"))
    assert (url.scheme, url.netloc, url.path) == (
        "https",
        "login.xero.com",
        "/identity/connect/authorize",
    )
    assert parse_qs(url.query) == {
        "response_type": ["code"],
        "client_id": ["cid"],
        "redirect_uri": ["https://app.example/callback"],
        "scope": [GRANULAR_SCOPES],
        "state": ["st4te"],
    }


@pytest.mark.anyio
async def test_code_exchange_and_refresh(xero: ScriptedXero, clock: ManualClock) -> None:
    """exchange_code and refresh post the right grants and return expiring token sets."""
    xero.on("POST", TOKEN_PATH, _token_reply("a1", "r1"), _token_reply("a2", "r2"))
    oauth = _oauth(xero, clock)
    first = await oauth.exchange_code("the-code")
    second = await oauth.refresh(first.refresh_token or "")
    await oauth.aclose()
    assert (first.access_token, second.refresh_token) == ("a1", "r2")
    assert first.expires_at == clock.now + timedelta(seconds=1800)
    exchange, refresh = (parse_qs(r.content.decode()) for r in xero.requests)
    assert exchange == {
        "grant_type": ["authorization_code"],
        "code": ["the-code"],
        "redirect_uri": ["https://app.example/callback"],
    }
    assert refresh == {"grant_type": ["refresh_token"], "refresh_token": ["r1"]}


@pytest.mark.anyio
async def test_invalid_grant_is_auth_failed_without_the_token(
    xero: ScriptedXero, clock: ManualClock
) -> None:
    """A superseded refresh token yields AuthFailed whose message never quotes the token."""
    xero.on("POST", TOKEN_PATH, xero_json({"error": "invalid_grant"}, 400))
    oauth = _oauth(xero, clock)
    with pytest.raises(AuthFailed, match="invalid_grant") as caught:
        await oauth.refresh("SECRET-REFRESH-TOKEN")
    await oauth.aclose()
    assert "SECRET" not in caught.value.describe() and "SECRET" not in repr(caught.value)
