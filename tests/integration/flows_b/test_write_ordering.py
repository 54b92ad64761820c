"""Deal writes from different flows for one deal never leave an older invoice state showing."""

from __future__ import annotations

import json
from typing import Any

from kommo_xero.sandbox.stack import run_in_service
from kommo_xero.workflows.deal_to_invoice import write_back_step

from .conftest import Box, wait_until


def _shows(box: Box, lead_id: int, label: str) -> dict[str, Any] | None:
    deal = box.deal(lead_id)
    return deal if deal["fields"].get("Xero invoice status") == label else None


def _created_snapshot(box: Box, lead_id: int) -> dict[str, Any]:
    rows = box.store.history_for(box.settings.connection_name, lead_id)
    detail = next(row["detail"] for row in rows if row["kind"] == "invoice_created")
    return dict(json.loads(detail) if isinstance(detail, str) else detail)


def test_reordered_payments_end_at_the_newest_state_on_the_deal(box: Box) -> None:
    """Payments whose events arrive twice and newest-first, each write landing slowly, leave
    the deal at Paid with the full amount."""
    lead_id = box.new_deal("Ordered writes", 900)
    box.approve_deal(lead_id)
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice number"))
    invoice_id = box.invoices_for(lead_id)[0].invoice_id
    box.sims.kommo_sim.post(
        "/faults", json={"route": "PATCH /api/v4/leads$", "latency_ms": 400}
    ).raise_for_status()
    box.sims.xero_sim.post(
        "/webhook-faults", json={"duplicate_rate": 1.0, "reorder": True}
    ).raise_for_status()
    box.act(invoice_id, "pay", amount=300)
    box.act(invoice_id, "pay")
    deal = wait_until(lambda: _shows(box, lead_id, "Paid"), timeout=30)
    assert float(deal["fields"]["Xero amount paid"]) == 900
    box.sims.xero_sim.post("/webhooks/flush").raise_for_status()
    box.sims.kommo_sim.delete("/faults").raise_for_status()
    assert _shows(box, lead_id, "Paid")


def test_a_late_invoice_write_back_does_not_undo_a_newer_payment(box: Box) -> None:
    """When the deal → invoice flow writes the invoice back late (a retried or recovered step)
    after the payment already shows, the deal still shows Paid, not Awaiting payment."""
    lead_id = box.new_deal("Late write-back", 700)
    box.approve_deal(lead_id)
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice number"))
    invoice_id = box.invoices_for(lead_id)[0].invoice_id
    box.act(invoice_id, "pay")
    wait_until(lambda: _shows(box, lead_id, "Paid"))
    link = box.link_for_invoice(invoice_id)

    snapshot = _created_snapshot(box, lead_id)
    assert snapshot["label"] == "Awaiting payment"
    run_in_service(
        box.service,
        write_back_step(
            box.settings.connection_name, lead_id, int(link["id"]), snapshot, "late-replay"
        ),
    )

    deal = box.deal(lead_id)
    assert deal["fields"]["Xero invoice status"] == "Paid"
    assert float(deal["fields"]["Xero amount due"]) == 0
