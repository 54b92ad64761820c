"""A revoked Xero connection parks the deal (nothing lost); reconnecting completes it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.connections.conftest import Env, consent_xero
from tests.integration.flows.conftest import Sandbox, wait_until

from kommo_xero.connections.consent import start_xero
from kommo_xero.connections.records import XERO
from kommo_xero.connections.wiring import open_credentials
from kommo_xero.sandbox.server import ServerHandle, free_port
from kommo_xero.sandbox.stack import register_kommo_webhook, sandbox_settings, start_service


@pytest.fixture
def oauth_sandbox(env: Env, tmp_path: Path) -> Iterator[Sandbox]:
    port = free_port()
    settings = sandbox_settings(
        tmp_path / "service",
        kommo_url=env.sims.kommo.base_url,
        xero_url=env.sims.xero.base_url,
        service_port=port,
    )
    settings = settings.model_copy(
        update={"xero": settings.xero.model_copy(update={"auth": "oauth"})}
    )
    credentials = open_credentials(settings)
    assert asyncio.run(consent_xero(settings, credentials)).status == "done"
    service: ServerHandle = start_service(settings, port=port)
    register_kommo_webhook(env.sims.kommo.base_url, service.base_url)
    box = Sandbox(env.sims, settings, service, tmp_path / "service")
    yield box
    service.stop()


def test_revoked_connection_parks_work_and_reconnect_completes_it(
    oauth_sandbox: Sandbox,
) -> None:
    """Deals approved while Xero access is revoked are parked, then invoiced on reconnect."""
    box = oauth_sandbox
    box.sims.xero_sim.post("/tokens/revoke").raise_for_status()
    lead_id = box.new_deal("Audit", 1200, currency="USD")
    box.approve(lead_id)

    credentials = open_credentials(box.settings)
    store = credentials.store
    wait_until(
        lambda: [
            p for p in store.open_parked("sandbox") if p["reason_code"] == "connection_revoked"
        ]
    )
    stored = credentials.get("sandbox", XERO)
    assert stored is not None and stored.paused
    assert box.invoices_for(lead_id) == []

    # The admin reconnects: the consent's callback lands on the running service.
    start = asyncio.run(start_xero(box.settings, credentials))
    landed = httpx.get(start.url, follow_redirects=True, timeout=30)
    assert landed.status_code == 200, landed.text

    wait_until(lambda: box.invoiced(lead_id), timeout=30)
    assert len(box.invoices_for(lead_id)) == 1
    assert not [p for p in store.open_parked("sandbox") if p["subject"] == str(lead_id)]
