"""Typed views of the Xero objects the integration reads and writes.

Only the fields the product uses are declared; anything else Xero sends is ignored, so new
fields on Xero's side never break parsing. Money is `Decimal`, dates are `date`, timestamps
are aware `datetime`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer
from pydantic.alias_generators import to_camel

from kommo_xero.xero.dates import format_request_date, parse_xero_date, parse_xero_datetime

# Words Xero spells in capitals inside PascalCase names (InvoiceID, UpdatedDateUTC).
_UPPER_WORDS = {"id": "ID", "utc": "UTC"}


def to_xero_name(name: str) -> str:
    """`invoice_id` → `InvoiceID`, `updated_date_utc` → `UpdatedDateUTC`, `url` → `Url`."""
    return "".join(_UPPER_WORDS.get(part, part.capitalize()) for part in name.split("_"))


def _messages(value: Any) -> list[str]:
    """Xero wraps each message as `{"Message": "..."}`; keep just the text."""
    if not value:
        return []
    return [item["Message"] if isinstance(item, dict) else str(item) for item in value]


def _optional(parser: Any) -> Any:
    return lambda value: None if value in (None, "") else parser(value)


XeroDate = Annotated[
    date,
    BeforeValidator(_optional(parse_xero_date)),
    PlainSerializer(format_request_date, when_used="json"),
]
XeroDateTime = Annotated[datetime, BeforeValidator(_optional(parse_xero_datetime))]
Messages = Annotated[list[str], BeforeValidator(_messages)]


class XeroModel(BaseModel):
    """PascalCase on the wire, snake_case in Python, tolerant of unknown fields."""

    model_config = ConfigDict(
        alias_generator=to_xero_name, populate_by_name=True, extra="ignore", frozen=True
    )


class Organisation(XeroModel):
    organisation_id: str | None = None
    name: str
    legal_name: str | None = None
    base_currency: str
    country_code: str | None = None
    short_code: str | None = None
    timezone: str | None = None


class Account(XeroModel):
    account_id: str | None = None
    code: str | None = None
    name: str | None = None
    type: str | None = None
    status: str | None = None
    tax_type: str | None = None
    enable_payments_to_account: bool | None = None


class TaxRate(XeroModel):
    name: str | None = None
    tax_type: str
    status: str | None = None
    effective_rate: Decimal | None = None
    display_tax_rate: Decimal | None = None


class Contact(XeroModel):
    contact_id: str | None = None
    name: str | None = None
    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    contact_number: str | None = None
    contact_status: str | None = None
    default_currency: str | None = None
    updated_date_utc: XeroDateTime | None = None
    has_validation_errors: bool = False
    validation_errors: Messages = Field(default_factory=list)


class LineItem(XeroModel):
    line_item_id: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_amount: Decimal | None = None
    line_amount: Decimal | None = None
    tax_amount: Decimal | None = None
    account_code: str | None = None
    tax_type: str | None = None
    item_code: str | None = None
    validation_errors: Messages = Field(default_factory=list)


class AccountRef(XeroModel):
    account_id: str | None = None
    code: str | None = None
    name: str | None = None


class InvoiceRef(XeroModel):
    invoice_id: str | None = None
    invoice_number: str | None = None
    status: str | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None


class Payment(XeroModel):
    payment_id: str | None = None
    date: XeroDate | None = None
    amount: Decimal | None = None
    reference: str | None = None
    status: str | None = None
    payment_type: str | None = None
    currency_rate: Decimal | None = None
    account: AccountRef | None = None
    invoice: InvoiceRef | None = None
    updated_date_utc: XeroDateTime | None = None


class Invoice(XeroModel):
    invoice_id: str | None = None
    invoice_number: str | None = None
    type: str | None = None
    status: str | None = None
    contact: Contact | None = None
    date: XeroDate | None = None
    due_date: XeroDate | None = None
    currency_code: str | None = None
    line_amount_types: str | None = None
    sub_total: Decimal | None = None
    total_tax: Decimal | None = None
    total: Decimal | None = None
    amount_due: Decimal | None = None
    amount_paid: Decimal | None = None
    amount_credited: Decimal | None = None
    fully_paid_on_date: XeroDate | None = None
    updated_date_utc: XeroDateTime | None = None
    reference: str | None = None
    url: str | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    payments: list[Payment] = Field(default_factory=list)
    has_errors: bool = False
    validation_errors: Messages = Field(default_factory=list)
    warnings: Messages = Field(default_factory=list)
    status_attribute_string: str | None = None


class Connection(BaseModel):
    """One organisation the app is connected to (identity API, camelCase on the wire)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )

    id: str
    tenant_id: str
    tenant_type: str | None = None
    tenant_name: str | None = None
    auth_event_id: str | None = None
    created_date_utc: XeroDateTime | None = None
    updated_date_utc: XeroDateTime | None = None


# --- request bodies ---------------------------------------------------------------------


class ContactCreate(XeroModel):
    name: str
    email_address: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    contact_number: str | None = None
    default_currency: str | None = None


class InvoiceContact(XeroModel):
    """Identifies the invoice's contact: by `contact_id`, or by name (Xero creates it if new)."""

    contact_id: str | None = None
    name: str | None = None
    email_address: str | None = None


class LineItemCreate(XeroModel):
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str | None = None
    tax_type: str | None = None
    item_code: str | None = None


class InvoiceCreate(XeroModel):
    type: Literal["ACCREC", "ACCPAY"] = "ACCREC"
    contact: InvoiceContact
    line_items: list[LineItemCreate]
    date: XeroDate | None = None
    due_date: XeroDate | None = None
    line_amount_types: Literal["Exclusive", "Inclusive", "NoTax"] | None = None
    reference: str | None = None
    url: str | None = None
    currency_code: str | None = None
    status: Literal["DRAFT", "SUBMITTED", "AUTHORISED"] | None = None
    invoice_number: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class ItemResult(Generic[T]):
    """Outcome of one element of a batch write, at `index` in the request."""

    index: int
    ok: bool
    item: T | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class InvoicePage:
    items: list[Invoice]
    page: int
    page_size: int | None = None
    page_count: int | None = None
    item_count: int | None = None

    @property
    def has_more(self) -> bool:
        """Whether a next page may hold more invoices."""
        if self.page_count is not None:
            return self.page < self.page_count
        return bool(self.items) and len(self.items) >= (self.page_size or 100)


@dataclass(frozen=True)
class XeroLimits:
    """The rate-limit headers of the latest response (None until one has been seen)."""

    day_remaining: int | None = None
    minute_remaining: int | None = None
    app_minute_remaining: int | None = None
    observed_at: datetime | None = None
