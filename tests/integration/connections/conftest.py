"""Simulators plus a settings file pointing at them, for the connection tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from kommo_xero.config import Settings, load_settings
from kommo_xero.connections.consent import ConsentOutcome, complete_xero, start_xero
from kommo_xero.connections.records import CredentialStore
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import Simulators, start_simulators
from kommo_xero.sandbox.xero import XeroSimConfig


@dataclass
class Env:
    sims: Simulators
    data_dir: Path
    port: int
    database_url: str | None = None  # None: the SQLite files in data_dir

    def write_config(
        self,
        *,
        kommo_token: bool = True,
        xero_auth: str = "client_credentials",
        calls_per_minute: int = 55,
        calls_per_day: int = 4800,
        **mapping: str,
    ) -> Path:
        """A TOML settings file for the sandbox; returns its path."""
        lines = [
            'connection_name = "sandbox"',
            "[service]",
            f'public_url = "http://127.0.0.1:{self.port}"',
            f"port = {self.port}",
            f'data_dir = "{self.data_dir.as_posix()}"',
            *([f'database_url = "{self.database_url}"'] if self.database_url else []),
            "[kommo]",
            f'base_url = "{self.sims.kommo.base_url}"',
            'client_id = "kommo-sandbox-client"',
            'client_secret = "kommo-sandbox-secret"',
            'webhook_secret = "sandbox-webhook-secret"',
            "[xero]",
            f'base_url = "{self.sims.xero.base_url}"',
            f'identity_url = "{self.sims.xero.base_url}"',
            f'login_url = "{self.sims.xero.base_url}"',
            f'auth = "{xero_auth}"',
            'client_id = "xero-sandbox-client"',
            'client_secret = "xero-sandbox-secret"',
            'webhook_key = "xero-sandbox-webhook-key"',
            f"calls_per_minute = {calls_per_minute}",
            f"calls_per_day = {calls_per_day}",
        ]
        if kommo_token:
            lines.insert(
                lines.index('client_id = "kommo-sandbox-client"'), 'token = "kommo-sandbox-token"'
            )
        if mapping:
            lines.append("[mapping]")
            lines += [f'{key} = "{value}"' for key, value in mapping.items()]
        path = self.data_dir / "kommo-xero.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def settings(self, **kwargs: Any) -> Settings:
        return load_settings(self.write_config(**kwargs))


def start_env(data_dir: Path, **xero: Any) -> Env:
    port = free_port()
    sims = start_simulators(
        kommo_config=KommoSimConfig(
            webhook_time_scale=0.001,
            oauth_redirect_uri=f"http://127.0.0.1:{port}/oauth/kommo/callback",
        ),
        xero_config=XeroSimConfig(webhook_time_scale=0.001, **xero),
    )
    return Env(sims, data_dir, port)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.delenv("KOMMO_XERO_SECRET_KEY", raising=False)
    monkeypatch.delenv("KOMMO_XERO_CONFIG", raising=False)
    started = start_env(tmp_path)
    yield started
    started.sims.stop()


async def consent_xero(settings: Settings, credentials: CredentialStore) -> ConsentOutcome:
    """Play the browser: open the consent URL, follow the simulator's redirect to our callback
    handler (called directly here), and return what it decided."""
    start = await start_xero(settings, credentials)
    async with httpx.AsyncClient() as browser:
        redirect = await browser.get(start.url)
    query = parse_qs(urlparse(redirect.headers["location"]).query)
    return await complete_xero(
        settings, credentials, state=query["state"][0], code=query["code"][0]
    )
