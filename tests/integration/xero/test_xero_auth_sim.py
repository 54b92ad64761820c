"""Auth flows and limits against the Xero simulator."""

from __future__ import annotations

import httpx
import pytest
from tests.support.xero_spec import SpecRecorder, validate_exchange

from kommo_xero.sandbox.server import ServerHandle
from kommo_xero.sandbox.xero import DEFAULT_TENANT_ID
from kommo_xero.transport import AuthFailed, RateLimited
from kommo_xero.xero.auth import ClientCredentialsAuth, RefreshingAuth
from kommo_xero.xero.client import XeroClient

from .conftest import FAST_RETRY, OAuthTokenSource, consent, oauth_for, sim_control


@pytest.mark.anyio
async def test_code_flow_and_refresh_rotation(simulator: ServerHandle) -> None:
    """Code exchange yields tokens; refresh rotates; a superseded token past grace is refused."""
    oauth = oauth_for(simulator)
    first = await oauth.exchange_code(await consent(oauth))
    assert first.refresh_token and "offline_access" in first.scopes
    second = await oauth.refresh(first.refresh_token)
    assert second.refresh_token and second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    with pytest.raises(AuthFailed, match="invalid_grant"):
        await oauth.exchange_code("not-a-real-code")
    await sim_control(simulator, "POST", "/clock/advance", {"seconds": 1801})
    with pytest.raises(AuthFailed, match="invalid_grant") as caught:
        await oauth.refresh(first.refresh_token)
    assert first.refresh_token not in str(caught.value)
    third = await oauth.refresh(second.refresh_token)
    assert third.access_token
    await oauth.aclose()


@pytest.mark.anyio
async def test_client_credentials_custom_connection(simulator: ServerHandle) -> None:
    """A custom connection sends no tenant id and reads the organisation.

    Xero's spec marks xero-tenant-id required everywhere, yet custom connections need none
    (reference §6.3), so the requests are checked against the spec with only that header added.
    """
    recorder = SpecRecorder()
    auth = ClientCredentialsAuth(
        f"{simulator.base_url}/connect/token", "xero-sandbox-client", "xero-sandbox-secret"
    )
    async with (
        httpx.AsyncClient(event_hooks=recorder.async_hooks()) as http,
        XeroClient(simulator.base_url, auth, tenant_id=None, http=http, retry=FAST_RETRY) as xero,
    ):
        organisation = await xero.get_organisation()
        assert organisation.base_currency == "USD"
        assert await xero.get_currencies()
    assert auth.token is not None and auth.token.refresh_token is None
    assert len(recorder.accounting_exchanges) == 2
    for request, response in recorder.accounting_exchanges:
        assert "xero-tenant-id" not in request.headers
        headers = {**request.headers, "xero-tenant-id": DEFAULT_TENANT_ID}
        with_tenant = httpx.Request(request.method, request.url, headers=headers)
        validate_exchange(with_tenant, response)


@pytest.mark.anyio
async def test_client_credentials_wrong_secret(simulator: ServerHandle) -> None:
    """A wrong client secret is AuthFailed naming invalid_client."""
    auth = ClientCredentialsAuth(f"{simulator.base_url}/connect/token", "xero-sandbox-client", "x")
    async with XeroClient(simulator.base_url, auth, tenant_id=None, retry=FAST_RETRY) as xero:
        with pytest.raises(AuthFailed, match="invalid_client"):
            await xero.get_currencies()


@pytest.mark.anyio
async def test_expired_access_token_is_refreshed_on_401(
    xero: XeroClient, simulator: ServerHandle, token_source: OAuthTokenSource
) -> None:
    """When Xero says the token expired, the auth refreshes once and the call succeeds."""
    await xero.get_currencies()
    # Xero's clock moves past the token's life while ours does not notice: only the 401 tells.
    await sim_control(simulator, "POST", "/clock/advance", {"seconds": 1700})
    await sim_control(simulator, "POST", "/clock/advance", {"seconds": 200})
    assert "USD" in await xero.get_currencies()
    assert token_source.refreshes == 1


@pytest.mark.anyio
async def test_disconnected_app_is_auth_failed(
    xero: XeroClient, simulator: ServerHandle, token_source: OAuthTokenSource
) -> None:
    """After the user disconnects the app, calls raise AuthFailed (refresh is refused too)."""
    await sim_control(simulator, "POST", "/tokens/revoke")
    with pytest.raises(AuthFailed):
        await xero.get_currencies()


@pytest.mark.anyio
async def test_unknown_tenant_is_forbidden(
    simulator: ServerHandle, token_source: OAuthTokenSource
) -> None:
    """A tenant the token is not connected to yields AuthFailed about scope/tenant."""
    async with XeroClient(
        simulator.base_url,
        RefreshingAuth(token_source),
        tenant_id="11111111-2222-3333-4444-555555555555",
        retry=FAST_RETRY,
    ) as xero:
        with pytest.raises(AuthFailed, match="tenant"):
            await xero.get_currencies()


@pytest.mark.anyio
async def test_long_429_is_raised_for_a_durable_wait(
    xero: XeroClient, simulator: ServerHandle
) -> None:
    """Past the minute limit Xero answers 429 with a long Retry-After; the client raises it."""
    await sim_control(simulator, "POST", "/limits", {"minute_limit": 2})
    await xero.get_currencies()
    await xero.get_currencies()
    with pytest.raises(RateLimited) as caught:
        await xero.get_currencies()
    assert caught.value.retry_after > 0


@pytest.mark.anyio
async def test_day_budget_guard_with_the_simulator(
    xero: XeroClient, simulator: ServerHandle
) -> None:
    """When Xero reports fewer than 50 calls left today, the client stops calling."""
    await sim_control(simulator, "POST", "/limits", {"day_limit": 52})
    await xero.get_currencies()
    await xero.get_currencies()
    assert xero.limits.day_remaining == 50
    await xero.get_currencies()
    assert xero.limits.day_remaining == 49
    calls_before = await sim_control(simulator, "GET", "/counters")
    with pytest.raises(RateLimited):
        await xero.get_currencies()
    assert await sim_control(simulator, "GET", "/counters") == calls_before
    assert DEFAULT_TENANT_ID in str(calls_before)
