"""After the invoice exists: its online link and its PDF, attached to the deal.

A separate workflow on a small queue, because each costs a Xero call per invoice: during a
burst the deals show their invoice numbers first, and documents follow at Xero's pace. They
also step aside while deals of the connection still wait for their invoice (in any process),
so the organisation's 60 calls a minute go to invoices first.
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

from dbos import DBOS

from kommo_xero.kommo._payloads import FieldValue
from kommo_xero.observability import record_flow
from kommo_xero.store.invoice_orders import deals_awaiting_invoice
from kommo_xero.store.repository import now
from kommo_xero.workflows import engine
from kommo_xero.workflows.kommo_writes import attach_file_once, write_fields
from kommo_xero.workflows.outcomes import Stop, guarded, run
from kommo_xero.workflows.runtime import get

DOCUMENTS_FLOW = "documents"
YIELD_POLL_S = 1.0
AWAITING_RECENT = timedelta(minutes=15)  # older claimed deals are stuck, not in a burst


@DBOS.step(name="documents.wait_turn")
async def wait_turn_step(connection_id: str) -> float:
    """Wait while deals of this connection still wait for their invoice; the seconds waited.

    At most `documents_yield_s`, so a stuck deal never holds documents back for long."""
    rt = get(connection_id)
    started = time.monotonic()
    while time.monotonic() - started < rt.settings.service.documents_yield_s:
        since = now() - AWAITING_RECENT
        if deals_awaiting_invoice(rt.store.engine, connection_id, since) == 0:
            break
        await asyncio.sleep(YIELD_POLL_S)
    return round(time.monotonic() - started, 3)


@DBOS.step(name="documents.link")
@guarded
async def link_step(connection_id: str, lead_id: int, link_id: int, invoice_id: str) -> str | None:
    rt = get(connection_id)
    async with rt.xero_gate():
        url = await rt.xero.get_online_invoice_url(invoice_id)
    if url:
        await write_fields(rt, lead_id, [FieldValue.url(rt.fields.link, url)])
        rt.store.update_link(link_id, online_url=url)
    return url


@DBOS.step(name="documents.pdf")
@guarded
async def pdf_step(
    connection_id: str, lead_id: int, link_id: int, invoice_id: str, cause: str
) -> bool:
    rt = get(connection_id)
    link = rt.store.link(link_id)
    number = (link["invoice_number"] if link else None) or invoice_id
    async with rt.xero_gate():
        pdf = await rt.xero.get_invoice_pdf(invoice_id)
    await attach_file_once(rt, f"{cause}:pdf", lead_id, f"{number}.pdf", pdf, "application/pdf")
    rt.store.update_link(link_id, pdf_attached=True)
    rt.store.add_history(
        connection_id,
        "pdf_attached",
        f"Invoice PDF {number}.pdf attached to the deal.",
        link_id=link_id,
        lead_id=lead_id,
        invoice_id=invoice_id,
    )
    return True


@DBOS.workflow(name="attach_documents")
async def attach_documents(
    connection_id: str, lead_id: int, link_id: int, invoice_id: str, cause: str
) -> str:
    rt = get(connection_id)
    await wait_turn_step(connection_id)
    try:
        await run(link_step, connection_id, lead_id, link_id, invoice_id)
        if rt.settings.mapping.attach_pdf:
            await run(pdf_step, connection_id, lead_id, link_id, invoice_id, cause)
    except Stop as stop:
        message = f"Could not attach the invoice link or PDF: {stop.outcome.get('message')}"
        rt.store.park(
            connection_id,
            DOCUMENTS_FLOW,
            str(lead_id),
            str(stop.outcome.get("kind", "error")),
            message,
            "Check `kommo-xero doctor`, then retry: the invoice exists, only the documents "
            "are missing.",
        )
        rt.store.add_history(
            connection_id,
            "documents_failed",
            message,
            link_id=link_id,
            lead_id=lead_id,
            invoice_id=invoice_id,
            detail=stop.outcome,
        )
        record_flow(DOCUMENTS_FLOW, "parked")
        return "parked"
    rt.store.resolve_parked(connection_id, DOCUMENTS_FLOW, str(lead_id))
    record_flow(DOCUMENTS_FLOW, "attached")
    return "attached"


async def start(connection_id: str, lead_id: int, link_id: int, invoice_id: str, cause: str) -> str:
    """Enqueue the documents of one invoice under an id derived from its cause."""
    return await engine.enqueue(
        engine.DOCUMENTS_QUEUE,
        attach_documents,
        f"{cause}:documents",
        connection_id,
        connection_id,
        lead_id,
        link_id,
        invoice_id,
        cause,
    )
