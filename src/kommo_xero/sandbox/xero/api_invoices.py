"""/Invoices: list, read, PDF, create (PUT), create-or-update (POST), update one (§2)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from . import messages as msg
from .api_common import (
    apply_where,
    batch_response,
    caller,
    csv_param,
    elements,
    modified_since,
    not_found,
    ok,
    order_by,
    paginate,
    run_batch,
    summarize_flag,
    where_filter,
)
from .invoice_ops import write_invoice
from .models import Invoice, Org
from .pdf import invoice_pdf
from .render import invoice_json

router = APIRouter()


def invoice_fields(org: Org, invoice: Invoice) -> dict[str, Any]:
    """The values `where` and `order` can see, under Xero's field names."""
    contact = org.contacts.get(invoice.contact_id)
    return {
        "Type": invoice.type,
        "Status": invoice.status,
        "Reference": invoice.reference,
        "InvoiceNumber": invoice.number,
        "InvoiceID": invoice.invoice_id,
        "Contact.ContactID": invoice.contact_id,
        "Contact.Name": contact.name if contact else "",
        "Contact.ContactNumber": contact.contact_number if contact else "",
        "AmountDue": invoice.amount_due,
        "AmountPaid": invoice.amount_paid,
        "Total": invoice.total,
        "SubTotal": invoice.sub_total,
        "CurrencyCode": invoice.currency_code,
        "Date": invoice.day,
        "DueDate": invoice.due_day,
        "UpdatedDateUTC": invoice.updated,
        "FullyPaidOnDate": invoice.fully_paid_on,
        "SentToContact": invoice.sent_to_contact,
    }


def _unitdp(request: Request) -> int:
    return 4 if request.query_params.get("unitdp") == "4" else 2


@router.get("/Invoices")
async def list_invoices(request: Request) -> Response:
    state, org, who = caller(request)
    rows = list(org.invoices.values())
    ids = {i.lower() for i in csv_param(request, "IDs")}
    numbers = set(csv_param(request, "InvoiceNumbers"))
    contact_ids = {i.lower() for i in csv_param(request, "ContactIDs")}
    statuses = {s.upper() for s in csv_param(request, "Statuses")}
    since = modified_since(request)
    mine = request.query_params.get("createdByMyApp", "").lower() == "true"
    archived = request.query_params.get("includeArchived", "").lower() == "true"
    term = request.query_params.get("searchTerm", "").casefold()
    rows = [
        inv
        for inv in rows
        if (not ids or inv.invoice_id in ids)
        and (not numbers or inv.number in numbers)
        and (not contact_ids or inv.contact_id in contact_ids)
        and (not statuses or inv.status in statuses)
        and (since is None or inv.updated > since)
        and (not mine or inv.created_by_client == who.client_id)
        and (archived or inv.status != "ARCHIVED")
        and (not term or term in inv.number.casefold() or term in inv.reference.casefold())
    ]
    predicate = where_filter(request)
    rows = apply_where(((inv, invoice_fields(org, inv)) for inv in rows), predicate)
    rows = order_by(request, rows, lambda inv: invoice_fields(org, inv))
    page, pagination = paginate(request, rows)
    summary = request.query_params.get("summaryOnly", "").lower() == "true"
    # Without `page` Xero leaves out line items on a list; with it, they are included.
    bodies = [
        invoice_json(
            org, inv, unitdp=_unitdp(request), summary=summary, lines=pagination is not None
        )
        for inv in page
    ]
    extra = {"pagination": pagination} if pagination is not None else {}
    return ok(state, "Invoices", bodies, **extra)


@router.get("/Invoices/{invoice_id}")
async def get_invoice(request: Request, invoice_id: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    if "application/pdf" in request.headers.get("accept", ""):
        return _pdf_response(org, invoice)
    return ok(state, "Invoices", [invoice_json(org, invoice, unitdp=_unitdp(request))])


@router.get("/Invoices/{invoice_id}/pdf")
async def get_invoice_pdf(request: Request, invoice_id: str) -> Response:
    _, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    return _pdf_response(org, invoice)


def _pdf_response(org: Org, invoice: Invoice) -> Response:
    filename = f"{invoice.number or invoice.invoice_id}.pdf"
    return Response(
        invoice_pdf(org, invoice),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


async def _write(request: Request, *, allow_update: bool, path_id: str | None = None) -> Response:
    state, org, who = caller(request)
    items = await elements(request, "Invoices")
    unitdp = _unitdp(request)
    status, results = run_batch(
        state,
        org,
        who.client_id,
        items,
        lambda ctx, raw: write_invoice(ctx, raw, allow_update=allow_update, path_id=path_id),
        lambda invoice: invoice_json(org, invoice, unitdp=unitdp),
        summarize=summarize_flag(request) if path_id is None else True,
    )
    return batch_response(state, "Invoices", status, results)


@router.put("/Invoices")
async def create_invoices(request: Request) -> Response:
    return await _write(request, allow_update=False)


@router.post("/Invoices")
async def update_or_create_invoices(request: Request) -> Response:
    return await _write(request, allow_update=True)


@router.post("/Invoices/{invoice_id}")
async def update_invoice(request: Request, invoice_id: str) -> Response:
    _, org, _ = caller(request)
    if org.find_invoice(invoice_id) is None:
        return JSONResponse(
            {
                "ErrorNumber": 10,
                "Type": "ValidationException",
                "Message": "A validation exception occurred",
                "Elements": [
                    {
                        "InvoiceID": invoice_id,
                        "ValidationErrors": [{"Message": msg.INVOICE_NOT_FOUND}],
                    }
                ],
            },
            status_code=400,
        )
    return await _write(request, allow_update=True, path_id=invoice_id)
