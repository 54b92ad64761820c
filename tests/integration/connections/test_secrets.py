"""No token, secret or key in clear text: not in the database files, logs or error messages."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from tests.integration.connections.conftest import Env, consent_xero
from typer.testing import CliRunner

from kommo_xero.cli_connect import connect_app
from kommo_xero.connections.records import XERO
from kommo_xero.connections.wiring import open_credentials, xero_token_source
from kommo_xero.transport import AuthFailed


def _database_bytes(data_dir: Path) -> bytes:
    """Every file of the SQLite database (main file, WAL and shared memory)."""
    return b"".join(p.read_bytes() for p in data_dir.glob("kommo-xero.sqlite*"))


@pytest.mark.anyio
async def test_tokens_secrets_and_key_never_in_clear(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    """After a consent, a refresh and a revocation, no secret shows up anywhere readable."""
    caplog.set_level(logging.DEBUG)
    settings = env.settings(xero_auth="oauth")
    credentials = open_credentials(settings)
    await consent_xero(settings, credentials)
    source = xero_token_source(settings, credentials)
    first = await source.current()
    second = await source.refresh(first)
    env.sims.xero_sim.post("/tokens/revoke").raise_for_status()
    with pytest.raises(AuthFailed) as refused:
        await source.refresh(second)
    stored = credentials.get("sandbox", XERO)
    assert stored is not None and stored.paused

    key = (env.data_dir / "secret.key").read_bytes().strip()
    secrets = [
        first.access_token,
        first.refresh_token,
        second.access_token,
        second.refresh_token,
        "xero-sandbox-secret",
    ]
    assert all(secrets)
    database = _database_bytes(env.data_dir)
    assert database  # the check below looks at real bytes
    for secret in secrets:
        assert secret is not None
        assert secret.encode() not in database
        assert secret not in caplog.text
        assert secret not in str(refused.value)
        assert secret not in (stored.pause_reason or "")
        assert secret not in repr(stored) + repr(first) + repr(source)
    assert key not in database
    assert key.decode() not in caplog.text
    assert key.decode() not in repr(credentials)


def test_key_file_is_private(env: Env) -> None:
    """The generated key file can be read by its owner only."""
    open_credentials(env.settings())
    mode = (env.data_dir / "secret.key").stat().st_mode & 0o777
    assert mode == 0o600


def test_connect_output_shows_no_token(env: Env) -> None:
    """Pasting a long-lived token never echoes it back."""
    config = env.write_config(kommo_token=False)
    result = CliRunner().invoke(
        connect_app,
        ["kommo", "--config", str(config), "--long-lived"],
        input="kommo-sandbox-token\n",
    )
    assert result.exit_code == 0, result.output
    assert "kommo-sandbox-token" not in result.output.replace("Long-lived token:", "")
    assert b"kommo-sandbox-token" not in _database_bytes(env.data_dir)
