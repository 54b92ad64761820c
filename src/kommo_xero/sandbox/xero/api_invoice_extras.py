"""Invoice side resources: OnlineInvoice (+ the page it links to), History, Email, Attachments."""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from . import messages as msg
from .api_common import caller, elements, not_found, ok, sim
from .formats import ms_datetime, new_id
from .models import Attachment, HistoryRecord
from .render import history_json

router = APIRouter()
online_router = APIRouter()


def _bad(message: str) -> JSONResponse:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": message}]}],
    }
    return JSONResponse(body, status_code=400)


@router.get("/Invoices/{invoice_id}/OnlineInvoice")
async def online_invoice(request: Request, invoice_id: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    if invoice.status in ("DRAFT", "SUBMITTED") or invoice.type != "ACCREC":
        return _bad(msg.ONLINE_INVOICE_DRAFT)
    url = f"{state.base_url}/online/{invoice.online_token}"
    return ok(state, "OnlineInvoices", [{"OnlineInvoiceUrl": url}])


@router.get("/Invoices/{invoice_id}/History")
async def get_history(request: Request, invoice_id: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return _bad(msg.DOCUMENT_NOT_FOUND)
    return ok(state, "HistoryRecords", [history_json(r) for r in invoice.history])


@router.put("/Invoices/{invoice_id}/History")
async def add_history(request: Request, invoice_id: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return _bad(msg.DOCUMENT_NOT_FOUND)
    now = state.now()
    added = []
    for raw in await elements(request, "HistoryRecords"):
        details = str(raw.get("Details") or "")[:2500]
        invoice.history.append(HistoryRecord(now, "Note", details, "kommo-xero"))
        added.append(
            {
                "DateUTCString": now.strftime("%Y-%m-%dT%H:%M:%S"),
                "DateUTC": ms_datetime(now),
                "Details": details,
                "ValidationErrors": [],
            }
        )
    # Notes do not change UpdatedDateUTC nor send a webhook (Xero's notes are not edits).
    return ok(state, "HistoryRecords", added)


@router.post("/Invoices/{invoice_id}/Email")
async def email_invoice(request: Request, invoice_id: str) -> Response:
    _, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    if invoice.status not in ("AUTHORISED", "PAID"):
        return _bad(msg.ONLINE_INVOICE_DRAFT)
    invoice.sent_to_contact = True
    return Response(status_code=204)


def _attachment_json(state_base: str, invoice_id: str, item: Attachment) -> dict[str, object]:
    return {
        "AttachmentID": item.attachment_id,
        "FileName": item.file_name,
        "Url": f"{state_base}/api.xro/2.0/Invoices/{invoice_id}/Attachments/{item.file_name}",
        "MimeType": item.mime_type,
        "ContentLength": len(item.content),
        "IncludeOnline": item.include_online,
    }


@router.put("/Invoices/{invoice_id}/Attachments/{file_name}")
@router.post("/Invoices/{invoice_id}/Attachments/{file_name}")
async def put_attachment(request: Request, invoice_id: str, file_name: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    content = await request.body()
    item = Attachment(
        attachment_id=new_id(),
        file_name=file_name,
        mime_type=request.headers.get("content-type", "application/octet-stream"),
        content=content,
        include_online=request.query_params.get("IncludeOnline", "").lower() == "true",
    )
    invoice.attachments = [a for a in invoice.attachments if a.file_name != file_name] + [item]
    body = _attachment_json(state.base_url, invoice.invoice_id, item)
    return ok(state, "Attachments", [body])


@router.get("/Invoices/{invoice_id}/Attachments")
async def list_attachments(request: Request, invoice_id: str) -> Response:
    state, org, _ = caller(request)
    invoice = org.find_invoice(invoice_id)
    if invoice is None:
        return not_found()
    items = [_attachment_json(state.base_url, invoice.invoice_id, a) for a in invoice.attachments]
    return ok(state, "Attachments", items)


@online_router.get("/online/{token}")
async def online_page(request: Request, token: str) -> Response:
    """The customer-facing page an OnlineInvoiceUrl opens (a small stand-in for in.xero.com)."""
    state = sim(request)
    for org in state.orgs.values():
        for invoice in org.invoices.values():
            if invoice.online_token == token:
                contact = org.contacts.get(invoice.contact_id)
                rows = "".join(
                    f"<tr><td>{html.escape(line.description)}</td>"
                    f"<td>{line.line_amount:.2f}</td></tr>"
                    for line in invoice.line_items
                )
                page = (
                    f"<!doctype html><html><head><title>Invoice {html.escape(invoice.number)}"
                    f"</title></head><body><h1>{html.escape(org.tenant.name)}</h1>"
                    f"<h2>Invoice {html.escape(invoice.number)}</h2>"
                    f"<p>To: {html.escape(contact.name if contact else '')}</p>"
                    f"<table>{rows}</table>"
                    f"<p>Total: {invoice.currency_code} {invoice.total:.2f}</p>"
                    f"<p>Amount due: {invoice.currency_code} {invoice.amount_due:.2f}</p>"
                    f"<p>Status: {invoice.status}</p></body></html>"
                )
                return HTMLResponse(page)
    return HTMLResponse("<h1>Invoice not found</h1>", status_code=404)
