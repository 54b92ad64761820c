"""/_sim: act as a person in Xero's UI, change settings and limits, read counters, webhooks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from .api_common import sim
from .config import SimAccount
from .control_models import (
    AccountIn,
    ClockIn,
    ConsentIn,
    CurrencyIn,
    LimitsIn,
    ManualInvoiceIn,
    PayIn,
    WebhookFaultsIn,
    WebhookIn,
)
from .formats import money, new_id, parse_date
from .invoice_ops import write_invoice
from .payment_ops import apply_payment
from .render import invoice_json
from .state import XeroState
from .writes import ItemError

router = APIRouter()


def _org_for(state: XeroState, tenant_id: str | None) -> Any:
    if tenant_id is None:
        return state.first_org
    if tenant_id not in state.orgs:
        raise HTTPException(404, f"unknown tenant {tenant_id}")
    return state.orgs[tenant_id]


def _find(state: XeroState, invoice_id: str) -> tuple[Any, Any]:
    for org in state.orgs.values():
        invoice = org.find_invoice(invoice_id)
        if invoice is not None:
            return org, invoice
    raise HTTPException(404, f"no invoice {invoice_id}")


def _as_person(state: XeroState, org: Any, invoice_id: str, changes: dict[str, Any]) -> Any:
    """A person's click goes through the same rules as an API update (user "Sandbox User")."""
    try:
        with state.writing(org, None) as ctx:
            ctx.user = "Sandbox User"
            invoice = write_invoice(ctx, changes, allow_update=True, path_id=invoice_id)
    except ItemError as error:
        raise HTTPException(400, error.messages) from error
    return invoice_json(org, invoice)


@router.post("/invoices")
async def manual_invoice(body: ManualInvoiceIn, request: Request) -> dict[str, Any]:
    state = sim(request)
    org = _org_for(state, body.tenant_id)
    contact: dict[str, Any] = {"Name": body.contact_name}
    if body.contact_email:
        contact["EmailAddress"] = body.contact_email
    due = body.due_date or (date.fromordinal(state.now().date().toordinal() + 30).isoformat())
    raw = {
        "Type": "ACCREC",
        "Contact": contact,
        "Status": body.status,
        "Reference": body.reference,
        "CurrencyCode": body.currency,
        "Date": body.date,
        "DueDate": due,
        "LineItems": [
            {
                "Description": line.description,
                "Quantity": line.quantity,
                "UnitAmount": line.unit_amount,
                "AccountCode": line.account_code,
                "TaxType": line.tax_type,
            }
            for line in body.lines
        ],
    }
    try:
        with state.writing(org, None) as ctx:
            ctx.user = "Sandbox User"
            invoice = write_invoice(ctx, raw, allow_update=False)
            if body.contact_email:
                org.contacts[invoice.contact_id].email = body.contact_email
    except ItemError as error:
        raise HTTPException(400, error.messages) from error
    return invoice_json(org, invoice)


@router.post("/invoices/{invoice_id}/approve")
async def approve(invoice_id: str, request: Request) -> dict[str, Any]:
    state = sim(request)
    org, invoice = _find(state, invoice_id)
    changes: dict[str, Any] = {"Status": "AUTHORISED"}
    if invoice.due_day is None:
        changes["DueDate"] = date.fromordinal(state.now().date().toordinal() + 30).isoformat()
    return _as_person(state, org, invoice.invoice_id, changes)


@router.post("/invoices/{invoice_id}/void")
async def void(invoice_id: str, request: Request) -> dict[str, Any]:
    state = sim(request)
    org, invoice = _find(state, invoice_id)
    return _as_person(state, org, invoice.invoice_id, {"Status": "VOIDED"})


@router.post("/invoices/{invoice_id}/delete")
async def delete(invoice_id: str, request: Request) -> dict[str, Any]:
    state = sim(request)
    org, invoice = _find(state, invoice_id)
    return _as_person(state, org, invoice.invoice_id, {"Status": "DELETED"})


@router.post("/invoices/{invoice_id}/pay")
async def pay(invoice_id: str, request: Request, body: PayIn | None = None) -> dict[str, Any]:
    state = sim(request)
    body = body or PayIn()
    org, invoice = _find(state, invoice_id)
    if invoice.status != "AUTHORISED":
        raise HTTPException(400, "Payment can only be made against approved (AUTHORISED) invoices.")
    amount = money(Decimal(str(body.amount))) if body.amount is not None else invoice.amount_due
    if amount <= 0 or amount > invoice.amount_due:
        raise HTTPException(400, "Payment amount exceeds the amount outstanding on this document")
    with state.writing(org, None) as ctx:
        ctx.user = "Sandbox User"
        day = parse_date(body.date) or ctx.today
        apply_payment(ctx, invoice, amount, day, body.account_code, body.reference)
    return invoice_json(org, invoice)


@router.post("/currencies")
async def currencies(body: CurrencyIn, request: Request) -> dict[str, Any]:
    org = _org_for(sim(request), body.tenant_id)
    code = body.code.upper()
    if body.enabled and code not in org.currencies:
        org.currencies.append(code)
    if not body.enabled and code in org.currencies and code != org.tenant.base_currency:
        org.currencies.remove(code)
    return {"currencies": list(org.currencies)}


@router.post("/accounts")
async def accounts(body: AccountIn, request: Request) -> dict[str, Any]:
    org = _org_for(sim(request), body.tenant_id)
    if body.remove:
        org.accounts.pop(body.code, None)
    else:
        org.accounts[body.code] = SimAccount(
            body.code, body.name, body.type, new_id(), enable_payments=body.enable_payments
        )
    return {"accounts": sorted(org.accounts)}


@router.post("/limits")
async def limits(body: LimitsIn, request: Request) -> dict[str, Any]:
    state = sim(request)
    current = state.limits
    for name, value in body.model_dump(exclude_none=True).items():
        setattr(current, name, value)
    return {
        "minute_limit": current.minute_limit,
        "concurrent_limit": current.concurrent_limit,
        "day_limit": current.day_limit,
        "app_minute_limit": current.app_minute_limit,
        "enforce": current.enforce,
        "latency_ms": current.latency_ms,
    }


@router.get("/counters")
async def counters(request: Request) -> dict[str, Any]:
    state = sim(request)
    return {
        "tenants": {t: c.snapshot() for t, c in state.limits.tenants.items()},
        "refresh_calls": state.tokens.refresh_calls,
        "refresh_uses": state.tokens.refresh_uses(),
    }


@router.post("/consent")
async def consent(body: ConsentIn, request: Request) -> dict[str, Any]:
    state = sim(request)
    state.consent_denied = body.deny
    state.consent_tenants = body.tenant_ids
    return {"deny": state.consent_denied, "tenant_ids": state.consent_tenants}


@router.post("/tokens/revoke")
async def revoke_tokens(request: Request) -> dict[str, Any]:
    """The person disconnects the app in Xero: every token stops working."""
    return {"revoked_grants": sim(request).tokens.revoke_all()}


@router.post("/clock/advance")
async def advance(body: ClockIn, request: Request) -> dict[str, Any]:
    return {"now": sim(request).advance(body.seconds).isoformat()}


@router.post("/webhooks")
async def subscribe(body: WebhookIn, request: Request) -> dict[str, Any]:
    return await sim(request).webhooks.subscribe(body.url, body.key)


@router.post("/webhook-faults")
async def webhook_faults(body: WebhookFaultsIn, request: Request) -> dict[str, Any]:
    dispatcher = sim(request).webhooks
    dispatcher.faults.drop_rate = body.drop_rate
    dispatcher.faults.duplicate_rate = body.duplicate_rate
    dispatcher.faults.reorder = body.reorder
    return body.model_dump()


@router.get("/webhook-deliveries")
async def deliveries(request: Request) -> dict[str, Any]:
    dispatcher = sim(request).webhooks
    return {
        "status": dispatcher.status,
        "url": dispatcher.url,
        "pending": len(dispatcher.pending),
        "itr": dispatcher.itr_results,
        "deliveries": dispatcher.deliveries,
    }


@router.post("/webhooks/flush")
async def flush(request: Request) -> dict[str, Any]:
    dispatcher = sim(request).webhooks
    before = len(dispatcher.deliveries)
    await dispatcher.flush_all()
    return {"delivered": dispatcher.deliveries[before:]}


@router.get("/state")
async def whole_state(request: Request) -> dict[str, Any]:
    return sim(request).summary()


@router.post("/reset")
async def reset(request: Request) -> dict[str, Any]:
    state = sim(request)
    state.reset()
    return state.summary()
