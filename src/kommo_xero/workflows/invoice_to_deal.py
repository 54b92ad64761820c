"""Flow C: a sales invoice made by hand in Xero becomes one new deal in Kommo.

Runs inside the invoice workflow (`status_sync.invoice_changed`) once the invoice is known
to be a hand-made sales invoice with no link. Exactly one deal per invoice comes from the
claim (unique invoice id in the link table), then an effect record around the Kommo create
(Kommo has no idempotency key: an interrupted create is looked up, not repeated).
"""

from __future__ import annotations

from typing import Any

from dbos import DBOS

from kommo_xero.domain.invoice_events import deal_name, wants_deal
from kommo_xero.workflows.invoice_links import attach_deal, claim_invoice
from kommo_xero.workflows.invoice_reading import facts_from_json
from kommo_xero.workflows.kommo_deals import DealOrder, create_deal_once
from kommo_xero.workflows.outcomes import Stop, guarded, run
from kommo_xero.workflows.runtime import get

FLOW = "invoice_to_deal"


@DBOS.step(name="manual.claim")
async def claim_step(connection_id: str, facts: dict[str, Any], cause: str) -> int | None:
    rt = get(connection_id)
    return claim_invoice(rt.store, connection_id, facts_from_json(facts), cause)


@DBOS.step(name="manual.create_deal")
@guarded
async def create_step(connection_id: str, link_id: int, facts: dict[str, Any]) -> int:
    rt = get(connection_id)
    order = DealOrder(
        facts=facts_from_json(facts),
        client=facts.get("contact_name") or "Xero client",
        email=facts.get("contact_email") or None,
        xero_contact_id=facts.get("contact_id"),
        effect_key=f"deal-from-invoice:{facts['invoice_id']}",
    )
    return await create_deal_once(rt, order)


@DBOS.step(name="manual.record")
async def record_step(
    connection_id: str, link_id: int, lead_id: int, facts: dict[str, Any]
) -> None:
    rt = get(connection_id)
    invoice = facts_from_json(facts)
    name = deal_name(invoice)
    attach_deal(rt.store, link_id, lead_id, name)
    rt.store.resolve_parked(connection_id, FLOW, invoice.invoice_id)
    rt.store.add_history(
        connection_id,
        "deal_created",
        f"Deal {lead_id} '{name}' created from Xero invoice {invoice.display_number} "
        f"({invoice.total} {invoice.currency}, {invoice.label}).",
        link_id=link_id,
        lead_id=lead_id,
        invoice_id=invoice.invoice_id,
    )


@DBOS.step(name="manual.park")
async def park_step(
    connection_id: str, link_id: int, facts: dict[str, Any], outcome: dict[str, Any]
) -> None:
    rt = get(connection_id)
    rt.store.update_link(link_id, state="parked")
    rt.store.park(
        connection_id,
        FLOW,
        facts["invoice_id"],
        str(outcome.get("kind", "error")),
        f"Could not make a deal for Xero invoice {facts.get('number')}: {outcome.get('message')}",
        "Check `kommo-xero doctor`, then run `kommo-xero reconcile`.",
    )


async def deal_from_invoice(connection_id: str, facts: dict[str, Any], cause: str) -> str:
    """Make the deal for a hand-made invoice (if the setting says it is time)."""
    rt = get(connection_id)
    if not wants_deal(facts_from_json(facts), rt.settings.mapping.create_deals_on):
        return "not-yet"
    link_id = await claim_step(connection_id, facts, cause)
    if link_id is None:
        return "already-claimed"
    try:
        lead_id = await run(create_step, connection_id, link_id, facts)
    except Stop as stop:
        await park_step(connection_id, link_id, facts, stop.outcome)
        return "parked"
    await record_step(connection_id, link_id, int(lead_id), facts)
    return "deal-created"
