"""What the integration knows about a deal, an invoice and the organisation: plain values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum


class PartyKind(StrEnum):
    contact = "contact"
    company = "company"


@dataclass(frozen=True)
class Party:
    """Who is billed: a Kommo contact or company."""

    kind: PartyKind
    kommo_id: int
    name: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ProductLine:
    """A catalog product linked to the deal, with its quantity."""

    name: str
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None


@dataclass(frozen=True)
class Deal:
    """A Kommo lead as the flow needs it, re-read from the API (never from a webhook body)."""

    lead_id: int
    name: str
    price: Decimal
    pipeline_id: int
    status_id: int
    url: str
    currency: str | None = None
    description: str | None = None
    due_date: date | None = None
    contact: Party | None = None
    company: Party | None = None
    products: tuple[ProductLine, ...] = ()


@dataclass(frozen=True)
class Organisation:
    """The Xero organisation facts that decide whether an invoice can be made."""

    name: str
    base_currency: str
    currencies: frozenset[str]
    account_codes: frozenset[str]
    tax_types: frozenset[str]


@dataclass(frozen=True)
class PlannedLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str
    item_code: str | None = None

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_amount).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class InvoicePlan:
    """The sales invoice that a deal should become."""

    lead_id: int
    bill_to: Party
    currency: str
    lines: tuple[PlannedLine, ...]
    issue_date: date
    due_date: date
    reference: str
    url: str
    status: str
    line_amount_types: str

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0"))


@dataclass(frozen=True)
class Problem:
    """Why a deal cannot become an invoice, in plain words, and what to do about it."""

    code: str
    message: str
    fix: str

    def as_text(self) -> str:
        return f"{self.message} To fix: {self.fix}"
