"""What a change to a Xero invoice means for its deal: the label, the note, the stage, and
whether a hand-made invoice should become a deal at all. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal

from kommo_xero.domain.status import CLOSED_STATUSES, is_newer, status_label

CreateOn = Literal["created", "approved"]
StageMove = Literal["paid", "voided"]


@dataclass(frozen=True)
class InvoiceFacts:
    """The invoice as last read from Xero, as far as the deal cares."""

    invoice_id: str
    number: str | None
    type: str  # ACCREC (sales) or ACCPAY (bills)
    status: str
    currency: str
    total: Decimal
    amount_due: Decimal
    amount_paid: Decimal
    updated_at: datetime
    fully_paid_on: date | None = None
    contact_name: str | None = None

    @property
    def label(self) -> str:
        return status_label(self.status, self.amount_paid)

    @property
    def display_number(self) -> str:
        return self.number or self.invoice_id[:8]


def as_utc(moment: datetime) -> datetime:
    """Stored timestamps may come back without a zone (SQLite); they are UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def should_apply(held: datetime | None, read: datetime) -> bool:
    """Forward only: a state is applied only when Xero's UpdatedDateUTC is newer than ours."""
    return is_newer(as_utc(held) if held else None, as_utc(read))


def money(amount: Decimal, currency: str) -> str:
    return f"{amount.quantize(Decimal('0.01')):,.2f} {currency}"


def long_date(day: date) -> str:
    return f"{day.day} {day.strftime('%b %Y')}"


# (previous facts or None, current facts) → the note, per current status. A repeat of the same
# state never gets here (should_apply), so each note marks one real change.
def _paid(before: InvoiceFacts | None, now: InvoiceFacts) -> str | None:
    on = now.fully_paid_on or now.updated_at.date()
    return f"Paid in full on {long_date(on)} (invoice {now.display_number})."


def _authorised(before: InvoiceFacts | None, now: InvoiceFacts) -> str | None:
    paid_before = before.amount_paid if before else Decimal("0")
    if now.amount_paid > paid_before:
        part = now.amount_paid - paid_before
        return (
            f"Part payment {money(part, now.currency)}, "
            f"{money(now.amount_due, now.currency)} still due (invoice {now.display_number})."
        )
    if now.amount_paid < paid_before:
        return (
            f"A payment was removed in Xero: {money(now.amount_due, now.currency)} due again "
            f"(invoice {now.display_number})."
        )
    if before is None or before.status in ("DRAFT", "SUBMITTED"):
        return (
            f"Invoice {now.display_number} approved in Xero: "
            f"{money(now.amount_due, now.currency)} awaiting payment."
        )
    return None


def _voided(before: InvoiceFacts | None, now: InvoiceFacts) -> str | None:
    return f"Invoice {now.display_number} was voided in Xero; nothing is owed on it."


def _deleted(before: InvoiceFacts | None, now: InvoiceFacts) -> str | None:
    return f"Draft invoice {now.display_number} was deleted in Xero."


_NOTES: dict[str, Callable[[InvoiceFacts | None, InvoiceFacts], str | None]] = {
    "PAID": _paid,
    "AUTHORISED": _authorised,
    "VOIDED": _voided,
    "DELETED": _deleted,
}


def change_note(before: InvoiceFacts | None, now: InvoiceFacts) -> str | None:
    """The note for the deal, or None when nothing worth telling a salesperson changed."""
    if before is not None and (before.status, before.amount_paid) == (now.status, now.amount_paid):
        return None
    rule = _NOTES.get(now.status)
    return rule(before, now) if rule else None


_STAGE_MOVES: dict[str, StageMove] = {"PAID": "paid", "VOIDED": "voided"}


def stage_move(status: str) -> StageMove | None:
    """Which configured stage (if any) a deal moves to for this status."""
    return _STAGE_MOVES.get(status)


def closes_link(status: str) -> bool:
    """A voided or deleted invoice frees the deal to be invoiced again."""
    return status in CLOSED_STATUSES


_WANTS_DEAL: dict[CreateOn, frozenset[str]] = {
    "created": frozenset({"DRAFT", "SUBMITTED", "AUTHORISED", "PAID"}),
    "approved": frozenset({"AUTHORISED", "PAID"}),
}


def wants_deal(facts: InvoiceFacts, create_on: CreateOn) -> bool:
    """Should this hand-made invoice become a deal now? Sales invoices only, per the setting."""
    return facts.type == "ACCREC" and facts.status in _WANTS_DEAL[create_on]


def deal_name(facts: InvoiceFacts) -> str:
    """ "INV-0042 ACME Ltd": the invoice number, then the client."""
    return " ".join(p for p in (facts.display_number, facts.contact_name) if p)[:255]
