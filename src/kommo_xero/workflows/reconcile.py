"""Reconciliation: find what lost webhooks would have told us, and run the same flows.

Two sources, each with a durable cursor: Kommo's Events API (deals that moved into the
trigger stage) and Xero's `If-Modified-Since` (sales invoices changed since last time). Each
finding starts the flow a webhook would have started, under the id the webhook would have
used where the facts allow, so a found event that did arrive attaches to the first run; the
flows' own claims make any other repeat a no-op.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from dbos import DBOS

from kommo_xero.domain.invoice_events import as_utc
from kommo_xero.domain.triggers import cause_id
from kommo_xero.workflows import deal_to_invoice, engine, status_sync
from kommo_xero.workflows.outcomes import Stop, guarded, run
from kommo_xero.workflows.runtime import Runtime, all_runtimes, get
from kommo_xero.workflows.xero_tenant import event_time, tenant_id

KOMMO_CURSOR = "kommo_trigger_events"
XERO_CURSOR = "xero_invoices_modified"
FIRST_LOOKBACK = timedelta(days=1)  # how far back the very first run looks
KOMMO_OVERLAP_S = 60  # event times are whole seconds: look a little before the cursor
XERO_OVERLAP = timedelta(seconds=1)  # If-Modified-Since is sent to the second


def _since(rt: Runtime, name: str) -> datetime:
    stored = rt.store.cursor(rt.connection_id, name)
    if stored:
        return as_utc(datetime.fromisoformat(stored))
    return datetime.now(UTC) - FIRST_LOOKBACK


@DBOS.step(name="reconcile.kommo")
@guarded
async def kommo_step(connection_id: str) -> dict[str, Any]:
    rt = get(connection_id)
    since = _since(rt, KOMMO_CURSOR)
    newest: dict[int, Any] = {}
    latest = since
    async for event in rt.kommo.iter_events(
        types=["lead_status_changed"],
        entity="lead",
        created_from=int(since.timestamp()) - KOMMO_OVERLAP_S,
        pipeline_id=rt.pipeline_id,
        status_id=rt.trigger_status_id,
    ):
        latest = max(latest, datetime.fromtimestamp(event.created_at, UTC))
        if event.status_after != (rt.pipeline_id, rt.trigger_status_id):
            continue
        held = newest.get(event.entity_id)
        if held is None or event.created_at > held.created_at:
            newest[event.entity_id] = event
    starts = []
    for lead_id, event in newest.items():
        # A deal with a live link was handled (or is being handled): nothing was lost.
        if rt.store.active_link(connection_id, lead_id) is not None:
            continue
        cause = cause_id(rt.kommo_account_id, lead_id, rt.trigger_status_id, event.created_at)
        starts.append({"lead_id": lead_id, "cause": cause})
    return {"starts": starts, "cursor": latest.isoformat()}


@DBOS.step(name="reconcile.xero")
@guarded
async def xero_step(connection_id: str) -> dict[str, Any]:
    rt = get(connection_id)
    since = _since(rt, XERO_CURSOR)
    tenant = await tenant_id(rt)
    latest = since
    starts = []
    async with rt.xero_gate():
        invoices = [
            invoice
            async for invoice in rt.xero.iter_invoices(
                modified_since=since - XERO_OVERLAP, where='Type=="ACCREC"'
            )
        ]
    for invoice in invoices:
        if not invoice.invoice_id or invoice.updated_date_utc is None:
            continue
        updated = invoice.updated_date_utc
        latest = max(latest, updated)
        link = rt.store.link_by_invoice(connection_id, invoice.invoice_id)
        shown = link["xero_updated_at"] if link is not None and link["kommo_lead_id"] else None
        if shown is not None and as_utc(shown) >= updated:
            continue  # the deal already shows this state
        cause = status_sync.event_cause(tenant, "INVOICE", invoice.invoice_id, event_time(updated))
        starts.append({"invoice_id": invoice.invoice_id, "cause": cause})
    return {"starts": starts, "cursor": latest.isoformat()}


@DBOS.step(name="reconcile.cursors")
async def cursor_step(connection_id: str, values: dict[str, str]) -> None:
    rt = get(connection_id)
    for name, value in values.items():
        rt.store.set_cursor(connection_id, name, value)


async def _reconcile(connection_id: str) -> dict[str, Any]:
    found: dict[str, Any] = {"deals": [], "invoices": [], "problems": []}
    cursors: dict[str, str] = {}
    for name, step, cursor in (
        ("deals", kommo_step, KOMMO_CURSOR),
        ("invoices", xero_step, XERO_CURSOR),
    ):
        try:
            result = await run(step, connection_id)
        except Stop as stop:
            found["problems"].append(f"{name}: {stop.outcome.get('message')}")
            continue
        for item in result["starts"]:
            if name == "deals":
                wid = await deal_to_invoice.start(connection_id, item["lead_id"], item["cause"])
            else:
                wid = await status_sync.start(connection_id, item["invoice_id"], item["cause"])
            found[name].append(wid)
        cursors[cursor] = result["cursor"]
    await cursor_step(connection_id, cursors)
    return found


@DBOS.workflow(name="reconcile")
async def reconcile(connection_id: str) -> dict[str, Any]:
    return await _reconcile(connection_id)


@DBOS.workflow(name="reconcile_scheduled")
async def reconcile_scheduled(scheduled_at: datetime, connection_id: Any) -> None:
    await _reconcile(str(connection_id))


def _cron(interval_s: int) -> str:
    if interval_s < 60:
        return f"*/{interval_s} * * * * *"
    return f"0 */{interval_s // 60} * * * *"


def schedules() -> tuple[list[tuple[str, Any, str, Any]], list[str]]:
    """(schedules to apply, schedule names to remove) for the registered connections."""
    apply, remove = [], []
    for rt in all_runtimes():
        name = f"reconcile:{rt.connection_id}"
        interval = rt.settings.service.reconcile_interval_s
        if interval:
            apply.append((name, reconcile_scheduled, _cron(interval), rt.connection_id))
        else:
            remove.append(name)
    return apply, remove


async def run_now(connection_id: str) -> dict[str, Any]:
    """Reconcile now (the `kommo-xero reconcile` command); returns the started workflow ids."""
    workflow_id = f"reconcile:{connection_id}:{time.time_ns()}"
    await engine.enqueue(
        engine.INVOICES_QUEUE, reconcile, workflow_id, connection_id, connection_id
    )
    return dict(await engine.wait_result(workflow_id))
