"""Metrics at /metrics, redacting structured logs, and the admin password command."""

from __future__ import annotations

import io
import json
import logging
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kommo_xero.cli_admin import admin_app
from kommo_xero.observability import record_api_call, record_flow, record_webhook
from kommo_xero.observability.logging import REDACTED, configure_logging
from kommo_xero.observability.metrics import observe_trigger_to_result
from kommo_xero.web.dashboard.passwords import PASSWORD_FILE, load_password_hash, verify_password


def _sample(text: str, name: str, labels: str) -> float:
    line = next(line for line in text.splitlines() if line.startswith(f"{name}{{{labels}}}"))
    return float(line.rsplit(" ", 1)[1])


def test_metrics_count_webhooks_flows_calls_and_latency(client: TestClient) -> None:
    """Recorded events show up in /metrics under their source, kind, service and status."""
    before = client.get("/metrics").text
    record_webhook("kommo", "accepted")
    record_flow("deal_to_invoice", "invoiced")
    record_api_call("xero", 429)
    observe_trigger_to_result("deal_to_invoice", 1.5)
    after = client.get("/metrics").text

    def grew(name: str, labels: str) -> float:
        old = _sample(before, name, labels) if f"{name}{{{labels}}}" in before else 0.0
        return _sample(after, name, labels) - old

    assert grew("kommo_xero_webhooks_received_total", 'outcome="accepted",source="kommo"') == 1
    assert grew("kommo_xero_flows_total", 'kind="deal_to_invoice",outcome="invoiced"') == 1
    assert grew("kommo_xero_api_calls_total", 'service="xero",status="429"') == 1
    assert (
        grew("kommo_xero_trigger_to_result_seconds_bucket", 'flow="deal_to_invoice",le="2.0"') == 1
    )


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging("json", stream=stream)
    yield stream
    structlog.reset_defaults()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_kommo_xero", False)]:
        root.removeHandler(handler)


def test_logs_are_json_with_secrets_redacted(json_logs: io.StringIO) -> None:
    """Tokens, secrets, Authorization headers and JWTs never reach a log line."""
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTYifQ.c2lnbmF0dXJlLXZhbHVl"
    structlog.get_logger("test").info(
        "calling Xero with Bearer abcdefghijklmnop",
        headers={"Authorization": "Bearer secret-access-token", "Accept": "application/json"},
        client_secret="xero-client-secret",
        refresh_token="rotating-refresh",
        url=f"https://example.test/cb?code=1&access_token={jwt}",
        note=f"token was {jwt}",
        lead_id=42,
    )
    logging.getLogger("stdlib").warning("password=hunter2-long in a stdlib message")
    out = json_logs.getvalue()
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    text = out
    for secret in ["secret-access-token", "xero-client-secret", "rotating-refresh", jwt, "hunter2"]:
        assert secret not in text
    first = lines[0]
    assert first["headers"]["Authorization"] == REDACTED
    assert first["headers"]["Accept"] == "application/json"
    assert first["lead_id"] == 42
    assert first["level"] == "info"


def test_set_password_command_stores_a_private_hash(tmp_path: Path) -> None:
    """`admin set-password` writes a 0600 scrypt hash the dashboard accepts."""
    result = CliRunner().invoke(
        admin_app,
        ["set-password", "--data-dir", str(tmp_path), "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    path = tmp_path / PASSWORD_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = load_password_hash(tmp_path)
    assert stored is not None and "a long enough password" not in stored
    assert verify_password("a long enough password", stored)
    assert not verify_password("another password", stored)


def test_set_password_refuses_a_short_password(tmp_path: Path) -> None:
    """A too-short password is refused and nothing is written."""
    result = CliRunner().invoke(
        admin_app,
        ["set-password", "--data-dir", str(tmp_path), "--password-stdin"],
        input="short\n",
    )
    assert result.exit_code == 1
    assert not (tmp_path / PASSWORD_FILE).exists()
