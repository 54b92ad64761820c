"""OAuth, tenants and rate limits of the Xero simulator, as a client experiences them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from tests.support.xero_spec import SpecRecorder, accounting_client, consent_token

from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import (
    DEFAULT_TENANT_ID,
    UK_TENANT_ID,
    XeroSimConfig,
    create_app,
    default_tenant,
    uk_tenant,
)

AUTH = ("xero-sandbox-client", "xero-sandbox-secret")


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    config = XeroSimConfig(tenants=[default_tenant(), uk_tenant()], minute_limit=5)
    with start_in_thread(create_app(config)) as handle:
        yield handle


@pytest.fixture
def base(server: ServerHandle) -> Iterator[str]:
    httpx.post(f"{server.base_url}/_sim/reset")
    yield server.base_url


@pytest.fixture
def recorder() -> Iterator[SpecRecorder]:
    spec = SpecRecorder()
    yield spec
    spec.assert_all_valid()


def refresh(base: str, token: str) -> httpx.Response:
    return httpx.post(
        f"{base}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": token},
        auth=AUTH,
    )


def test_code_flow_connects_both_organisations(base: str) -> None:
    """Consent returns code+state; the token lists both tenants in /connections."""
    tokens = consent_token(base)
    assert tokens["expires_in"] == 1800 and tokens["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    connections = httpx.get(f"{base}/connections", headers=headers).json()
    assert {c["tenantId"] for c in connections} == {DEFAULT_TENANT_ID, UK_TENANT_ID}
    event = connections[0]["authEventId"]
    filtered = httpx.get(f"{base}/connections", params={"authEventId": event}, headers=headers)
    assert len(filtered.json()) == 2


def test_consent_can_be_denied(base: str) -> None:
    """With the /_sim consent switch the person cancels and the redirect carries access_denied."""
    httpx.post(f"{base}/_sim/consent", json={"deny": True})
    response = httpx.get(
        f"{base}/identity/connect/authorize",
        params={
            "response_type": "code",
            "client_id": AUTH[0],
            "redirect_uri": "http://x/cb",
            "scope": "openid",
            "state": "abc",
        },
    )
    assert response.status_code == 302
    assert "error=access_denied" in response.headers["location"]
    assert "state=abc" in response.headers["location"]


def test_refresh_rotates_and_the_old_token_replays_during_grace(base: str) -> None:
    """Each refresh gives a new pair; the superseded token returns that same pair in grace."""
    tokens = consent_token(base)
    first = refresh(base, tokens["refresh_token"]).json()
    assert first["refresh_token"] != tokens["refresh_token"]
    replay = refresh(base, tokens["refresh_token"]).json()
    assert replay == first
    counters = httpx.get(f"{base}/_sim/counters").json()
    assert counters["refresh_calls"] == 2


def test_superseded_refresh_token_fails_after_grace(base: str) -> None:
    """Past the 30-minute grace the old refresh token gets invalid_grant; the new one works."""
    tokens = consent_token(base)
    newer = refresh(base, tokens["refresh_token"]).json()
    httpx.post(f"{base}/_sim/clock/advance", json={"seconds": 1801})
    stale = refresh(base, tokens["refresh_token"])
    assert stale.status_code == 400 and stale.json() == {"error": "invalid_grant"}
    assert refresh(base, newer["refresh_token"]).status_code == 200


def test_wrong_client_secret_is_invalid_client(base: str) -> None:
    """Bad client credentials at the token endpoint answer invalid_client."""
    response = httpx.post(
        f"{base}/connect/token", data={"grant_type": "client_credentials"}, auth=(AUTH[0], "nope")
    )
    assert response.json() == {"error": "invalid_client"}


def test_expired_access_token_gets_problem_details(base: str, recorder: SpecRecorder) -> None:
    """After 30 minutes the access token is refused with a 401 TokenExpired ProblemDetails."""
    tokens = consent_token(base)
    httpx.post(f"{base}/_sim/clock/advance", json={"seconds": 1801})
    with accounting_client(base, tokens["access_token"], DEFAULT_TENANT_ID, recorder) as xero:
        response = xero.get("/Organisation")
    body = response.json()
    assert response.status_code == 401 and body["Title"] == "Unauthorized"
    assert body["Detail"].startswith("TokenExpired")


def test_missing_or_unknown_tenant_is_forbidden(base: str, recorder: SpecRecorder) -> None:
    """An auth-code token without a connected xero-tenant-id gets 403."""
    tokens = consent_token(base)
    with accounting_client(base, tokens["access_token"], "0" * 8, recorder) as xero:
        assert xero.get("/Organisation").status_code == 403
    with accounting_client(base, tokens["access_token"], UK_TENANT_ID, recorder) as xero:
        org = xero.get("/Organisation").json()["Organisations"][0]
        assert org["BaseCurrency"] == "GBP" and org["Name"] == "Sandbox Company (UK)"


def test_revoked_connection_stops_api_and_refresh(base: str) -> None:
    """After the person disconnects the app, refresh is invalid_grant and calls are 401."""
    tokens = consent_token(base)
    httpx.post(f"{base}/_sim/tokens/revoke")
    assert refresh(base, tokens["refresh_token"]).json() == {"error": "invalid_grant"}
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": DEFAULT_TENANT_ID,
        "Accept": "application/json",
    }
    assert httpx.get(f"{base}/api.xro/2.0/Organisation", headers=headers).status_code == 401


def test_client_credentials_token_needs_no_tenant_header(base: str, recorder: SpecRecorder) -> None:
    """A custom-connection token works without xero-tenant-id, bound to the first org."""
    response = httpx.post(
        f"{base}/connect/token", data={"grant_type": "client_credentials"}, auth=AUTH
    )
    body = response.json()
    assert "refresh_token" not in body
    with httpx.Client(
        base_url=f"{base}/api.xro/2.0",
        event_hooks=recorder.sync_hooks(),
        headers={"Authorization": f"Bearer {body['access_token']}", "Accept": "application/json"},
    ) as xero:
        org = xero.get("/Organisation", headers={"xero-tenant-id": DEFAULT_TENANT_ID})
        assert org.json()["Organisations"][0]["OrganisationID"] == DEFAULT_TENANT_ID
    plain = httpx.get(
        f"{base}/api.xro/2.0/Currencies",
        headers={"Authorization": f"Bearer {body['access_token']}", "Accept": "application/json"},
    )
    assert plain.status_code == 200


def test_minute_limit_answers_429_with_retry_after(base: str, recorder: SpecRecorder) -> None:
    """The sixth call in a minute (limit 5 here) is a 429 naming the minute limit."""
    tokens = consent_token(base)
    with accounting_client(base, tokens["access_token"], DEFAULT_TENANT_ID, recorder) as xero:
        remaining = [xero.get("/Currencies").headers["x-minlimit-remaining"] for _ in range(5)]
        refused = xero.get("/Currencies")
        assert remaining == ["4", "3", "2", "1", "0"]
        assert refused.status_code == 429
        assert refused.headers["x-rate-limit-problem"] == "minute"
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["x-daylimit-remaining"] == "4995"
        other_org = httpx.get(
            f"{base}/api.xro/2.0/Currencies",
            headers={**xero.headers, "xero-tenant-id": UK_TENANT_ID},
        )
        assert other_org.status_code == 200
        httpx.post(f"{base}/_sim/clock/advance", json={"seconds": 61})
        assert xero.get("/Currencies").status_code == 200
    counters = httpx.get(f"{base}/_sim/counters").json()["tenants"][DEFAULT_TENANT_ID]
    assert counters["max_per_minute"] == 5 and counters["rate_limited"] == 1


def test_concurrency_limit_answers_429(base: str) -> None:
    """Calls over the concurrent limit get 429 with X-Rate-Limit-Problem: concurrent."""
    httpx.post(
        f"{base}/_sim/limits", json={"minute_limit": 100, "concurrent_limit": 2, "latency_ms": 300}
    )
    tokens = consent_token(base)
    headers = {
        "Authorization": f"Bearer {tokens['access_token']}",
        "xero-tenant-id": DEFAULT_TENANT_ID,
        "Accept": "application/json",
    }
    results: list[httpx.Response] = []

    def call() -> None:
        results.append(httpx.get(f"{base}/api.xro/2.0/Currencies", headers=headers, timeout=10))

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    problems = sorted(r.headers.get("x-rate-limit-problem", "") for r in results)
    assert problems == ["", "", "concurrent", "concurrent"]
    counters = httpx.get(f"{base}/_sim/counters").json()["tenants"][DEFAULT_TENANT_ID]
    assert counters["max_concurrent"] == 2
