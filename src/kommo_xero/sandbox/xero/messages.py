"""Validation messages. Those marked "Xero" are Xero's own wording (reference §2.3, §2.10, §3);
the others are ours where Xero's exact text is not known (listed in docs/sandbox-xero.md)."""

from __future__ import annotations

# Xero's own wording
CONTACT_MISSING = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)
NUMBER_NOT_UNIQUE = "Invoice # must be unique."
ACCOUNT_INVALID = "Account must be valid."
TAX_RATE_INVALID = "Tax rate must be valid."
NOT_MODIFIABLE = "Invoice not of valid status for modification"
HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."
INVOICE_NOT_FOUND = "An existing invoice with the specified ID could not be found"
PAYMENT_TOO_BIG = "Payment amount exceeds the amount outstanding on this document"
DOCUMENT_NOT_FOUND = "The document with the supplied id was not found for this endpoint."


def contact_name_taken(name: str) -> str:
    return (
        f"The contact name {name} is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )


# Our wording (Xero's is not known)
NO_LINE_ITEMS = "Invoices must have at least one line item."
TYPE_INVALID = "Invoice Type must be ACCREC or ACCPAY."
DUE_DATE_REQUIRED = "Due Date is required for an AUTHORISED invoice."
LINE_AMOUNT_TYPES_INVALID = "LineAmountTypes must be Exclusive, Inclusive or NoTax."
CONTACT_ID_UNKNOWN = "The contact with the specified ContactID could not be found."
CONTACT_ARCHIVED = (
    "The contact with the specified contact details has been archived. The contact must be "
    "un-archived before creating new invoices or credit notes."
)
CONTACT_NUMBER_TAKEN = "Another contact has this contact number. Contact numbers must be unique."
CONTACT_NAME_REQUIRED = "The contact name must be specified."
INVOICE_ID_EXISTS = "An invoice with this InvoiceID already exists; PUT only creates (use POST)."
PAYMENT_NEEDS_AUTHORISED = "Payment can only be made against approved (AUTHORISED) invoices."
PAYMENT_ACCOUNT_INVALID = (
    "Payments can only be made to BANK accounts or accounts with payments enabled."
)
PAYMENT_AMOUNT_INVALID = "Payment amount must be greater than zero."
ONLINE_INVOICE_DRAFT = "Online invoices are not available for DRAFT or SUBMITTED invoices."


def currency_not_enabled(code: str) -> str:
    return f"The currency {code} is not enabled for this organisation."


def invalid_date(field: str) -> str:
    return f"{field} is not a valid date."


def invalid_status(status: str) -> str:
    return f"Status {status} is not a valid invoice status."
