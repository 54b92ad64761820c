"""The Xero simulator on loopback, a consented connection, and a spec-checked client."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.support.xero_spec import SpecRecorder

from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import DEFAULT_TENANT_ID, XeroSimConfig, create_app
from kommo_xero.transport import RetryPolicy
from kommo_xero.xero.auth import RefreshingAuth, TokenSet, XeroOAuth
from kommo_xero.xero.client import XeroClient

CLIENT_ID = "xero-sandbox-client"
CLIENT_SECRET = "xero-sandbox-secret"
REDIRECT_URI = "http://127.0.0.1:9/xero/callback"
FAST_RETRY = RetryPolicy(attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture
def simulator() -> Iterator[ServerHandle]:
    with start_in_thread(create_app(XeroSimConfig())) as handle:
        yield handle


@pytest.fixture
def recorder() -> Iterator[SpecRecorder]:
    spec = SpecRecorder()
    yield spec
    spec.assert_all_valid()


def oauth_for(simulator: ServerHandle) -> XeroOAuth:
    return XeroOAuth(simulator.base_url, simulator.base_url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI)


async def consent(oauth: XeroOAuth, state: str = "st-1") -> str:
    """Follow the consent URL like the browser would; return the code from the redirect."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(oauth.authorize_url(state), follow_redirects=False)
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["location"]).query)
    assert query["state"] == [state]
    return query["code"][0]


@dataclass
class OAuthTokenSource:
    """A TokenSource kept in memory, refreshing through XeroOAuth (one process, tests only)."""

    oauth: XeroOAuth
    token: TokenSet
    refreshes: int = 0

    async def current(self) -> TokenSet:
        return self.token

    async def refresh(self, stale: TokenSet) -> TokenSet:
        self.refreshes += 1
        self.token = await self.oauth.refresh(stale.refresh_token or "")
        return self.token


@pytest.fixture
async def token_source(simulator: ServerHandle) -> AsyncIterator[OAuthTokenSource]:
    oauth = oauth_for(simulator)
    token = await oauth.exchange_code(await consent(oauth))
    yield OAuthTokenSource(oauth, token)
    await oauth.aclose()


@pytest.fixture
async def xero(
    simulator: ServerHandle, recorder: SpecRecorder, token_source: OAuthTokenSource
) -> AsyncIterator[XeroClient]:
    http = httpx.AsyncClient(event_hooks=recorder.async_hooks())
    client = XeroClient(
        simulator.base_url,
        RefreshingAuth(token_source),
        tenant_id=DEFAULT_TENANT_ID,
        http=http,
        retry=FAST_RETRY,
    )
    yield client
    await client.close()
    await http.aclose()


async def sim_control(
    simulator: ServerHandle, method: str, path: str, body: object = None
) -> object:
    async with httpx.AsyncClient(base_url=simulator.base_url) as control:
        answer = await control.request(method, f"/_sim{path}", json=body)
    answer.raise_for_status()
    return answer.json()
