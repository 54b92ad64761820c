"""The records an organisation holds. Plain dataclasses: the simulator's state is in memory."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from .config import SimAccount, SimTaxRate, SimTenant


@dataclass
class Contact:
    contact_id: str
    name: str
    updated: datetime
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    contact_number: str = ""
    account_number: str = ""
    status: str = "ACTIVE"
    default_currency: str = ""
    is_customer: bool = False
    is_supplier: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # fields we only store and echo back


@dataclass
class LineItem:
    line_item_id: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    line_amount: Decimal
    tax_amount: Decimal
    account_code: str = ""
    tax_type: str = ""
    item_code: str = ""
    discount_rate: Decimal | None = None
    tracking: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class HistoryRecord:
    when: datetime
    changes: str
    details: str
    user: str = "System Generated"


@dataclass
class Attachment:
    attachment_id: str
    file_name: str
    mime_type: str
    content: bytes
    include_online: bool = False


@dataclass
class Invoice:
    invoice_id: str
    type: str
    number: str
    contact_id: str
    day: date
    status: str
    line_amount_types: str
    currency_code: str
    updated: datetime
    due_day: date | None = None
    reference: str = ""
    url: str = ""
    currency_rate: Decimal = Decimal("1")
    line_items: list[LineItem] = field(default_factory=list)
    sub_total: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    amount_paid: Decimal = Decimal("0")
    amount_credited: Decimal = Decimal("0")
    fully_paid_on: date | None = None
    sent_to_contact: bool = False
    created_by_client: str | None = None  # client_id of the app that created it, None = by hand
    payment_ids: list[str] = field(default_factory=list)
    history: list[HistoryRecord] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    online_token: str = ""

    @property
    def amount_due(self) -> Decimal:
        return self.total - self.amount_paid - self.amount_credited


@dataclass
class Payment:
    payment_id: str
    invoice_id: str
    account_code: str
    day: date
    amount: Decimal
    updated: datetime
    reference: str = ""
    status: str = "AUTHORISED"
    currency_rate: Decimal = Decimal("1")


@dataclass
class Org:
    """One tenant: settings from its SimTenant plus the records created since start."""

    tenant: SimTenant
    created: datetime
    currencies: list[str] = field(default_factory=list)
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    tax_rates: dict[str, SimTaxRate] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    next_invoice_number: int = 1

    @classmethod
    def from_tenant(cls, tenant: SimTenant, now: datetime) -> Org:
        return cls(
            tenant=tenant,
            created=now,
            currencies=list(tenant.currencies),
            accounts={a.code: a for a in tenant.accounts},
            tax_rates={t.tax_type: t for t in tenant.tax_rates},
        )

    @property
    def tenant_id(self) -> str:
        return self.tenant.tenant_id

    def take_invoice_number(self) -> str:
        while True:
            number = f"{self.tenant.invoice_prefix}{self.next_invoice_number:04d}"
            self.next_invoice_number += 1
            if self.invoice_by_number(number) is None:
                return number

    def invoice_by_number(self, number: str) -> Invoice | None:
        for invoice in self.invoices.values():
            if invoice.number == number and invoice.type == "ACCREC":
                return invoice
        return None

    def find_invoice(self, key: str) -> Invoice | None:
        """By InvoiceID, or by InvoiceNumber (Xero accepts either in the path)."""
        return self.invoices.get(key.lower()) or self.invoice_by_number(key)

    def active_contact_named(self, name: str) -> Contact | None:
        wanted = name.strip().casefold()
        for contact in self.contacts.values():
            if contact.status == "ACTIVE" and contact.name.strip().casefold() == wanted:
                return contact
        return None

    def contact_by_number(self, number: str) -> Contact | None:
        for contact in self.contacts.values():
            if number and contact.contact_number == number:
                return contact
        return None
