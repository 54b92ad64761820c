"""Webhook counts on the overview add up what every `serve` process received."""

from __future__ import annotations

import re
import time

from fastapi.testclient import TestClient
from tests.integration.dashboard.conftest import CONNECTION

from kommo_xero.bootstrap import Service
from kommo_xero.observability import record_webhook
from kommo_xero.observability.metrics import MinuteCount
from kommo_xero.store.webhook_minutes import WebhookMinutes


def kommo_last_hour(client: TestClient) -> int:
    html = client.get("/dashboard").text
    found = re.search(r"Kommo webhooks</th>\s*<td>(\d+) in the last hour", html)
    assert found, "the overview shows no Kommo webhook count"
    return int(found.group(1))


def test_overview_counts_webhooks_that_other_serve_processes_received(
    signed_in: TestClient, service: Service
) -> None:
    """One webhook here and five at another `serve` (shared through the database) show as six."""
    client = signed_in
    before = kommo_last_hour(client)
    record_webhook("kommo", "accepted", [CONNECTION])
    minute = int(time.time() // 60)
    other = WebhookMinutes(service.store.engine, "web-b")
    other.publish([MinuteCount(CONNECTION, "kommo", minute, 5, time.time())])
    assert kommo_last_hour(client) == before + 6


def test_a_process_replaces_its_own_rows_and_old_minutes_drop_out(service: Service) -> None:
    """Publishing again replaces a process's counts; minutes older than the window are left out."""
    engine = service.store.engine
    now = time.time()
    web_a, web_b = WebhookMinutes(engine, "web-a"), WebhookMinutes(engine, "web-b")
    web_a.publish([MinuteCount("acme", "xero", int(now // 60), 3, now)])
    web_a.publish([MinuteCount("acme", "xero", int(now // 60), 4, now)])
    web_a.publish(
        [
            MinuteCount("acme", "xero", int(now // 60), 4, now),
            MinuteCount("acme", "xero", int(now // 60) - 120, 50, now - 7200),
        ]
    )
    assert web_b.others("acme", now - 3600) == {"xero": (4, now)}
    assert web_a.others("acme", now - 3600) == {}  # its own live counts come from memory
