"""Payments move AmountPaid/AmountDue; the last one makes the invoice PAID (§2.10)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from . import messages as msg
from .formats import money, new_id, to_decimal
from .models import HistoryRecord, Invoice, Payment
from .writes import ItemError, WriteContext, optional_date


def write_payment(ctx: WriteContext, raw: dict[str, Any]) -> Payment:
    org = ctx.org
    errors: list[str] = []
    ref: dict[str, Any] = raw["Invoice"] if isinstance(raw.get("Invoice"), dict) else {}
    invoice: Invoice | None = None
    if ref.get("InvoiceID"):
        invoice = org.invoices.get(str(ref["InvoiceID"]).lower())
    elif ref.get("InvoiceNumber"):
        invoice = org.invoice_by_number(str(ref["InvoiceNumber"]))
    if invoice is None:
        raise ItemError([msg.INVOICE_NOT_FOUND])
    account_ref: dict[str, Any] = raw["Account"] if isinstance(raw.get("Account"), dict) else {}
    code = str(account_ref.get("Code") or "")
    if not code and account_ref.get("AccountID"):
        wanted = str(account_ref["AccountID"]).lower()
        code = next((a.code for a in org.accounts.values() if a.account_id == wanted), "")
    account = org.accounts.get(code)
    if account is None:
        errors.append(msg.ACCOUNT_INVALID)
    elif not (account.type == "BANK" or account.enable_payments):
        errors.append(msg.PAYMENT_ACCOUNT_INVALID)
    try:
        amount = to_decimal(raw.get("Amount"))
    except ValueError:
        amount = None
    if amount is None or amount <= 0:
        errors.append(msg.PAYMENT_AMOUNT_INVALID)
    day = optional_date(raw, "Date", errors) or ctx.today
    if invoice.status != "AUTHORISED":
        errors.append(msg.PAYMENT_NEEDS_AUTHORISED)
    elif amount is not None and money(amount) > invoice.amount_due:
        errors.append(msg.PAYMENT_TOO_BIG)
    if errors or amount is None:
        raise ItemError(errors)
    return apply_payment(ctx, invoice, money(amount), day, code, str(raw.get("Reference") or ""))


def apply_payment(
    ctx: WriteContext, invoice: Invoice, amount: Decimal, day: date, code: str, reference: str
) -> Payment:
    """Record a payment (also the path a person's "pay" in /_sim takes)."""
    payment = Payment(
        payment_id=new_id(),
        invoice_id=invoice.invoice_id,
        account_code=code,
        day=day,
        amount=amount,
        updated=ctx.now,
        reference=reference,
        currency_rate=invoice.currency_rate,
    )
    ctx.org.payments[payment.payment_id] = payment
    invoice.payment_ids.append(payment.payment_id)
    invoice.amount_paid = money(invoice.amount_paid + amount)
    invoice.history.append(
        HistoryRecord(ctx.now, "Payment Received", f"Payment received of {amount:.2f}.", ctx.user)
    )
    if invoice.amount_due <= 0:
        invoice.status = "PAID"
        invoice.fully_paid_on = day
    invoice.updated = ctx.now
    ctx.event("INVOICE", "UPDATE", invoice.invoice_id)
    return payment


def delete_payment(ctx: WriteContext, payment: Payment) -> Payment:
    """Reverse a payment: the invoice goes back to AUTHORISED with AmountDue restored."""
    if payment.status == "DELETED":
        return payment
    invoice = ctx.org.invoices[payment.invoice_id]
    payment.status = "DELETED"
    payment.updated = ctx.now
    invoice.amount_paid = money(invoice.amount_paid - payment.amount)
    if invoice.status == "PAID" and invoice.amount_due > 0:
        invoice.status = "AUTHORISED"
        invoice.fully_paid_on = None
    invoice.history.append(
        HistoryRecord(ctx.now, "Payment Deleted", f"Payment of {payment.amount:.2f}.", ctx.user)
    )
    invoice.updated = ctx.now
    ctx.event("INVOICE", "UPDATE", invoice.invoice_id)
    return payment
