"""Kommo did the write but its answer was lost: the retry finds the work, nothing is doubled."""

from __future__ import annotations

from collections import Counter

from .conftest import Box, wait_until


def lose_next_answer(box: Box, route: str) -> None:
    """The next matching call is carried out by Kommo, then answered with a 500."""
    rule = {"route": route, "error_rate": 1, "status": 500, "times": 1, "after_processing": True}
    box.sims.kommo_sim.post("/faults", json=rule).raise_for_status()


def injected(box: Box) -> int:
    return sum(r["injected"] for r in box.sims.kommo_sim.get("/calls").json()["faults"])


def test_a_note_whose_answer_was_lost_is_on_the_deal_once(box: Box) -> None:
    """A payment note Kommo saved but answered 500 for is not written a second time."""
    lead_id = box.new_deal(price=900)
    box.approve_deal(lead_id)
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice number"))
    invoice_id = box.invoices_for(lead_id)[0].invoice_id
    wait_until(lambda: any(" created: " in n for n in box.notes(lead_id)))
    before = len(box.notes(lead_id))
    lose_next_answer(box, "^POST /api/v4/leads/notes$")
    box.act(invoice_id, "pay", amount=400)
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice status") == "Part paid")
    wait_until(lambda: any("Part payment 400.00" in n for n in box.notes(lead_id)))
    box.act(invoice_id, "pay")
    wait_until(lambda: any(n.startswith("Paid in full") for n in box.notes(lead_id)))
    assert injected(box) == 1
    notes = box.notes(lead_id)
    assert len(notes) == before + 2
    assert max(Counter(notes).values()) == 1


def test_a_deal_whose_create_answer_was_lost_is_made_once(box: Box) -> None:
    """A hand-made invoice's deal that Kommo made but answered 500 for is not made again."""
    lose_next_answer(box, "^POST /api/v4/leads(/complex)?$")
    invoice = box.hand_made_invoice(client="Lost Answer Ltd", email=None)
    lead_id = wait_until(lambda: box.lead_for_invoice(invoice["InvoiceID"]), timeout=60)
    assert injected(box) == 1
    made = box.leads_named(invoice["InvoiceNumber"])
    assert [lead["id"] for lead in made] == [lead_id]
