"""Reconciliation: with every webhook lost, one run makes deals and invoices converge."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kommo_xero.sandbox.stack import Simulators
from kommo_xero.workflows import engine, reconcile

from .conftest import Box, make_box, wait_until


def reconcile_once(box: Box) -> dict[str, Any]:
    """Run one reconciliation in the service's engine and wait for every flow it started."""

    async def run() -> dict[str, Any]:
        found = await reconcile.run_now(box.settings.connection_name)
        for workflow_id in [*found["deals"], *found["invoices"]]:
            await engine.wait_result(workflow_id)
        return found

    return asyncio.run(run())


def test_lost_webhooks_converge_after_one_reconciliation(box: Box) -> None:
    """Deals approved and invoices made by hand while both simulators dropped every webhook
    end with exactly one invoice per approved deal and one deal per hand-made invoice."""
    box.drop_webhooks(1.0)
    deals = [box.new_deal(f"Lost deal {n}", price=100 * (n + 1)) for n in range(3)]
    for lead_id in deals:
        box.approve_deal(lead_id)
    hand_made = [
        box.hand_made_invoice(f"Walk-in client {n}", 250 + n, email=None)["InvoiceID"]
        for n in range(2)
    ]
    draft = box.hand_made_invoice("Draft client", 99, status="DRAFT", email=None)["InvoiceID"]

    found = reconcile_once(box)
    assert len(found["deals"]) == 3 and not found["problems"]
    for lead_id in deals:
        assert len(box.invoices_for(lead_id)) == 1
        wait_until(lambda lead_id=lead_id: box.deal(lead_id)["fields"].get("Xero invoice number"))
    for invoice_id in hand_made:
        lead_id = box.lead_for_invoice(invoice_id)
        assert lead_id is not None
    assert box.lead_for_invoice(draft) is None

    # A payment whose webhook is lost too shows up after the next run; reruns change nothing.
    box.act(box.invoices_for(deals[0])[0].invoice_id, "pay")
    second = reconcile_once(box)
    assert second["deals"] == []
    wait_until(lambda: box.deal(deals[0])["fields"].get("Xero invoice status") == "Paid")
    reconcile_once(box)
    for lead_id in deals:
        assert len(box.invoices_for(lead_id)) == 1
    for invoice_id in hand_made:
        number = next(
            inv.number
            for inv in box.sims.xero.app.state.sim.first_org.invoices.values()
            if inv.invoice_id == invoice_id
        )
        assert len(box.leads_named(number)) == 1


def test_scheduled_reconciliation_finds_a_lost_invoice(tmp_path: Path, sims: Simulators) -> None:
    """With a 2 s schedule and Xero webhooks dropped, a hand-made invoice still becomes a deal."""
    box = make_box(tmp_path, sims, reconcile_interval_s=2)
    try:
        box.drop_webhooks(1.0)
        invoice_id = box.hand_made_invoice("Polled client", 480, email=None)["InvoiceID"]
        lead_id = wait_until(lambda: box.lead_for_invoice(invoice_id), timeout=15)
        box.act(invoice_id, "pay")
        wait_until(
            lambda: box.deal(lead_id)["fields"].get("Xero invoice status") == "Paid", timeout=15
        )
    finally:
        box.service.stop()
