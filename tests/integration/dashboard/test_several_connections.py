"""The dashboard of a deployment with several connections: each one listed and choosable."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from tests.integration.dashboard.conftest import add_link

from kommo_xero.bootstrap import Service
from kommo_xero.config import ConnectionSettings, MappingSettings
from kommo_xero.sandbox.stack import sandbox_settings


@pytest.fixture
def service(tmp_path: Path) -> Service:
    base = sandbox_settings(
        tmp_path, kommo_url="http://127.0.0.1:9", xero_url="http://127.0.0.1:9", service_port=8100
    )
    connections = [
        ConnectionSettings(
            name="sandbox",
            kommo=base.kommo.model_copy(update={"webhook_secret": SecretStr("sandbox-hook-1")}),
            xero=base.xero,
        ),
        ConnectionSettings(
            name="globex",
            kommo=base.kommo.model_copy(update={"webhook_secret": SecretStr("globex-hook-22")}),
            xero=base.xero,
            mapping=MappingSettings(trigger_stage="Contract signed"),
        ),
    ]
    return Service(base.model_copy(update={"connections": connections}))


def test_overview_lists_every_configured_connection(signed_in: TestClient) -> None:
    """Before the service connects, both connections show, as not connected."""
    html = signed_in.get("/dashboard").text
    assert "sandbox" in html and "globex" in html


def test_settings_show_the_chosen_connection(signed_in: TestClient) -> None:
    """settings?connection=globex shows globex's trigger stage and its own webhook URL."""
    first = signed_in.get("/dashboard/settings").text
    assert "Payment Approved" in first and "Contract signed" not in first
    globex = signed_in.get("/dashboard/settings?connection=globex").text
    assert "Contract signed" in globex
    assert "/webhooks/kommo/globex-hook-22" in globex
    assert '<option value="globex" selected>' in globex


def test_links_page_offers_a_choice_of_connection(signed_in: TestClient, service: Service) -> None:
    """The links page has a connection choice, and each choice shows its own links only."""
    add_link(service, 1)  # on "sandbox"
    html = signed_in.get("/dashboard/links").text
    assert '<select name="connection"' in html
    assert "INV-0001" in html
    assert "INV-0001" not in signed_in.get("/dashboard/links?connection=globex").text
