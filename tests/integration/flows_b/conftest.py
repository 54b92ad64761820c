"""A running sandbox with both webhooks subscribed, for flows B and C and reconciliation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from kommo_xero.config import Settings
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

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


def _retry_429(call: Callable[[], Any]) -> Any:
    for _ in range(30):
        try:
            return call()
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 429:
                raise
            time.sleep(0.3)
    raise AssertionError("the simulator kept answering 429")


@dataclass
class Box:
    """Acting as a salesperson in Kommo and an accountant in Xero; looking at both."""

    sims: Simulators
    settings: Settings
    service: ServerHandle
    store: Store = field(init=False)

    def __post_init__(self) -> None:
        self.store = Store(make_engine(self.settings.service.resolved_database_url()))

    # -- Kommo --------------------------------------------------------------------------

    def new_deal(self, name: str = "Website redesign", price: float = 1200) -> int:
        contact = self.sims.kommo_sim.post(
            "/contacts", json={"name": f"{name} client", "email": f"{price}@deal.example"}
        )
        contact.raise_for_status()
        lead = self.sims.kommo_sim.post(
            "/leads",
            json={
                "name": name,
                "price": price,
                "currency": "USD",
                "description": name,
                "status_name": "New deal",
                "contact_id": contact.json()["id"],
            },
        )
        lead.raise_for_status()
        return int(lead.json()["id"])

    def approve_deal(self, lead_id: int) -> None:
        self.sims.kommo_sim.post(
            f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"}
        ).raise_for_status()

    def deal(self, lead_id: int) -> dict[str, Any]:
        answer = self.sims.kommo_sim.get(f"/leads/{lead_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def notes(self, lead_id: int) -> list[str]:
        return [(n.get("params") or {}).get("text", "") for n in self.deal(lead_id)["notes"]]

    def leads_named(self, prefix: str) -> list[dict[str, Any]]:
        state = self.sims.kommo.app.state.sim
        return [
            {"id": lead.id, "name": lead.name, "status_id": lead.status_id}
            for lead in list(state.leads.values())
            if lead.name.startswith(prefix) and not getattr(lead, "is_deleted", False)
        ]

    # -- Xero -----------------------------------------------------------------------------

    def hand_made_invoice(
        self,
        client: str = "Jane Doe",
        amount: float = 1200,
        *,
        status: str = "AUTHORISED",
        email: str | None = "jane@example.com",
        currency: str = "USD",
    ) -> dict[str, Any]:
        answer = self.sims.xero_sim.post(
            "/invoices",
            json={
                "contact_name": client,
                "lines": [{"description": "Consulting", "quantity": 1, "unit_amount": amount}],
                "currency": currency,
                "status": status,
            }
            | ({"contact_email": email} if email else {}),
        )
        answer.raise_for_status()
        return dict(answer.json())

    def act(self, invoice_id: str, action: str, **body: Any) -> dict[str, Any]:
        answer = self.sims.xero_sim.post(f"/invoices/{invoice_id}/{action}", json=body or None)
        answer.raise_for_status()
        return dict(answer.json())

    def invoices_for(self, lead_id: int) -> list[Any]:
        org = self.sims.xero.app.state.sim.orgs[TENANT]
        reference = f"Kommo deal {lead_id}"
        return [inv for inv in list(org.invoices.values()) if inv.reference == reference]

    def drop_webhooks(self, rate: float = 1.0) -> None:
        self.sims.xero_sim.post("/webhook-faults", json={"drop_rate": rate}).raise_for_status()
        self.sims.kommo_sim.post("/webhook-faults", json={"drop_rate": rate}).raise_for_status()

    # -- the service's own records ---------------------------------------------------------

    def link_for_invoice(self, invoice_id: str) -> Any:
        return self.store.link_by_invoice(self.settings.connection_name, invoice_id)

    def lead_for_invoice(self, invoice_id: str) -> int | None:
        link = self.link_for_invoice(invoice_id)
        return int(link["kommo_lead_id"]) if link is not None and link["kommo_lead_id"] else None


def make_box(
    tmp_path: Path,
    sims: Simulators,
    *,
    mapping: dict[str, Any] | None = None,
    reconcile_interval_s: int = 0,
) -> Box:
    port = free_port()
    settings = sandbox_settings(
        tmp_path,
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
        mapping=mapping,
    )
    settings = settings.model_copy(
        update={
            "service": settings.service.model_copy(
                update={"reconcile_interval_s": reconcile_interval_s}
            )
        }
    )
    service = start_service(settings, port=port)
    _retry_429(lambda: register_kommo_webhook(sims.kommo.base_url, service.base_url))
    itr = register_xero_webhook(sims.xero.base_url, service.base_url)
    assert itr["status"] == "OK", itr
    return Box(sims, settings, service)


@pytest.fixture
def sims() -> Iterator[Simulators]:
    started = start_simulators(
        kommo_config=KommoSimConfig(webhook_time_scale=0.001),
        xero_config=XeroSimConfig(webhook_time_scale=0.001, webhook_batch_window_s=0.05),
    )
    yield started
    started.stop()


@pytest.fixture
def box(tmp_path: Path, sims: Simulators) -> Iterator[Box]:
    running = make_box(tmp_path, sims)
    yield running
    running.service.stop()
