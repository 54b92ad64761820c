"""Invoice status as people read it, and the rule that status only moves forward."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

# Labels written to the deal's "Xero invoice status" select field, in lifecycle order.
STATUS_LABELS: tuple[str, ...] = (
    "Draft",
    "Awaiting approval",
    "Awaiting payment",
    "Part paid",
    "Paid",
    "Voided",
    "Deleted",
)

_BASE_LABEL = {
    "DRAFT": "Draft",
    "SUBMITTED": "Awaiting approval",
    "AUTHORISED": "Awaiting payment",
    "PAID": "Paid",
    "VOIDED": "Voided",
    "DELETED": "Deleted",
}

# Terminal states: an invoice in one of them never needs another deal.
CLOSED_STATUSES = frozenset({"VOIDED", "DELETED"})


def status_label(status: str, amount_paid: Decimal = Decimal("0")) -> str:
    """The label for a Xero status; AUTHORISED with something paid reads "Part paid"."""
    if status == "AUTHORISED" and amount_paid > 0:
        return "Part paid"
    return _BASE_LABEL.get(status, status.title())


def is_newer(current: datetime | None, candidate: datetime) -> bool:
    """True when `candidate` (Xero's UpdatedDateUTC) is strictly newer than what we hold."""
    return current is None or candidate > current


def allows_new_invoice(status: str | None) -> bool:
    """A deal may be invoiced again only when its last invoice was voided or deleted."""
    return status is None or status in CLOSED_STATUSES
