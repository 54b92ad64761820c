"""`setup`, `doctor` and `connect` with several [[connections]] in one settings file."""

from __future__ import annotations

import webbrowser
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.integration.connections.conftest import Env, start_env
from typer.testing import CliRunner

from kommo_xero.cli_connect import connect_app
from kommo_xero.cli_setup import setup_app
from kommo_xero.config import load_settings
from kommo_xero.connections.records import XERO
from kommo_xero.connections.wiring import open_credentials
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.sandbox.xero import create_app as create_xero_app
from kommo_xero.sandbox.xero.config import default_tenant, uk_tenant

runner = CliRunner()
SECRETS = {"acme": "acme-hook-secret-0001", "globex": "globex-hook-secret-0002"}


@dataclass
class Two:
    env: Env
    uk_xero: ServerHandle  # globex's own Xero app (a custom connection reaches one organisation)


@pytest.fixture
def two(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Two]:
    monkeypatch.delenv("KOMMO_XERO_SECRET_KEY", raising=False)
    monkeypatch.delenv("KOMMO_XERO_CONFIG", raising=False)
    started = start_env(tmp_path)
    uk = start_in_thread(create_xero_app(XeroSimConfig(tenants=[uk_tenant()])))
    yield Two(started, uk)
    uk.stop()
    started.sims.stop()


def _config(two: Two, xero_auth: str = "client_credentials") -> Path:
    """Two connections on one Kommo account: acme → the US organisation, globex → the UK one."""
    env = two.env
    lines = [
        "[service]",
        f'public_url = "http://127.0.0.1:{env.port}"',
        f"port = {env.port}",
        f'data_dir = "{env.data_dir.as_posix()}"',
    ]
    xero_urls = {"acme": env.sims.xero.base_url, "globex": two.uk_xero.base_url}
    for name, tenant in (("acme", default_tenant()), ("globex", uk_tenant())):
        lines += [
            "[[connections]]",
            f'name = "{name}"',
            "[connections.kommo]",
            f'base_url = "{env.sims.kommo.base_url}"',
            'token = "kommo-sandbox-token"',
            f'webhook_secret = "{SECRETS[name]}"',
            "[connections.xero]",
            f'base_url = "{xero_urls[name]}"',
            f'identity_url = "{xero_urls[name]}"',
            f'login_url = "{xero_urls[name]}"',
            f'auth = "{xero_auth}"',
            'client_id = "xero-sandbox-client"',
            'client_secret = "xero-sandbox-secret"',
            'webhook_key = "xero-sandbox-webhook-key"',
            f'tenant_id = "{tenant.tenant_id}"',
        ]
    path = env.data_dir / "two.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_setup_and_doctor_cover_every_connection(two: Two) -> None:
    """setup registers each connection's own Kommo webhook; doctor checks both, by name."""
    config = _config(two)
    setup = runner.invoke(setup_app, ["setup", "--config", str(config)])
    assert setup.exit_code == 0, setup.output
    assert "connection acme" in setup.output and "connection globex" in setup.output
    hooks = sorted(h.destination for h in two.env.sims.kommo.app.state.sim.webhooks.values())
    base = f"http://127.0.0.1:{two.env.port}/webhooks/kommo/"
    assert [base + SECRETS["acme"], base + SECRETS["globex"]] == hooks

    doctor = runner.invoke(setup_app, ["doctor", "--config", str(config)])
    assert doctor.exit_code == 0, doctor.output
    assert "connection acme" in doctor.output and "connection globex" in doctor.output
    assert "Sandbox Company (UK)" in doctor.output and "Sandbox Company (US)" in doctor.output


def test_doctor_of_one_connection_and_of_an_unknown_one(two: Two) -> None:
    """`--connection globex` checks globex alone; an unknown name lists the configured ones."""
    config = _config(two)
    assert runner.invoke(setup_app, ["setup", "--config", str(config)]).exit_code == 0
    one = runner.invoke(setup_app, ["doctor", "--config", str(config), "--connection", "globex"])
    assert one.exit_code == 0, one.output
    assert "Sandbox Company (UK)" in one.output and "Sandbox Company (US)" not in one.output
    unknown = runner.invoke(setup_app, ["doctor", "--config", str(config), "--connection", "x"])
    assert unknown.exit_code == 2
    assert "no connection named 'x' (configured: acme, globex)" in unknown.output


def test_connect_xero_for_a_named_connection(two: Two, monkeypatch: pytest.MonkeyPatch) -> None:
    """The consent started for globex is stored for globex (and its organisation), not acme."""
    monkeypatch.setattr(
        webbrowser, "open", lambda url, *a, **k: httpx.get(url, follow_redirects=True) and True
    )
    config = _config(two, xero_auth="oauth")
    result = runner.invoke(
        connect_app,
        ["xero", "--config", str(config), "--connection", "globex", "--timeout", "20"],
    )
    assert result.exit_code == 0, result.output
    assert "Xero connected to Sandbox Company (UK)" in result.output
    credentials = open_credentials(load_settings(config))
    stored = credentials.get("globex", XERO)
    assert stored is not None and stored.tenant_id == uk_tenant().tenant_id
    assert credentials.get("acme", XERO) is None
