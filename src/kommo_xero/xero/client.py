"""Typed async client for the parts of Xero's Accounting API the integration uses.

Every write carries the caller's `Idempotency-Key`; batch writes use `summarizeErrors=false`
and report one `ItemResult` per element, in request order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kommo_xero.transport import ApiError, NotFound, ValidationFailed
from kommo_xero.xero.client_settings import SettingsAndContacts
from kommo_xero.xero.dates import format_if_modified_since
from kommo_xero.xero.models import (
    Invoice,
    InvoiceCreate,
    InvoicePage,
    ItemResult,
    Payment,
)
from kommo_xero.xero.responses import SERVICE, chunks, collection, element_messages
from kommo_xero.xero.writes import MAX_BATCH, element_failed, item_results, request_element

# IDs per GET, so URLs stay well under proxy limits (36-char GUIDs).
MAX_IDS_PER_GET = 50
# Xero keeps at most this many characters of a history note.
HISTORY_DETAILS_MAX = 2500


class XeroClient(SettingsAndContacts):
    """Xero Accounting API for one connection. Use as `async with XeroClient(...) as xero:`."""

    async def __aenter__(self) -> XeroClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- invoices -----------------------------------------------------------------------

    async def create_invoices(
        self, invoices: list[InvoiceCreate], *, idempotency_key: str
    ) -> list[ItemResult[Invoice]]:
        """Create up to 50 invoices; result `i` belongs to `invoices[i]`."""
        if len(invoices) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} invoices per call, got {len(invoices)}")
        if not invoices:
            return []
        body = await self.send_json(
            "PUT",
            "/Invoices",
            params={"summarizeErrors": "false"},
            body={"Invoices": [request_element(invoice) for invoice in invoices]},
            idempotency_key=idempotency_key,
        )
        return item_results(Invoice, collection(body, "Invoices"), len(invoices))

    async def get_invoice(self, invoice_id: str) -> Invoice | None:
        """The invoice with its line items and payments, or None when Xero does not know it."""
        try:
            body = await self.send_json("GET", f"/Invoices/{invoice_id}")
        except NotFound:
            return None
        invoices = collection(body, "Invoices")
        return Invoice.model_validate(invoices[0]) if invoices else None

    async def get_invoices(
        self,
        *,
        ids: Sequence[str] | None = None,
        statuses: Sequence[str] | None = None,
        where: str | None = None,
        page: int = 1,
        modified_since: datetime | None = None,
        created_by_my_app: bool | None = None,
        invoice_numbers: Sequence[str] | None = None,
        search_term: str | None = None,
    ) -> InvoicePage:
        """One page of invoices (always paged, so line items are included)."""
        params: dict[str, str] = {"page": str(page)}
        optional = {
            "IDs": ",".join(ids) if ids else None,
            "Statuses": ",".join(statuses) if statuses else None,
            "InvoiceNumbers": ",".join(invoice_numbers) if invoice_numbers else None,
            "where": where,
            "searchTerm": search_term,
            "createdByMyApp": None if created_by_my_app is None else str(created_by_my_app).lower(),
        }
        params |= {key: value for key, value in optional.items() if value}
        headers = {}
        if modified_since is not None:
            headers["If-Modified-Since"] = format_if_modified_since(modified_since)
        body = await self.send_json("GET", "/Invoices", params=params, headers=headers)
        paging = body.get("pagination") or {} if isinstance(body, dict) else {}
        return InvoicePage(
            items=[Invoice.model_validate(item) for item in collection(body, "Invoices")],
            page=int(paging.get("page") or page),
            page_size=int(paging["pageSize"]) if paging.get("pageSize") else None,
            page_count=int(paging["pageCount"]) if paging.get("pageCount") is not None else None,
            item_count=int(paging["itemCount"]) if paging.get("itemCount") is not None else None,
        )

    async def iter_invoices(self, **filters: Any) -> AsyncIterator[Invoice]:
        """Every invoice matching `get_invoices` filters, page after page."""
        page = int(filters.pop("page", 1))
        while True:
            result = await self.get_invoices(page=page, **filters)
            for invoice in result.items:
                yield invoice
            if not result.has_more:
                return
            page += 1

    async def get_invoices_by_ids(self, ids: Sequence[str]) -> list[Invoice]:
        """Invoices for these IDs (unknown IDs are simply missing), 50 IDs per call."""
        found: list[Invoice] = []
        for chunk in chunks(dict.fromkeys(ids), MAX_IDS_PER_GET):
            async for invoice in self.iter_invoices(ids=chunk):
                found.append(invoice)
        return found

    async def update_invoice(
        self, invoice_id: str, changes: dict[str, Any], *, idempotency_key: str
    ) -> Invoice:
        """Apply `changes` (Xero field names) to one invoice; `ValidationFailed` if refused."""
        element = {**changes, "InvoiceID": invoice_id}
        body = await self.send_json(
            "POST",
            f"/Invoices/{invoice_id}",
            body={"Invoices": [element]},
            idempotency_key=idempotency_key,
        )
        invoices = collection(body, "Invoices")
        if not invoices:
            raise ApiError(SERVICE, "Xero returned no invoice for the update")
        errors = element_messages(invoices[0])
        if element_failed(invoices[0]):
            raise ValidationFailed(
                SERVICE, "; ".join(errors) or "invoice update refused", errors=errors, status=200
            )
        return Invoice.model_validate(invoices[0])

    async def void_invoice(self, invoice_id: str, *, idempotency_key: str) -> Invoice:
        """Void an approved invoice (allowed only while no payment is applied)."""
        return await self.update_invoice(
            invoice_id, {"Status": "VOIDED"}, idempotency_key=idempotency_key
        )

    async def delete_draft(self, invoice_id: str, *, idempotency_key: str) -> Invoice:
        """Delete a DRAFT or SUBMITTED invoice."""
        return await self.update_invoice(
            invoice_id, {"Status": "DELETED"}, idempotency_key=idempotency_key
        )

    async def get_online_invoice_url(self, invoice_id: str) -> str | None:
        """The customer-facing link, or None when Xero has none (drafts, unknown invoices)."""
        try:
            body = await self.send_json("GET", f"/Invoices/{invoice_id}/OnlineInvoice")
        except (NotFound, ValidationFailed):
            return None
        for item in collection(body, "OnlineInvoices"):
            if item.get("OnlineInvoiceUrl"):
                return str(item["OnlineInvoiceUrl"])
        return None

    async def get_invoice_pdf(self, invoice_id: str) -> bytes:
        response = await self.send("GET", f"/Invoices/{invoice_id}/pdf", accept="application/pdf")
        return response.content

    async def add_invoice_history(
        self, invoice_id: str, details: str, *, idempotency_key: str
    ) -> None:
        """Add a note to the invoice's history (longer notes are cut to Xero's 2,500 chars)."""
        text = (
            details
            if len(details) <= HISTORY_DETAILS_MAX
            else details[: HISTORY_DETAILS_MAX - 1] + "…"
        )
        await self.send(
            "PUT",
            f"/Invoices/{invoice_id}/History",
            body={"HistoryRecords": [{"Details": text}]},
            idempotency_key=idempotency_key,
        )

    # --- payments -----------------------------------------------------------------------

    async def create_payment(
        self,
        invoice_id: str,
        account_code: str,
        amount: Decimal,
        date: date,
        *,
        idempotency_key: str,
        reference: str | None = None,
    ) -> Payment:
        """Record a payment against an approved invoice, paid into bank account `account_code`."""
        element: dict[str, Any] = {
            "Invoice": {"InvoiceID": invoice_id},
            "Account": {"Code": account_code},
            "Date": date.isoformat(),
            "Amount": amount,
        }
        if reference:
            element["Reference"] = reference
        body = await self.send_json(
            "PUT", "/Payments", body={"Payments": [element]}, idempotency_key=idempotency_key
        )
        payments = collection(body, "Payments")
        if not payments:
            raise ApiError(SERVICE, "Xero returned no payment")
        errors = element_messages(payments[0])
        if errors:
            raise ValidationFailed(SERVICE, "; ".join(errors), errors=errors, status=200)
        return Payment.model_validate(payments[0])
