"""Consent flows against the simulators' OAuth endpoints, through the CLI and the callbacks."""

from __future__ import annotations

import asyncio
import webbrowser
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from fastapi import FastAPI
from tests.integration.connections.conftest import Env, start_env
from typer.testing import CliRunner

from kommo_xero.bootstrap import build_kommo, build_xero
from kommo_xero.cli_connect import connect_app
from kommo_xero.connections.consent import start_xero
from kommo_xero.connections.records import KOMMO, XERO
from kommo_xero.connections.wiring import open_credentials
from kommo_xero.sandbox.server import start_in_thread
from kommo_xero.sandbox.xero.config import default_tenant, uk_tenant
from kommo_xero.web.oauth import oauth_router

runner = CliRunner()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """A fake browser: opens the consent page and follows every redirect."""
    statuses: list[int] = []

    def open_page(url: str, *args: object, **kwargs: object) -> bool:
        statuses.append(httpx.get(url, follow_redirects=True, timeout=10).status_code)
        return True

    monkeypatch.setattr(webbrowser, "open", open_page)
    return statuses


@pytest.fixture
def two_org_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.delenv("KOMMO_XERO_SECRET_KEY", raising=False)
    started = start_env(tmp_path, tenants=[default_tenant(), uk_tenant()])
    yield started
    started.sims.stop()


def test_connect_xero_stores_tokens_and_the_organisation(env: Env, browser: list[int]) -> None:
    """`connect xero` runs the consent, keeps the only organisation, and the client works."""
    config = env.write_config(xero_auth="oauth")
    result = runner.invoke(connect_app, ["xero", "--config", str(config), "--timeout", "20"])
    assert result.exit_code == 0, result.output
    assert browser == [200]
    assert "Xero connected to Sandbox Company (US)" in result.output

    settings = env.settings(xero_auth="oauth")
    stored = open_credentials(settings).get("sandbox", XERO)
    assert stored is not None and stored.tenant_name == "Sandbox Company (US)"
    assert "accounting.invoices" in stored.scope.split()  # granular scopes by default

    async def organisation() -> str:
        async with build_xero(settings) as client:
            return (await client.get_organisation()).name

    assert asyncio.run(organisation()) == "Sandbox Company (US)"


def test_connect_xero_legacy_scopes(env: Env, browser: list[int]) -> None:
    """`--legacy-scopes` asks for the broad accounting.transactions scope."""
    config = env.write_config(xero_auth="oauth")
    result = runner.invoke(
        connect_app, ["xero", "--config", str(config), "--legacy-scopes", "--timeout", "20"]
    )
    assert result.exit_code == 0, result.output
    stored = open_credentials(env.settings(xero_auth="oauth")).get("sandbox", XERO)
    assert stored is not None and "accounting.transactions" in stored.scope.split()


def test_connect_xero_asks_which_organisation(two_org_env: Env, browser: list[int]) -> None:
    """With two organisations in the consent the command asks, and keeps the one chosen."""
    config = two_org_env.write_config(xero_auth="oauth")
    result = runner.invoke(
        connect_app, ["xero", "--config", str(config), "--timeout", "20"], input="2\n"
    )
    assert result.exit_code == 0, result.output
    assert "Sandbox Company (UK)" in result.output
    stored = open_credentials(two_org_env.settings(xero_auth="oauth")).get("sandbox", XERO)
    assert stored is not None and stored.tenant_id == uk_tenant().tenant_id


def test_connect_kommo_oauth_then_client_uses_it(env: Env, browser: list[int]) -> None:
    """`connect kommo` runs Kommo's consent; without kommo.token the client uses OAuth."""
    config = env.write_config(kommo_token=False)
    result = runner.invoke(connect_app, ["kommo", "--config", str(config), "--timeout", "20"])
    assert result.exit_code == 0, result.output
    assert "Kommo connected (account 30000001)" in result.output
    settings = env.settings(kommo_token=False)
    stored = open_credentials(settings).get("sandbox", KOMMO)
    assert stored is not None and stored.kind == "oauth" and stored.refresh_token

    async def account() -> int:
        async with build_kommo(settings) as kommo:
            return (await kommo.get_account()).id

    assert asyncio.run(account()) == 30000001


def test_connect_kommo_long_lived_token(env: Env) -> None:
    """A pasted long-lived token is checked against Kommo and stored; a bad one is refused."""
    config = env.write_config(kommo_token=False)
    bad = runner.invoke(
        connect_app, ["kommo", "--config", str(config), "--long-lived"], input="nope\n"
    )
    assert bad.exit_code == 1
    good = runner.invoke(
        connect_app,
        ["kommo", "--config", str(config), "--long-lived"],
        input="kommo-sandbox-token\n",
    )
    assert good.exit_code == 0, good.output
    stored = open_credentials(env.settings(kommo_token=False)).get("sandbox", KOMMO)
    assert stored is not None and stored.kind == "long_lived"


class _Host:
    def __init__(self, env: Env) -> None:
        self.settings = env.settings(xero_auth="oauth")
        self.store = open_credentials(self.settings).store
        self.started = False


@pytest.fixture
def callbacks(env: Env) -> Iterator[tuple[_Host, str]]:
    host = _Host(env)
    app = FastAPI()
    app.include_router(oauth_router(host))
    handle = start_in_thread(app)
    yield host, handle.base_url
    handle.stop()


async def _consent_redirect(host: _Host) -> dict[str, str]:
    start = await start_xero(host.settings, open_credentials(host.settings, host.store))
    redirect = httpx.get(start.url)
    return {k: v[0] for k, v in parse_qs(urlparse(redirect.headers["location"]).query).items()}


@pytest.mark.anyio
async def test_callback_with_mismatched_state_is_refused(callbacks: tuple[_Host, str]) -> None:
    """A callback whose state we never issued gets 400 and stores nothing."""
    host, base = callbacks
    query = await _consent_redirect(host)
    query["state"] = query["state"][:-2] + "xx"
    answer = httpx.get(f"{base}/oauth/xero/callback?{urlencode(query)}")
    assert answer.status_code == 400
    assert "state mismatch" in answer.text
    assert open_credentials(host.settings, host.store).get("sandbox", XERO) is None


@pytest.mark.anyio
async def test_callback_state_is_accepted_once(callbacks: tuple[_Host, str]) -> None:
    """The genuine callback connects; replaying it is refused."""
    host, base = callbacks
    query = await _consent_redirect(host)
    first = httpx.get(f"{base}/oauth/xero/callback?{urlencode(query)}")
    assert first.status_code == 200, first.text
    again = httpx.get(f"{base}/oauth/xero/callback?{urlencode(query)}")
    assert again.status_code == 400


@pytest.mark.anyio
async def test_denied_consent_is_reported(env: Env, callbacks: tuple[_Host, str]) -> None:
    """When the person cancels in Xero, the callback says so and nothing is stored."""
    host, base = callbacks
    env.sims.xero_sim.post("/consent", json={"deny": True}).raise_for_status()
    query = await _consent_redirect(host)
    answer = httpx.get(f"{base}/oauth/xero/callback?{urlencode(query)}")
    assert answer.status_code == 400
    assert "access_denied" in answer.text
    assert open_credentials(host.settings, host.store).get("sandbox", XERO) is None
