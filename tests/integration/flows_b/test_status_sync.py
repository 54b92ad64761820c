"""Flows B and C against both simulators: payments, void, draft delete, loops, reordering."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from kommo_xero.sandbox.stack import Simulators
from kommo_xero.workflows import engine

from .conftest import TENANT, Box, make_box, wait_until

PAID_STAGE = 63459815
VOIDED_STAGE = 63459819


def shows(box: Box, lead_id: int, label: str) -> dict[str, Any] | None:
    deal = box.deal(lead_id)
    return deal if deal["fields"].get("Xero invoice status") == label else None


def invoiced_deal(box: Box, price: float = 1200) -> tuple[int, str]:
    lead_id = box.new_deal(price=price)
    box.approve_deal(lead_id)
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice number"))
    return lead_id, box.invoices_for(lead_id)[0].invoice_id


def test_part_then_full_payment_show_on_the_deal_with_notes_and_paid_stage(box: Box) -> None:
    """Part payment → "Part paid" + amounts + note; full payment → "Paid", note, Paid stage."""
    lead_id, invoice_id = invoiced_deal(box)
    box.act(invoice_id, "pay", amount=500)
    deal = wait_until(lambda: shows(box, lead_id, "Part paid"))
    assert float(deal["fields"]["Xero amount paid"]) == 500
    assert float(deal["fields"]["Xero amount due"]) == 700
    wait_until(
        lambda: any(
            "Part payment 500.00 USD, 700.00 USD still due" in n for n in box.notes(lead_id)
        )
    )
    box.act(invoice_id, "pay")
    deal = wait_until(lambda: shows(box, lead_id, "Paid"))
    assert deal["lead"]["status_id"] == PAID_STAGE
    assert float(deal["fields"]["Xero amount due"]) == 0
    wait_until(lambda: any(n.startswith("Paid in full on") for n in box.notes(lead_id)))


def test_void_shows_voided_moves_stage_and_frees_the_deal(box: Box) -> None:
    """A voided invoice shows "Voided", moves the deal to the voided stage, closes the link."""
    lead_id, invoice_id = invoiced_deal(box)
    box.act(invoice_id, "void")
    deal = wait_until(lambda: shows(box, lead_id, "Voided"))
    assert deal["lead"]["status_id"] == VOIDED_STAGE
    wait_until(lambda: any("voided" in n for n in box.notes(lead_id)))
    wait_until(lambda: box.link_for_invoice(invoice_id)["state"] == "closed")
    assert box.store.active_link(box.settings.connection_name, lead_id) is None


def test_deleting_a_draft_shows_deleted(tmp_path: Path, sims: Simulators) -> None:
    """With draft invoices configured, deleting the draft in Xero shows "Deleted" on the deal."""
    box = make_box(tmp_path, sims, mapping={"invoice_status": "DRAFT"})
    try:
        lead_id, invoice_id = invoiced_deal(box)
        assert shows(box, lead_id, "Draft")
        box.act(invoice_id, "delete")
        wait_until(lambda: shows(box, lead_id, "Deleted"))
        wait_until(lambda: any("deleted" in n for n in box.notes(lead_id)))
    finally:
        box.service.stop()


def test_own_invoice_and_own_lead_updates_start_no_new_work(box: Box) -> None:
    """Our invoice's CREATE event makes no deal and no note; our lead edits make no invoice."""
    lead_id, invoice_id = invoiced_deal(box)
    deliveries = box.sims.xero_sim.get("/webhook-deliveries").json()["deliveries"]
    wait_until(
        lambda: any(
            e["resourceId"] == invoice_id and e["eventType"] == "CREATE"
            for d in box.sims.xero_sim.get("/webhook-deliveries").json()["deliveries"]
            if d["ok"]
            for e in d["events"]
        )
    )
    create = next(
        (e for d in deliveries for e in d["events"] if e["resourceId"] == invoice_id), None
    )
    if create is not None:
        workflow_id = f"xero:{TENANT}:INVOICE:{invoice_id}:{create['eventDateUtc']}"
        try:
            outcome = asyncio.run(engine.wait_result(workflow_id))
        except Exception as exc:  # never started: the receiver saw the deal already shows it
            assert type(exc).__name__ == "DBOSNonExistentWorkflowError"
        else:
            assert outcome in ("ours", "up-to-date")
    box.act(invoice_id, "pay")
    wait_until(lambda: shows(box, lead_id, "Paid"))
    wait_until(lambda: len(box.notes(lead_id)) == 2)
    # Our field writes and the stage move came back as Kommo webhooks: nothing new happened.
    assert len(box.invoices_for(lead_id)) == 1
    assert not box.leads_named("INV-")
    notes = box.notes(lead_id)
    assert len(notes) == 2 and not any("no second invoice" in n for n in notes)


def test_reordered_and_duplicated_events_end_at_the_newest_state(box: Box) -> None:
    """Events delivered twice and newest-first still leave the deal at the latest state."""
    lead_id, invoice_id = invoiced_deal(box)
    box.sims.xero_sim.post(
        "/webhook-faults", json={"duplicate_rate": 1.0, "reorder": True}
    ).raise_for_status()
    box.act(invoice_id, "pay", amount=200)
    box.act(invoice_id, "pay", amount=300)
    box.act(invoice_id, "pay")
    deal = wait_until(lambda: shows(box, lead_id, "Paid"))
    assert float(deal["fields"]["Xero amount paid"]) == 1200
    wait_until(lambda: any(n.startswith("Paid in full") for n in box.notes(lead_id)))
    # Older events re-read the invoice and find nothing newer: the deal stays Paid.
    box.sims.xero_sim.post("/webhooks/flush").raise_for_status()
    assert shows(box, lead_id, "Paid")
    notes = box.notes(lead_id)
    assert sum(n.startswith("Paid in full") for n in notes) == 1


def test_hand_made_invoice_becomes_one_deal_once_approved(box: Box) -> None:
    """A draft makes no deal; approving it makes one, linked to the contact found by email."""
    contact = box.sims.kommo_sim.post(
        "/contacts", json={"name": "Jane Doe (Kommo)", "email": "jane@example.com"}
    )
    contact.raise_for_status()
    invoice = box.hand_made_invoice(status="DRAFT")
    invoice_id = invoice["InvoiceID"]
    wait_until(
        lambda: any(
            e["resourceId"] == invoice_id
            for d in box.sims.xero_sim.get("/webhook-deliveries").json()["deliveries"]
            if d["ok"]
            for e in d["events"]
        )
    )
    assert box.lead_for_invoice(invoice_id) is None
    box.act(invoice_id, "approve")
    lead_id = wait_until(lambda: box.lead_for_invoice(invoice_id))
    deal = box.deal(lead_id)
    assert deal["lead"]["name"] == f"{invoice['InvoiceNumber']} Jane Doe"
    assert deal["lead"]["price"] == 1200
    assert deal["fields"]["Xero invoice number"] == invoice["InvoiceNumber"]
    assert deal["fields"]["Xero invoice status"] == "Awaiting payment"
    assert deal["fields"]["Currency"] == "USD"
    contacts = deal["lead"]["_embedded"]["contacts"]
    assert [c["id"] for c in contacts] == [contact.json()["id"]]
    box.act(invoice_id, "pay")
    wait_until(lambda: shows(box, lead_id, "Paid"))
    assert len(box.leads_named(invoice["InvoiceNumber"])) == 1
