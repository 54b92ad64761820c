"""A sandbox (both simulators + the service, both webhooks subscribed) for the Xero → Kommo
benchmarks. Not product code, not tests."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.server import ServerHandle, free_port
from kommo_xero.sandbox.stack import (
    Simulators,
    register_kommo_webhook,
    register_xero_webhook,
    sandbox_settings,
    start_service,
    start_simulators,
)
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.store import Store, make_engine


@dataclass
class Stack:
    sims: Simulators
    service: ServerHandle
    store: Store
    connection: str

    def api_calls(self) -> tuple[int, int]:
        """(Kommo API calls, Xero API calls) seen by the simulators, control routes excluded."""
        counts = []
        for sim in (self.sims.kommo_sim, self.sims.xero_sim):
            calls = sim.get("/calls").json()["calls"]
            counts.append(sum(n for route, n in calls.items() if "/_sim" not in route))
        return counts[0], counts[1]

    def reset_calls(self) -> None:
        self.sims.kommo_sim.delete("/calls")
        self.sims.xero_sim.delete("/calls")

    def lead_for_invoice(self, invoice_id: str) -> int | None:
        link = self.store.link_by_invoice(self.connection, invoice_id)
        return int(link["kommo_lead_id"]) if link is not None and link["kommo_lead_id"] else None

    def lead_status_label(self, lead_id: int) -> str | None:
        lead = self.sims.kommo.app.state.sim.leads.get(lead_id)
        if lead is None:
            return None
        answer = self.sims.kommo_sim.get(f"/leads/{lead_id}")
        return answer.json()["fields"].get("Xero invoice status") if answer.is_success else None

    def hand_made_invoice(self, client: str, amount: float, email: str | None = None) -> str:
        body: dict[str, Any] = {
            "contact_name": client,
            "lines": [{"description": "Consulting", "quantity": 1, "unit_amount": amount}],
            "currency": "USD",
            "status": "AUTHORISED",
        }
        if email:
            body["contact_email"] = email
        answer = self.sims.xero_sim.post("/invoices", json=body)
        answer.raise_for_status()
        return str(answer.json()["InvoiceID"])

    def stop(self) -> None:
        self.service.stop()
        self.sims.stop()


def start_stack(*, reconcile_interval_s: int = 0, unlimited_xero: bool = False) -> Stack:
    sims = start_simulators(
        kommo_config=KommoSimConfig(webhook_time_scale=0.001),
        xero_config=XeroSimConfig(
            webhook_time_scale=0.001,
            webhook_batch_window_s=0.05,
            enforce_limits=not unlimited_xero,
        ),
    )
    port = free_port()
    settings = sandbox_settings(
        Path(tempfile.mkdtemp(prefix="kx-bench-")),
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
    )
    update: dict[str, Any] = {
        "service": settings.service.model_copy(
            update={"reconcile_interval_s": reconcile_interval_s}
        )
    }
    if unlimited_xero:
        update["xero"] = settings.xero.model_copy(
            update={"calls_per_minute": 3_000, "calls_per_day": 1_000_000}
        )
    settings = settings.model_copy(update=update)
    service = start_service(settings, port=port)
    for _ in range(30):
        try:
            register_kommo_webhook(sims.kommo.base_url, service.base_url)
            break
        except httpx.HTTPStatusError:
            time.sleep(0.3)
    register_xero_webhook(sims.xero.base_url, service.base_url)
    store = Store(make_engine(settings.service.resolved_database_url()))
    return Stack(sims, service, store, settings.connection_name)


def wait_for(predicate: Callable[[], Any], timeout: float = 600, interval: float = 0.02) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError("benchmark condition not met")
