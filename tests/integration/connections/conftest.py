"""Simulators plus a settings file pointing at them, for the connection tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kommo_xero.config import Settings, load_settings
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import Simulators, start_simulators
from kommo_xero.sandbox.xero import XeroSimConfig


@dataclass
class Env:
    sims: Simulators
    data_dir: Path
    port: int

    def write_config(
        self, *, kommo_token: bool = True, xero_auth: str = "client_credentials", **mapping: str
    ) -> Path:
        """A TOML settings file for the sandbox; returns its path."""
        lines = [
            'connection_name = "sandbox"',
            "[service]",
            f'public_url = "http://127.0.0.1:{self.port}"',
            f"port = {self.port}",
            f'data_dir = "{self.data_dir.as_posix()}"',
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


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Env]:
    monkeypatch.delenv("KOMMO_XERO_SECRET_KEY", raising=False)
    monkeypatch.delenv("KOMMO_XERO_CONFIG", raising=False)
    port = free_port()
    sims = start_simulators(
        kommo_config=KommoSimConfig(
            webhook_time_scale=0.001,
            oauth_redirect_uri=f"http://127.0.0.1:{port}/oauth/kommo/callback",
        ),
        xero_config=XeroSimConfig(webhook_time_scale=0.001),
    )
    yield Env(sims, tmp_path, port)
    sims.stop()
