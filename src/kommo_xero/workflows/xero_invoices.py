"""Create sales invoices in Xero in batches, exactly once per claimed deal.

Each batch's exact request is stored *before* it is sent, with its Idempotency-Key. If the
process dies after Xero answered but before the answer was saved, the recovering step
resends the stored request with the same key and Xero replays its first answer, so no
second invoice is made. Past Xero's replay window (about six minutes) the step looks the
invoice up by its reference before creating anything.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from kommo_xero.domain.model import InvoicePlan
from kommo_xero.domain.status import status_label
from kommo_xero.store.invoice_orders import InvoiceOrders
from kommo_xero.transport import TransientError, ValidationFailed
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.xero.models import (
    Invoice,
    InvoiceContact,
    InvoiceCreate,
    ItemResult,
    LineItemCreate,
)
from kommo_xero.xero.writes import where_equals

REPLAY_WINDOW = timedelta(minutes=5)
SPACING_CHECK_S = 0.2  # while spacing batches, how often to look for a full batch


class InvoiceRefused(Exception):
    """Xero refused this deal's invoice; `errors` are Xero's own messages."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors) or "Xero refused the invoice")
        self.errors = errors


@dataclass(frozen=True)
class InvoiceOrder:
    link_id: int
    plan: InvoicePlan
    contact_id: str


def invoice_request(plan: InvoicePlan, contact_id: str) -> InvoiceCreate:
    return InvoiceCreate(
        type="ACCREC",
        contact=InvoiceContact(contact_id=contact_id),
        line_items=[
            LineItemCreate(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_amount,
                account_code=line.account_code,
                tax_type=line.tax_type,
                item_code=line.item_code,
            )
            for line in plan.lines
        ],
        date=plan.issue_date,
        due_date=plan.due_date,
        line_amount_types=plan.line_amount_types,  # type: ignore[arg-type]
        reference=plan.reference,
        url=plan.url,
        currency_code=plan.currency,
        status=plan.status,  # type: ignore[arg-type]
    )


def snapshot(invoice: Invoice) -> dict[str, Any]:
    """The invoice facts a workflow carries forward (plain JSON values)."""
    updated = invoice.updated_date_utc or datetime.now(UTC)
    return {
        "invoice_id": invoice.invoice_id,
        "number": invoice.invoice_number,
        "status": invoice.status,
        "label": status_label(invoice.status or "", invoice.amount_paid or 0),  # type: ignore[arg-type]
        "currency": invoice.currency_code,
        "total": str(invoice.total or 0),
        "amount_due": str(invoice.amount_due or 0),
        "amount_paid": str(invoice.amount_paid or 0),
        "updated_at": updated.isoformat(),
        "contact_name": invoice.contact.name if invoice.contact else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
    }


def record(rt: Runtime, link_id: int, invoice: Invoice, contact_id: str | None) -> dict[str, Any]:
    snap = snapshot(invoice)
    rt.store.update_link(
        link_id,
        xero_invoice_id=snap["invoice_id"],
        invoice_number=snap["number"],
        state="invoiced",
        status=snap["status"],
        status_label=snap["label"],
        currency=snap["currency"],
        total=snap["total"],
        amount_due=snap["amount_due"],
        amount_paid=snap["amount_paid"],
        contact_name=snap["contact_name"],
        xero_contact_id=contact_id,
        xero_updated_at=datetime.fromisoformat(snap["updated_at"]),
    )
    return snap


def _result_json(result: ItemResult[Invoice]) -> dict[str, Any]:
    return {
        "ok": result.ok,
        "errors": result.errors,
        "invoice": result.item.model_dump(mode="json", by_alias=True) if result.item else None,
    }


def _request_json(order: InvoiceOrder) -> dict[str, Any]:
    request = invoice_request(order.plan, order.contact_id)
    return request.model_dump(mode="json", by_alias=True, exclude_none=True)


async def _send_oldest(rt: Runtime, queue: InvoiceOrders) -> bool:
    """Send the connection's longest-waiting orders, whichever process queued them, as one
    batch. The request is stored (with its Idempotency-Key) before it leaves.

    The call's budget is waited for *before* the orders are taken: while Xero's pacing holds
    the call back, more orders join the queue and leave with it."""
    await _space_from_last_batch(rt, queue)
    await rt.xero.wait_for_budget()
    taken = queue.oldest(rt.connection_id, rt.settings.mapping.batch_size)
    if not taken:  # another process sent ours meanwhile
        rt.xero.forgo_budget()
        return False
    batch_id = uuid.uuid4().hex
    key = f"kx-invoices-{batch_id}"
    link_ids = [link_id for link_id, _ in taken]
    stored = {"link_ids": link_ids, "invoices": [request for _, request in taken]}
    rt.store.open_batch(batch_id, rt.connection_id, key, stored, link_ids)
    await _send(rt, batch_id, key, stored["invoices"])
    return True


async def _space_from_last_batch(rt: Runtime, queue: InvoiceOrders) -> None:
    """During a burst, hold the next batch until `batch_spacing_ms` after the previous one
    opened, unless a full batch already waits. Orders arriving meanwhile, from any process,
    share the call: without this, several processes sending back to back made batches of a
    few invoices each and spent Xero's minute on them. After a quiet spell the previous
    batch is long past, and a lone deal's invoice leaves at once."""
    mapping = rt.settings.mapping
    if mapping.batch_spacing_ms <= 0:
        return
    last = queue.last_batch_at(rt.connection_id)
    if last is None:
        return
    due = last + timedelta(milliseconds=mapping.batch_spacing_ms)
    while (left := (due - datetime.now(UTC)).total_seconds()) > 0:
        if queue.count(rt.connection_id) >= mapping.batch_size:
            return
        await asyncio.sleep(min(left, SPACING_CHECK_S))


async def _send(rt: Runtime, batch_id: str, key: str, invoices: list[dict[str, Any]]) -> None:
    """Send a stored batch (again, after a crash: same key, so Xero replays its answer) and
    store the answer, one result per invoice."""
    requests = [InvoiceCreate.model_validate(i) for i in invoices]
    try:
        async with rt.xero_gate():
            results = await rt.xero.create_invoices(requests, idempotency_key=key)
    except ValidationFailed as exc:  # the whole batch refused: every order gets the reasons
        refused = {"ok": False, "errors": exc.errors, "invoice": None}
        rt.store.complete_batch(batch_id, [refused] * len(requests))
        return
    rt.store.complete_batch(batch_id, [_result_json(r) for r in results])


async def _answer(rt: Runtime, order: InvoiceOrder) -> dict[str, Any] | BaseException:
    """This order's outcome, read from the batch that carried it."""
    link = rt.store.link(order.link_id)
    batch_id = link["batch_id"] if link else None
    try:
        found = await _recover(rt, order, batch_id) if batch_id else None
    except InvoiceRefused as refused:
        return refused
    if found is None:  # the batch is gone or made nothing: the step tries again
        return TransientError("xero", "the batch carrying this invoice made nothing; retrying")
    return found


def _batcher(rt: Runtime) -> Batcher[InvoiceOrder, dict[str, Any]]:
    queue = InvoiceOrders(rt.store.engine)

    async def flush(orders: Sequence[InvoiceOrder]) -> list[dict[str, Any] | BaseException]:
        # Queue ours, then take the connection's batch slot. Whoever holds it sends the
        # oldest orders of every process; by the time we hold it, ours may be sent already.
        queue.add(rt.connection_id, [(o.link_id, _request_json(o)) for o in orders])
        async with rt.invoice_batch_slot():
            while queue.still_queued(o.link_id for o in orders):
                if not await _send_oldest(rt, queue):
                    break
            return [await _answer(rt, order) for order in orders]

    return rt.shared(
        "invoice_creator",
        lambda: Batcher(
            flush,
            window=rt.settings.mapping.batch_window_ms / 1000,
            max_size=rt.settings.mapping.batch_size,
            # Flushes only queue and wait: the batch slot lets one send at a time, and orders
            # queued meanwhile (from here or other processes) leave together in the next call.
            max_in_flight=8,
        ),
    )


async def _find_by_reference(rt: Runtime, reference: str) -> Invoice | None:
    async with rt.xero_gate():
        page = await rt.xero.get_invoices(
            where=where_equals("Reference", reference) + ' AND Type=="ACCREC"'
        )
    alive = [i for i in page.items if i.status not in ("VOIDED", "DELETED")]
    return alive[0] if alive else None


async def _recover(rt: Runtime, order: InvoiceOrder, batch_id: str) -> dict[str, Any] | None:
    """Finish a batch this deal was part of when the process stopped; None if it made nothing."""
    batch = rt.store.batch(batch_id)
    if batch is None:
        return None
    stored = json.loads(batch["request_json"])
    index = stored["link_ids"].index(order.link_id)
    if batch["response_json"] is None:
        created_at = batch["created_at"]
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        if datetime.now(UTC) - created_at < REPLAY_WINDOW:
            await _send(rt, batch_id, batch["idempotency_key"], stored["invoices"])
        else:
            found = await _find_by_reference(rt, order.plan.reference)
            return record(rt, order.link_id, found, order.contact_id) if found else None
        batch = rt.store.batch(batch_id)
        assert batch is not None
    answer = json.loads(batch["response_json"])[index]
    if not answer["ok"]:
        raise InvoiceRefused(answer["errors"])
    return record(rt, order.link_id, Invoice.model_validate(answer["invoice"]), order.contact_id)


async def create_invoice(rt: Runtime, order: InvoiceOrder) -> dict[str, Any]:
    """The invoice for a claimed deal: made now in a batch, or recovered from an earlier try."""
    link = rt.store.link(order.link_id)
    if link is not None and link["xero_invoice_id"]:
        invoice = await rt.xero.get_invoice(link["xero_invoice_id"])
        if invoice is not None:
            return snapshot(invoice)
    if link is not None and link["batch_id"]:
        try:
            recovered = await _recover(rt, order, link["batch_id"])
        except InvoiceRefused:
            # That earlier batch made no invoice for this deal; this attempt (after the user
            # fixed what Xero refused) asks again.
            recovered = None
        if recovered is not None:
            return recovered
    return await _batcher(rt).submit(order)
