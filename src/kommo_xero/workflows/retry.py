"""Retry parked work after its cause was fixed (CLI, dashboard, reconnect all come here)."""

from __future__ import annotations

from kommo_xero.workflows import deal_to_invoice, documents, runtime
from kommo_xero.workflows.documents import DOCUMENTS_FLOW


async def retry_parked(
    connection_id: str, item_ids: list[int] | None = None, reason_code: str | None = None
) -> list[str]:
    """Start each chosen open parked item again; returns the ids of the workflows started.

    The retry's id is derived from the item and its attempt count, so pressing Retry twice
    before the first retry ran starts it once.
    """
    rt = runtime.get(connection_id)
    rt.org.invalidate()  # the fix may have been made in Xero (a currency, an account code)
    started = []
    for item in rt.store.open_parked(connection_id):
        if item_ids is not None and item["id"] not in item_ids:
            continue
        if reason_code is not None and item["reason_code"] != reason_code:
            continue
        cause = f"retry:{connection_id}:{item['id']}:{item['attempts']}"
        lead_id = int(item["subject"])
        if item["flow"] == deal_to_invoice.FLOW:
            started.append(await deal_to_invoice.start(connection_id, lead_id, cause))
        elif item["flow"] == DOCUMENTS_FLOW:
            link = rt.store.active_link(connection_id, lead_id)
            if link is None or not link["xero_invoice_id"]:
                continue
            started.append(
                await documents.start(
                    connection_id, lead_id, int(link["id"]), str(link["xero_invoice_id"]), cause
                )
            )
    return started
