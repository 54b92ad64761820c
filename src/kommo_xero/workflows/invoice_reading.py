"""Re-read invoices from Xero for flows B and C, many at once.

After a burst (a payment run, an accountant approving a stack of drafts) dozens of invoice
workflows ask within milliseconds; one `GET /Invoices?IDs=…` answers fifty of them. The
"did our app make this?" question is batched the same way with `createdByMyApp=true`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from kommo_xero.domain.invoice_events import InvoiceFacts
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.xero.models import Invoice

READ_WINDOW_S = 0.1
IDS_PER_CALL = 50


def facts_of(invoice: Invoice) -> InvoiceFacts:
    return InvoiceFacts(
        invoice_id=invoice.invoice_id or "",
        number=invoice.invoice_number,
        type=invoice.type or "",
        status=invoice.status or "",
        currency=invoice.currency_code or "",
        total=invoice.total or Decimal("0"),
        amount_due=invoice.amount_due or Decimal("0"),
        amount_paid=invoice.amount_paid or Decimal("0"),
        updated_at=invoice.updated_date_utc or datetime.now(UTC),
        fully_paid_on=invoice.fully_paid_on_date,
        contact_name=invoice.contact.name if invoice.contact else None,
    )


def facts_to_json(facts: InvoiceFacts, invoice: Invoice | None = None) -> dict[str, Any]:
    """Plain JSON (a workflow step's durable result)."""
    out: dict[str, Any] = {
        "invoice_id": facts.invoice_id,
        "number": facts.number,
        "type": facts.type,
        "status": facts.status,
        "currency": facts.currency,
        "total": str(facts.total),
        "amount_due": str(facts.amount_due),
        "amount_paid": str(facts.amount_paid),
        "updated_at": facts.updated_at.isoformat(),
        "fully_paid_on": facts.fully_paid_on.isoformat() if facts.fully_paid_on else None,
        "contact_name": facts.contact_name,
    }
    if invoice is not None and invoice.contact is not None:
        out["contact_id"] = invoice.contact.contact_id
        out["contact_email"] = invoice.contact.email_address
    return out


def facts_from_json(data: dict[str, Any]) -> InvoiceFacts:
    from datetime import date

    return InvoiceFacts(
        invoice_id=data["invoice_id"],
        number=data.get("number"),
        type=data.get("type") or "",
        status=data["status"],
        currency=data.get("currency") or "",
        total=Decimal(data["total"]),
        amount_due=Decimal(data["amount_due"]),
        amount_paid=Decimal(data["amount_paid"]),
        updated_at=datetime.fromisoformat(data["updated_at"]),
        fully_paid_on=date.fromisoformat(data["fully_paid_on"])
        if data.get("fully_paid_on")
        else None,
        contact_name=data.get("contact_name"),
    )


def _reader(rt: Runtime, mine_only: bool) -> Batcher[str, Invoice | None]:
    async def flush(ids: Sequence[str]) -> list[Invoice | None]:
        found: dict[str, Invoice] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IDS_PER_CALL):
            chunk = unique[start : start + IDS_PER_CALL]
            async with rt.xero_gate():
                page = await rt.xero.get_invoices(
                    ids=chunk, created_by_my_app=True if mine_only else None
                )
            found |= {(i.invoice_id or "").lower(): i for i in page.items}
        return [found.get(i.lower()) for i in ids]

    name = "invoice_reader_mine" if mine_only else "invoice_reader"
    # Cut once Xero's budget admits the call: reads that arrive meanwhile share it (0008).
    return rt.shared(
        name,
        lambda: Batcher(
            flush, window=READ_WINDOW_S, max_size=IDS_PER_CALL, ready=rt.xero.wait_for_budget
        ),
    )


async def read_invoice(rt: Runtime, invoice_id: str) -> Invoice | None:
    """The invoice as Xero has it now (None when Xero does not know it)."""
    return await _reader(rt, mine_only=False).submit(invoice_id)


async def made_by_us(rt: Runtime, invoice_id: str) -> bool:
    """Did this app create the invoice? (`createdByMyApp`, for invoices with no link yet.)"""
    return await _reader(rt, mine_only=True).submit(invoice_id) is not None
