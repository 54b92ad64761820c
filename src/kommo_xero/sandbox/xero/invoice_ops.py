"""Create and update invoices with Xero's validation and status rules (§2.3-2.6)."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

from . import messages as msg
from .formats import new_id, to_decimal
from .lines import LINE_AMOUNT_TYPES, build_line, compute_totals
from .models import HistoryRecord, Invoice, LineItem
from .writes import ContactPlan, ItemError, WriteContext, optional_date, plan_contact

STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
CREATE_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
# Which status a client may set from each status (PAID is only ever set by Xero).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "SUBMITTED": ("SUBMITTED", "AUTHORISED", "DRAFT", "DELETED"),
    "AUTHORISED": ("AUTHORISED", "VOIDED"),
    "PAID": (),
    "VOIDED": (),
    "DELETED": (),
}
HISTORY_CHANGES = {"AUTHORISED": "Approved", "VOIDED": "Voided", "DELETED": "Deleted"}
# Header fields whose change is an edit (blocked once payments are applied).
_EDIT_FIELDS = ("Contact", "Date", "DueDate", "LineItems", "LineAmountTypes", "CurrencyCode")


def write_invoice(
    ctx: WriteContext, raw: dict[str, Any], *, allow_update: bool, path_id: str | None = None
) -> Invoice:
    """Create or update one invoice; raises ItemError and changes nothing when invalid."""
    org = ctx.org
    if path_id is not None:
        existing = org.find_invoice(path_id)
        if existing is None:
            raise ItemError([msg.INVOICE_NOT_FOUND])
        return _update(ctx, existing, raw)
    if raw.get("InvoiceID"):
        existing = org.invoices.get(str(raw["InvoiceID"]).lower())
        if existing is not None:
            if not allow_update:
                raise ItemError([msg.INVOICE_ID_EXISTS])
            return _update(ctx, existing, raw)
        if allow_update:
            raise ItemError([msg.INVOICE_NOT_FOUND])
    elif allow_update and raw.get("InvoiceNumber"):
        existing = org.invoice_by_number(str(raw["InvoiceNumber"]))
        if existing is not None:
            return _update(ctx, existing, raw)
    return _create(ctx, raw)


def _create(ctx: WriteContext, raw: dict[str, Any]) -> Invoice:
    org = ctx.org
    errors: list[str] = []
    kind = raw.get("Type")
    if kind not in ("ACCREC", "ACCPAY"):
        errors.append(msg.TYPE_INVALID)
    plan = plan_contact(org, raw.get("Contact"), errors)
    status = str(raw.get("Status") or "DRAFT")
    if status not in CREATE_STATUSES:
        errors.append(msg.invalid_status(status) if status not in STATUSES else msg.NOT_MODIFIABLE)
    currency = str(raw.get("CurrencyCode") or org.tenant.base_currency)
    if currency not in org.currencies:
        errors.append(msg.currency_not_enabled(currency))
    amount_types = str(raw.get("LineAmountTypes") or "Exclusive")
    if amount_types not in LINE_AMOUNT_TYPES:
        errors.append(msg.LINE_AMOUNT_TYPES_INVALID)
    day = optional_date(raw, "Date", errors) or ctx.today
    due = optional_date(raw, "DueDate", errors)
    if status == "AUTHORISED" and due is None:
        errors.append(msg.DUE_DATE_REQUIRED)
    raw_lines = raw.get("LineItems") or []
    if not raw_lines:
        errors.append(msg.NO_LINE_ITEMS)
    lines = [build_line(org, line, None, errors) for line in raw_lines if isinstance(line, dict)]
    number = str(raw.get("InvoiceNumber") or "")
    if number and kind == "ACCREC" and org.invoice_by_number(number) is not None:
        errors.append(msg.NUMBER_NOT_UNIQUE)
    if errors:
        raise ItemError(list(dict.fromkeys(errors)))
    contact = plan.resolve(ctx)
    if kind == "ACCREC":
        contact.is_customer = True
    invoice = Invoice(
        invoice_id=new_id(),
        type=str(kind),
        number=number or (org.take_invoice_number() if kind == "ACCREC" else ""),
        contact_id=contact.contact_id,
        day=day,
        due_day=due,
        status=status,
        line_amount_types=amount_types,
        currency_code=currency,
        currency_rate=to_decimal(raw.get("CurrencyRate")) or Decimal("1"),
        reference=str(raw.get("Reference") or ""),
        url=str(raw.get("Url") or ""),
        updated=ctx.now,
        line_items=lines,
        created_by_client=ctx.client_id,
        online_token=new_id().replace("-", ""),
    )
    compute_totals(org, invoice)
    invoice.history.append(HistoryRecord(ctx.now, "Created", _created_detail(invoice), ctx.user))
    if status == "AUTHORISED":
        invoice.history.append(HistoryRecord(ctx.now, "Approved", "", ctx.user))
    org.invoices[invoice.invoice_id] = invoice
    ctx.event("INVOICE", "CREATE", invoice.invoice_id)
    return invoice


def _created_detail(invoice: Invoice) -> str:
    return f"INV {invoice.number} to contact for {invoice.total:.2f}."


def _update(ctx: WriteContext, current: Invoice, raw: dict[str, Any]) -> Invoice:
    org = ctx.org
    if current.status in ("PAID", "VOIDED", "DELETED"):
        raise ItemError([msg.NOT_MODIFIABLE])
    errors: list[str] = []
    new_status = str(raw.get("Status") or current.status)
    if new_status not in STATUSES:
        raise ItemError([msg.invalid_status(new_status)])
    if new_status not in TRANSITIONS[current.status]:
        raise ItemError([msg.NOT_MODIFIABLE])
    edits = [key for key in _EDIT_FIELDS if key in raw]
    if current.amount_paid > 0 and (edits or new_status == "VOIDED"):
        raise ItemError([msg.HAS_PAYMENTS])
    draft = copy.deepcopy(current)
    plan: ContactPlan | None = None
    if "Contact" in raw:
        plan = plan_contact(org, raw["Contact"], errors)
    if "CurrencyCode" in raw:
        draft.currency_code = str(raw["CurrencyCode"] or org.tenant.base_currency)
        if draft.currency_code not in org.currencies:
            errors.append(msg.currency_not_enabled(draft.currency_code))
    if "LineAmountTypes" in raw:
        draft.line_amount_types = str(raw["LineAmountTypes"])
        if draft.line_amount_types not in LINE_AMOUNT_TYPES:
            errors.append(msg.LINE_AMOUNT_TYPES_INVALID)
    if "Date" in raw:
        draft.day = optional_date(raw, "Date", errors) or draft.day
    if "DueDate" in raw:
        draft.due_day = optional_date(raw, "DueDate", errors)
    for key, attr in (("Reference", "reference"), ("Url", "url")):
        if key in raw:
            setattr(draft, attr, str(raw[key] or ""))
    if "SentToContact" in raw:
        draft.sent_to_contact = bool(raw["SentToContact"])
    if "LineItems" in raw:
        draft.line_items = _merge_lines(ctx, current.line_items, raw["LineItems"] or [], errors)
    number = raw.get("InvoiceNumber")
    if number and number != current.number:
        if org.invoice_by_number(str(number)) is not None:
            errors.append(msg.NUMBER_NOT_UNIQUE)
        draft.number = str(number)
    if new_status == "AUTHORISED" and draft.due_day is None:
        errors.append(msg.DUE_DATE_REQUIRED)
    if errors:
        raise ItemError(list(dict.fromkeys(errors)))
    if plan is not None:
        draft.contact_id = plan.resolve(ctx).contact_id
    draft.status = new_status
    compute_totals(org, draft)
    draft.updated = ctx.now
    if new_status != current.status and new_status in HISTORY_CHANGES:
        draft.history.append(HistoryRecord(ctx.now, HISTORY_CHANGES[new_status], "", ctx.user))
    else:
        draft.history.append(HistoryRecord(ctx.now, "Edited", "", ctx.user))
    org.invoices[draft.invoice_id] = draft
    ctx.event("INVOICE", "UPDATE", draft.invoice_id)
    return draft


def _merge_lines(
    ctx: WriteContext, old: list[LineItem], raw_lines: list[Any], errors: list[str]
) -> list[LineItem]:
    """Lines with a known LineItemID are updated, others added; lines left out are deleted."""
    by_id = {line.line_item_id: line for line in old}
    merged = []
    for raw in raw_lines:
        if not isinstance(raw, dict):
            continue
        previous = by_id.get(str(raw.get("LineItemID") or "").lower())
        merged.append(build_line(ctx.org, raw, previous, errors))
    if not merged:
        errors.append(msg.NO_LINE_ITEMS)
    return merged
