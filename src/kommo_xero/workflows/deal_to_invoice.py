"""Flow A: a deal entering the trigger stage becomes one Xero invoice attached to the deal.

The workflow is durable: every step's result is recorded by the engine, so a process killed
at any line resumes where it stopped. Exactly one invoice per deal comes from three locks
in a row: the deterministic workflow id (a repeated webhook attaches to the first run), the
claim in our database (one active link per deal), and the stored invoice batch with its
Idempotency-Key (a crashed Xero call is replayed, not repeated).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dbos import DBOS

from kommo_xero.domain.invoice_events import should_apply
from kommo_xero.domain.mapping import plan_invoice
from kommo_xero.domain.refusals import explain_refusal
from kommo_xero.domain.status import CLOSED_STATUSES
from kommo_xero.observability import observe_trigger_to_result, record_flow
from kommo_xero.workflows import documents, engine
from kommo_xero.workflows.codec import (
    party_from_json,
    party_to_json,
    plan_from_json,
    plan_to_json,
    problem_to_json,
)
from kommo_xero.workflows.deal_reading import read_deal
from kommo_xero.workflows.invoice_links import held_updated_at
from kommo_xero.workflows.kommo_writes import (
    add_note_once,
    invoice_fields,
    lead_write_lock,
    write_fields,
)
from kommo_xero.workflows.outcomes import Outcome, Stop, guarded, run
from kommo_xero.workflows.runtime import get
from kommo_xero.workflows.xero_contacts import resolve_contact
from kommo_xero.workflows.xero_invoices import InvoiceOrder, create_invoice

FLOW = "deal_to_invoice"
ORG_FACT_PROBLEMS = frozenset({"currency_not_enabled", "unknown_account_code", "unknown_tax_type"})


# -- steps ------------------------------------------------------------------------------


@DBOS.step(name="deal.claim")
async def claim_step(connection_id: str, lead_id: int, cause: str) -> dict[str, Any]:
    rt = get(connection_id)
    claim = rt.store.claim_deal(connection_id, lead_id, cause, "")
    if claim.mine:
        rt.store.add_history(
            connection_id,
            "trigger",
            f"Deal {lead_id} entered the trigger stage ({cause}).",
            link_id=claim.link_id,
            lead_id=lead_id,
        )
    return {
        "link_id": claim.link_id,
        "mine": claim.mine,
        "state": claim.state,
        "status": claim.status,
        "number": claim.invoice_number,
    }


@DBOS.step(name="deal.plan")
@guarded
async def plan_step(connection_id: str, lead_id: int, link_id: int) -> dict[str, Any]:
    rt = get(connection_id)
    deal = await read_deal(rt, lead_id)
    if deal is None:
        return {"gone": True}
    rt.store.update_link(link_id, deal_name=deal.name)
    org = await rt.organisation()
    result = plan_invoice(deal, org, rt.rules, datetime.now(UTC).date())
    if isinstance(result, list) and any(p.code in ORG_FACT_PROBLEMS for p in result):
        # The cached organisation facts may predate the fix (a currency just enabled).
        rt.org.invalidate()
        org = await rt.organisation()
        result = plan_invoice(deal, org, rt.rules, datetime.now(UTC).date())
    if isinstance(result, list):
        return {"problems": [problem_to_json(p) for p in result]}
    return {"plan": plan_to_json(result)}


@DBOS.step(name="deal.contact")
@guarded
async def contact_step(connection_id: str, party: dict[str, Any]) -> str:
    return await resolve_contact(get(connection_id), party_from_json(party))


@DBOS.step(name="deal.invoice")
@guarded
async def invoice_step(
    connection_id: str, link_id: int, plan: dict[str, Any], contact_id: str
) -> dict[str, Any]:
    rt = get(connection_id)
    order = InvoiceOrder(link_id, plan_from_json(plan), contact_id)
    invoice = await create_invoice(rt, order)
    rt.store.add_history(
        connection_id,
        "invoice_created",
        f"Invoice {invoice['number']} created in Xero ({invoice['label']}, "
        f"{invoice['total']} {invoice['currency']}).",
        link_id=link_id,
        lead_id=plan["lead_id"],
        invoice_id=invoice["invoice_id"],
        detail=invoice,
    )
    return invoice


def _created_note(invoice: dict[str, Any]) -> str:
    due = f", due {invoice['due_date']}" if invoice.get("due_date") else ""
    return (
        f"Xero invoice {invoice['number']} created: {invoice['total']} {invoice['currency']}, "
        f"{invoice['label']}{due}. The PDF is in the deal's files and the online link in "
        "the field 'Xero invoice link'."
    )


@DBOS.step(name="deal.write_back")
@guarded
async def write_back_step(
    connection_id: str, lead_id: int, link_id: int, invoice: dict[str, Any], cause: str
) -> None:
    rt = get(connection_id)
    async with lead_write_lock(rt, lead_id):
        # A late run of this step (retried, or recovered after a crash) must not put back the
        # state at creation when flow B has already shown a newer one (a payment, a void).
        held = held_updated_at(rt.store, link_id)
        created = (
            datetime.fromisoformat(invoice["updated_at"]) if invoice.get("updated_at") else None
        )
        if held is None or created is None or not should_apply(created, held):
            await write_fields(rt, lead_id, invoice_fields(rt, invoice, None))
    await add_note_once(rt, f"{cause}:note:created", lead_id, _created_note(invoice))
    rt.store.resolve_parked(connection_id, FLOW, str(lead_id))
    link = rt.store.link(link_id)
    if link is not None:
        created = link["created_at"]
        created = created if created.tzinfo else created.replace(tzinfo=UTC)
        observe_trigger_to_result(FLOW, (datetime.now(UTC) - created).total_seconds())
    rt.store.add_history(
        connection_id,
        "deal_updated",
        f"Deal {lead_id} shows invoice {invoice['number']} ({invoice['label']}).",
        link_id=link_id,
        lead_id=lead_id,
        invoice_id=invoice["invoice_id"],
    )


@DBOS.step(name="deal.already_invoiced")
@guarded
async def already_invoiced_step(
    connection_id: str, lead_id: int, number: str | None, status: str | None, cause: str
) -> None:
    rt = get(connection_id)
    text = (
        f"This deal already has Xero invoice {number or '(being created)'}"
        f"{f' ({status})' if status else ''}; no second invoice was made."
    )
    await add_note_once(rt, f"{cause}:note:already", lead_id, text)
    rt.store.add_history(connection_id, "duplicate_trigger", text, lead_id=lead_id)


@DBOS.step(name="deal.park")
async def park_step(
    connection_id: str, lead_id: int, link_id: int, cause: str, problems: list[dict[str, str]]
) -> None:
    rt = get(connection_id)
    first = problems[0]
    message = " ".join(p["message"] for p in problems)
    fix = " ".join(p["fix"] for p in problems)
    rt.store.park(connection_id, FLOW, str(lead_id), first["code"], message, fix)
    rt.store.update_link(link_id, state="parked")
    rt.store.add_history(
        connection_id,
        "parked",
        f"{message} To fix: {fix}",
        link_id=link_id,
        lead_id=lead_id,
        detail=problems,
    )
    note = "Could not create the Xero invoice. " + " ".join(
        f"{p['message']} To fix: {p['fix']}" for p in problems
    )
    try:
        await add_note_once(rt, f"{cause}:note:parked", lead_id, note)
    except Exception as exc:
        rt.store.add_history(
            connection_id,
            "note_failed",
            f"Could not write the note on the deal: {exc}",
            lead_id=lead_id,
        )


# -- the workflow -----------------------------------------------------------------------


def problems_for(outcome: Outcome) -> list[dict[str, str]]:
    """Turn a failure record into the problem(s) shown on the deal and the dashboard."""
    kind = outcome.get("kind")
    if kind == "refused":
        return [problem_to_json(explain_refusal(list(outcome.get("errors") or [])))]
    if kind == "auth":
        service = str(outcome.get("service", "")).title() or "The service"
        return [
            {
                "code": "connection_revoked",
                "message": f"{service} refused our access: {outcome['message']}",
                "fix": f"Reconnect with `kommo-xero connect {service.lower()}`, then retry.",
            }
        ]
    return [
        {
            "code": str(kind or "error"),
            "message": f"The call failed: {outcome.get('message')}",
            "fix": "Check `kommo-xero doctor`, then run `kommo-xero retry`.",
        }
    ]


@DBOS.workflow(name="deal_to_invoice")
async def deal_to_invoice(connection_id: str, lead_id: int, cause: str) -> str:
    outcome = await _deal_to_invoice(connection_id, lead_id, cause)
    record_flow(FLOW, outcome)
    return outcome


async def _deal_to_invoice(connection_id: str, lead_id: int, cause: str) -> str:
    claim = await claim_step(connection_id, lead_id, cause)
    link_id = int(claim["link_id"])
    if not claim["mine"]:
        if claim["state"] == "invoiced" and claim["status"] not in CLOSED_STATUSES:
            await run(
                already_invoiced_step,
                connection_id,
                lead_id,
                claim["number"],
                claim["status"],
                cause,
            )
            return "already-invoiced"
        return "in-flight"
    try:
        planned = await run(plan_step, connection_id, lead_id, link_id)
        if planned.get("gone"):
            await park_step(
                connection_id,
                lead_id,
                link_id,
                cause,
                [
                    {
                        "code": "deal_gone",
                        "message": f"Deal {lead_id} no longer exists in Kommo.",
                        "fix": "Nothing to do unless the deal was deleted by mistake.",
                    }
                ],
            )
            return "parked"
        if "problems" in planned:
            await park_step(connection_id, lead_id, link_id, cause, planned["problems"])
            return "parked"
        plan = planned["plan"]
        contact_id = await run(contact_step, connection_id, plan["bill_to"])
        invoice = await run(invoice_step, connection_id, link_id, plan, contact_id)
        await run(write_back_step, connection_id, lead_id, link_id, invoice, cause)
    except Stop as stop:
        await park_step(connection_id, lead_id, link_id, cause, problems_for(stop.outcome))
        return "parked"
    await documents.start(connection_id, lead_id, link_id, invoice["invoice_id"], cause)
    return "invoiced"


async def start(connection_id: str, lead_id: int, cause: str) -> str:
    """Start (or attach to) the flow for this cause. Returns the workflow id."""
    return await engine.enqueue(
        engine.DEALS_QUEUE, deal_to_invoice, cause, connection_id, connection_id, lead_id, cause
    )


__all__ = ["deal_to_invoice", "party_to_json", "start"]
