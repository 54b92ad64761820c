"""OAuth, token lifetimes, the rate limit and the IP block of the Kommo simulator."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread

CONFIG = KommoSimConfig(rate_limit_per_second=0)
REDIRECT = "https://hooks.example.com/kommo/callback"


@pytest.fixture
def server() -> Iterator[ServerHandle]:
    with start_in_thread(create_app(CONFIG)) as handle:
        yield handle


def grant(server: ServerHandle, **fields: str) -> httpx.Response:
    body = {
        "client_id": CONFIG.client_id,
        "client_secret": CONFIG.client_secret,
        "redirect_uri": REDIRECT,
        **fields,
    }
    return httpx.post(f"{server.base_url}/oauth2/access_token", json=body)


def consent(server: ServerHandle) -> dict[str, list[str]]:
    params = {
        "client_id": CONFIG.client_id,
        "state": "csrf-1",
        "mode": "post_message",
        "redirect_uri": REDIRECT,
    }
    response = httpx.get(f"{server.base_url}/oauth", params=params)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return parse_qs(location.query)


def leads_status(server: ServerHandle, token: str) -> int:
    response = httpx.get(
        f"{server.base_url}/api/v4/leads", headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


def test_code_exchange_gives_working_tokens(server: ServerHandle) -> None:
    """The consent redirect carries code, state, referer and client_id; the code buys a token."""
    query = consent(server)
    assert (["csrf-1"], [CONFIG.client_id]) == (query["state"], query["client_id"])
    assert [f"127.0.0.1:{server.port}"] == query["referer"]
    tokens = grant(server, grant_type="authorization_code", code=query["code"][0]).json()
    assert (tokens["token_type"], tokens["expires_in"]) == ("Bearer", 86400)
    assert len(tokens["access_token"].split(".")) == 3
    assert leads_status(server, tokens["access_token"]) == 204
    assert grant(server, grant_type="authorization_code", code=query["code"][0]).status_code == 400


def test_refresh_rotation_keeps_old_token_until_new_is_used(server: ServerHandle) -> None:
    """The old refresh token works until its successor is used once, then it is revoked."""
    first = grant(server, grant_type="authorization_code", code=consent(server)["code"][0]).json()
    second = grant(server, grant_type="refresh_token", refresh_token=first["refresh_token"]).json()
    # A client that lost the response may retry with the old token: still accepted.
    retried = grant(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert retried.status_code == 200
    newest = retried.json()
    assert (
        grant(server, grant_type="refresh_token", refresh_token=newest["refresh_token"]).status_code
        == 200
    )
    revoked = grant(server, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert revoked.status_code == 401
    assert revoked.json()["hint"] == "Token has been revoked"
    assert revoked.json()["type"] == "https://developers.amocrm.ru/v3/errors/OAuthProblemJson"
    assert (
        grant(server, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code
        == 401
    )


def test_access_token_expires_with_the_clock(server: ServerHandle) -> None:
    """After access_token_ttl seconds on the simulated clock the access token gives 401."""
    tokens = grant(server, grant_type="authorization_code", code=consent(server)["code"][0]).json()
    httpx.post(
        f"{server.base_url}/_sim/clock/advance", json={"seconds": CONFIG.access_token_ttl + 1}
    )
    assert leads_status(server, tokens["access_token"]) == 401


def test_authorization_code_lives_twenty_minutes(server: ServerHandle) -> None:
    """A code older than 20 minutes is refused."""
    code = consent(server)["code"][0]
    httpx.post(f"{server.base_url}/_sim/clock/advance", json={"seconds": 20 * 60 + 1})
    assert grant(server, grant_type="authorization_code", code=code).status_code == 400


def test_revoking_access_gives_401(server: ServerHandle) -> None:
    """After the admin revokes the integration even the long-lived token gets 401."""
    assert leads_status(server, CONFIG.long_lived_token) == 204
    httpx.post(f"{server.base_url}/_sim/tokens/revoke", json={})
    assert leads_status(server, CONFIG.long_lived_token) == 401


def test_rate_limit_answers_429_problem() -> None:
    """The request past N in one second gets the documented 429 body; /_sim is not limited."""
    config = KommoSimConfig(rate_limit_per_second=3, rate_limit_retry_after=2)
    with start_in_thread(create_app(config)) as handle:
        statuses = [leads_status(handle, config.long_lived_token) for _ in range(4)]
        assert statuses == [204, 204, 204, 429]
        response = httpx.get(f"{handle.base_url}/api/v4/leads")
        assert response.headers["content-type"].startswith("application/problem+json")
        assert {k: v for k, v in response.json().items() if k != "detail"} == {
            "title": "Too Many Requests",
            "type": "https://httpstatus.es/429",
            "status": 429,
            "retry_after": 2,
        }
        assert all(httpx.get(f"{handle.base_url}/_sim/state").status_code == 200 for _ in range(5))


def test_block_mode_answers_html_403_everywhere(server: ServerHandle) -> None:
    """In block mode every account route, token endpoint included, answers an HTML 403."""
    httpx.post(f"{server.base_url}/_sim/account/block", json={"on": True})
    response = httpx.get(f"{server.base_url}/api/v4/leads", headers={"Authorization": "Bearer x"})
    assert (response.status_code, response.headers["content-type"]) == (403, "text/html")
    assert grant(server, grant_type="refresh_token", refresh_token="x").status_code == 403
    httpx.post(f"{server.base_url}/_sim/account/block", json={"on": False})
    assert leads_status(server, CONFIG.long_lived_token) == 204
