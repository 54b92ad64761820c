"""Records → JSON exactly as Xero writes them (casing, dates, amounts, filled-in blanks)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .formats import CENT, FOUR_DP, date_string, ms_date, ms_datetime, num, utc_string
from .models import Contact, HistoryRecord, Invoice, LineItem, Org, Payment

_ADDRESS_TYPES = ("STREET", "POBOX")
_PHONE_TYPES = ("DEFAULT", "DDI", "FAX", "MOBILE")


def contact_json(contact: Contact, *, summary: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ContactID": contact.contact_id,
        "ContactStatus": contact.status,
        "Name": contact.name,
        "EmailAddress": contact.email,
        "UpdatedDateUTC": ms_datetime(contact.updated),
        "ContactGroups": [],
        "HasValidationErrors": False,
    }
    for key, value in (
        ("ContactNumber", contact.contact_number),
        ("AccountNumber", contact.account_number),
        ("FirstName", contact.first_name),
        ("LastName", contact.last_name),
        ("DefaultCurrency", contact.default_currency),
    ):
        if value:
            body[key] = value
    if summary:
        return body
    addresses = contact.extra.get("Addresses") or []
    phones = contact.extra.get("Phones") or []
    # Xero answers with an empty STREET/POBOX address and four empty phones when none were given.
    body["Addresses"] = addresses or [{"AddressType": kind} for kind in _ADDRESS_TYPES]
    body["Phones"] = phones or [
        {"PhoneType": kind, "PhoneNumber": "", "PhoneAreaCode": "", "PhoneCountryCode": ""}
        for kind in _PHONE_TYPES
    ]
    body["ContactPersons"] = contact.extra.get("ContactPersons") or []
    body["IsSupplier"] = contact.is_supplier
    body["IsCustomer"] = contact.is_customer
    for key in ("TaxNumber", "Website", "CompanyNumber"):
        if contact.extra.get(key):
            body[key] = contact.extra[key]
    return body


def line_json(line: LineItem, unitdp: int) -> dict[str, Any]:
    places = FOUR_DP if unitdp == 4 else CENT
    body: dict[str, Any] = {
        "LineItemID": line.line_item_id,
        "Description": line.description,
        "Quantity": num(line.quantity, FOUR_DP),
        "UnitAmount": num(line.unit_amount, places),
        "TaxType": line.tax_type,
        "TaxAmount": num(line.tax_amount),
        "LineAmount": num(line.line_amount),
        "AccountCode": line.account_code,
        "Tracking": line.tracking,
        "ValidationErrors": [],
    }
    if line.item_code:
        body["ItemCode"] = line.item_code
    if line.discount_rate is not None:
        body["DiscountRate"] = num(line.discount_rate)
    return body


def payment_summary(payment: Payment) -> dict[str, Any]:
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.day),
        "Amount": num(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": num(payment.currency_rate, Decimal("0.000001")),
        "HasAccount": True,
        "HasValidationErrors": False,
    }


def invoice_json(
    org: Org, invoice: Invoice, *, unitdp: int = 2, summary: bool = False, lines: bool = True
) -> dict[str, Any]:
    contact = org.contacts.get(invoice.contact_id)
    body: dict[str, Any] = {
        "Type": invoice.type,
        "InvoiceID": invoice.invoice_id,
        "InvoiceNumber": invoice.number,
        "Reference": invoice.reference,
        "Prepayments": [],
        "Overpayments": [],
        "AmountDue": num(invoice.amount_due),
        "AmountPaid": num(invoice.amount_paid),
        "AmountCredited": num(invoice.amount_credited),
        "SentToContact": invoice.sent_to_contact,
        "CurrencyRate": num(invoice.currency_rate, Decimal("0.000001")),
        "IsDiscounted": any(line.discount_rate for line in invoice.line_items),
        "HasAttachments": bool(invoice.attachments),
        "HasErrors": False,
        "Contact": contact_json(contact, summary=summary) if contact else {},
        "DateString": date_string(invoice.day),
        "Date": ms_date(invoice.day),
        "Status": invoice.status,
        "LineAmountTypes": invoice.line_amount_types,
        "SubTotal": num(invoice.sub_total),
        "TotalTax": num(invoice.total_tax),
        "Total": num(invoice.total),
        "UpdatedDateUTC": ms_datetime(invoice.updated),
        "UpdatedDateUTCString": utc_string(invoice.updated),
        "CurrencyCode": invoice.currency_code,
    }
    if invoice.due_day is not None:
        body["DueDateString"] = date_string(invoice.due_day)
        body["DueDate"] = ms_date(invoice.due_day)
    if invoice.fully_paid_on is not None:
        body["FullyPaidOnDate"] = ms_date(invoice.fully_paid_on)
    if invoice.url:
        body["Url"] = invoice.url
    if summary:
        return body
    body["Payments"] = [
        payment_summary(org.payments[pid])
        for pid in invoice.payment_ids
        if org.payments[pid].status == "AUTHORISED"
    ]
    body["CreditNotes"] = []
    if lines:
        body["LineItems"] = [line_json(line, unitdp) for line in invoice.line_items]
    return body


def payment_json(org: Org, payment: Payment) -> dict[str, Any]:
    invoice = org.invoices[payment.invoice_id]
    account = org.accounts.get(payment.account_code)
    contact = org.contacts.get(invoice.contact_id)
    return {
        "PaymentID": payment.payment_id,
        "Date": ms_date(payment.day),
        "BankAmount": num(payment.amount),
        "Amount": num(payment.amount),
        "Reference": payment.reference,
        "CurrencyRate": num(payment.currency_rate, Decimal("0.000001")),
        "PaymentType": "ACCRECPAYMENT" if invoice.type == "ACCREC" else "ACCPAYPAYMENT",
        "Status": payment.status,
        "UpdatedDateUTC": ms_datetime(payment.updated),
        "UpdatedDateUTCString": utc_string(payment.updated),
        "HasAccount": True,
        "IsReconciled": False,
        "Account": {
            "AccountID": account.account_id if account else "",
            "Code": payment.account_code,
            "Name": account.name if account else "",
        },
        "Invoice": {
            "Type": invoice.type,
            "InvoiceID": invoice.invoice_id,
            "InvoiceNumber": invoice.number,
            "Contact": contact_json(contact, summary=True) if contact else {},
            "AmountDue": num(invoice.amount_due),
            "AmountPaid": num(invoice.amount_paid),
            "Status": invoice.status,
            "CurrencyCode": invoice.currency_code,
        },
        "HasValidationErrors": False,
    }


def history_json(record: HistoryRecord) -> dict[str, Any]:
    return {
        "Changes": record.changes,
        "DateUTCString": record.when.strftime("%Y-%m-%dT%H:%M:%S"),
        "DateUTC": ms_datetime(record.when),
        "User": record.user,
        "Details": record.details,
    }
