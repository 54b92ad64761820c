"""Flow B: a Xero invoice changed; its deal shows the new status, amounts and a short note.

One workflow per Xero INVOICE event (or per invoice found by reconciliation) re-reads the
invoice and decides, through a dispatch table, what the change means: a linked invoice
updates its deal (this module), a hand-made one may become a deal (`invoice_to_deal`), the
integration's own new invoice and bills are ignored.

Status moves forward only: the link holds Xero's `UpdatedDateUTC` of the state the deal
shows, and a state is claimed with a compare-and-set on it, so stale, repeated or
reordered events change nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from dbos import DBOS

from kommo_xero.domain.invoice_events import (
    change_note,
    closes_link,
    should_apply,
    stage_move,
)
from kommo_xero.kommo._payloads import LeadPatch
from kommo_xero.workflows import engine
from kommo_xero.workflows.invoice_links import (
    claim_state,
    held_updated_at,
    previous_facts,
)
from kommo_xero.workflows.invoice_reading import (
    facts_from_json,
    facts_of,
    facts_to_json,
    made_by_us,
    read_invoice,
)
from kommo_xero.workflows.kommo_writes import (
    add_note_once,
    invoice_fields,
    lead_write_lock,
    write_lead,
)
from kommo_xero.workflows.outcomes import Stop, guarded, run
from kommo_xero.workflows.runtime import Runtime, get

LINK_WAIT_S = 1.0
LINK_WAIT_TRIES = 30


def _link_json(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    return {
        "id": int(row["id"]),
        "lead_id": int(row["kommo_lead_id"]),
        "state": row["state"],
        "origin": row["origin"],
    }


@DBOS.step(name="invoice.read")
@guarded
async def read_step(connection_id: str, invoice_id: str) -> dict[str, Any]:
    rt = get(connection_id)
    invoice = await read_invoice(rt, invoice_id)
    if invoice is None:
        return {"kind": "gone"}
    facts = facts_of(invoice)
    link = _link_json(rt.store.link_by_invoice(connection_id, facts.invoice_id))
    seen = {"facts": facts_to_json(facts, invoice), "link": link}
    if facts.type != "ACCREC":
        return {**seen, "kind": "bill"}
    if link is not None and link["lead_id"]:
        return {**seen, "kind": "linked"}
    if link is not None:
        return {**seen, "kind": "manual" if link["state"] == "parked" else "pending_link"}
    if await made_by_us(rt, facts.invoice_id):
        # Our own new invoice, seen before flow A recorded it: flow A will write the deal.
        return {**seen, "kind": "ours"}
    return {**seen, "kind": "manual"}


@DBOS.step(name="invoice.link")
async def link_step(connection_id: str, invoice_id: str) -> dict[str, Any] | None:
    return _link_json(get(connection_id).store.link_by_invoice(connection_id, invoice_id))


@DBOS.step(name="status.claim")
async def claim_step(
    connection_id: str, link_id: int, facts: dict[str, Any], key: str
) -> dict[str, Any] | None:
    return claim_state(get(connection_id).store, link_id, facts_from_json(facts), key)


def _patch(rt: Runtime, lead_id: int, facts: dict[str, Any]) -> LeadPatch:
    fields = invoice_fields(rt, {**facts, "label": facts_from_json(facts).label}, None)
    move = stage_move(facts["status"])
    target = getattr(rt.stages, move) if (move and rt.stages) else None
    if target is None:
        return LeadPatch(id=lead_id, fields=fields)
    return LeadPatch(id=lead_id, fields=fields, pipeline_id=target[0], status_id=target[1])


@DBOS.step(name="status.write")
@guarded
async def write_step(
    connection_id: str,
    link_id: int,
    lead_id: int,
    facts: dict[str, Any],
    previous: dict[str, Any],
    key: str,
) -> str:
    rt = get(connection_id)
    now = facts_from_json(facts)
    async with lead_write_lock(rt, lead_id):
        held = held_updated_at(rt.store, link_id)
        # A newer state claimed meanwhile writes the fields itself; this one keeps its note.
        if held is None or not should_apply(now.updated_at, held):
            await write_lead(rt, _patch(rt, lead_id, facts))
        note = change_note(previous_facts(previous, now), now)
        if note:
            await add_note_once(rt, f"{key}:note", lead_id, note)
    if closes_link(now.status):
        rt.store.close_link(link_id, now.status)
    rt.store.mark_effect(connection_id, key, "done")
    rt.store.add_history(
        connection_id,
        "status_synced",
        f"Deal {lead_id} shows invoice {now.display_number} as {now.label}"
        f" ({now.amount_paid} paid, {now.amount_due} due).",
        link_id=link_id,
        lead_id=lead_id,
        invoice_id=now.invoice_id,
    )
    return now.label


async def sync_linked(connection_id: str, seen: dict[str, Any], cause: str) -> str:
    """Flow B proper: claim the newer state, then write it to the deal."""
    facts, link = seen["facts"], seen["link"]
    key = f"status:{facts['invoice_id']}:{facts['updated_at']}"
    previous = await claim_step(connection_id, link["id"], facts, key)
    if previous is None:
        return "up-to-date"
    try:
        return str(
            await run(write_step, connection_id, link["id"], link["lead_id"], facts, previous, key)
        )
    except Stop as stop:
        rt = get(connection_id)
        rt.store.park(
            connection_id,
            "status_sync",
            facts["invoice_id"],
            str(stop.outcome.get("kind", "error")),
            f"Could not show invoice {facts.get('number')} on deal {link['lead_id']}: "
            f"{stop.outcome.get('message')}",
            "Check `kommo-xero doctor`, then run `kommo-xero reconcile`.",
        )
        return "parked"


async def _await_link(connection_id: str, seen: dict[str, Any], cause: str) -> str:
    """Flow C is still making this invoice's deal: wait for it, then sync the status."""
    for _ in range(LINK_WAIT_TRIES):
        await engine.durable_sleep(LINK_WAIT_S)
        link = await link_step(connection_id, seen["facts"]["invoice_id"])
        if link is not None and link["lead_id"]:
            return await sync_linked(connection_id, {**seen, "link": link}, cause)
    return "link-pending"


async def _make_deal(connection_id: str, seen: dict[str, Any], cause: str) -> str:
    from kommo_xero.workflows.invoice_to_deal import deal_from_invoice

    return await deal_from_invoice(connection_id, seen["facts"], cause)


async def _ignore(connection_id: str, seen: dict[str, Any], cause: str) -> str:
    return str(seen["kind"])


ROUTES: dict[str, Callable[[str, dict[str, Any], str], Awaitable[str]]] = {
    "linked": sync_linked,
    "pending_link": _await_link,
    "manual": _make_deal,
    "ours": _ignore,
    "bill": _ignore,
    "gone": _ignore,
}


@DBOS.workflow(name="invoice_changed")
async def invoice_changed(connection_id: str, invoice_id: str, cause: str) -> str:
    try:
        seen = await run(read_step, connection_id, invoice_id)
    except Stop as stop:
        get(connection_id).store.park(
            connection_id,
            "status_sync",
            invoice_id,
            str(stop.outcome.get("kind", "error")),
            f"Could not read invoice {invoice_id} from Xero: {stop.outcome.get('message')}",
            "Check `kommo-xero doctor`, then run `kommo-xero reconcile`.",
        )
        return "parked"
    return await ROUTES[seen["kind"]](connection_id, seen, cause)


FLOW = "invoice_changed"


def event_cause(tenant_id: str, category: str, resource_id: str, event_date: str) -> str:
    """The deterministic workflow id of one Xero event: repeats attach to the first run."""
    return f"xero:{tenant_id}:{category}:{resource_id.lower()}:{event_date}"


async def start(connection_id: str, invoice_id: str, cause: str) -> str:
    """Start (or attach to) the invoice flow for this cause. Returns the workflow id."""
    return await engine.enqueue(
        engine.INVOICES_QUEUE,
        invoice_changed,
        cause,
        connection_id,
        connection_id,
        invoice_id,
        cause,
    )
