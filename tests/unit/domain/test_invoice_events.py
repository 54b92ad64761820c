"""What an invoice change means for its deal: notes, forward-only, deal creation rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from kommo_xero.domain.invoice_events import (
    InvoiceFacts,
    change_note,
    closes_link,
    deal_name,
    should_apply,
    stage_move,
    wants_deal,
)

T0 = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)

APPROVED = InvoiceFacts(
    invoice_id="0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11",
    number="INV-0042",
    type="ACCREC",
    status="AUTHORISED",
    currency="USD",
    total=Decimal("1200.00"),
    amount_due=Decimal("1200.00"),
    amount_paid=Decimal("0"),
    updated_at=T0,
    contact_name="ACME Ltd",
)
PART_PAID = replace(
    APPROVED,
    amount_due=Decimal("700.00"),
    amount_paid=Decimal("500.00"),
    updated_at=T0 + timedelta(hours=1),
)
PAID = replace(
    APPROVED,
    status="PAID",
    amount_due=Decimal("0"),
    amount_paid=Decimal("1200.00"),
    fully_paid_on=date(2026, 11, 27),
    updated_at=T0 + timedelta(hours=2),
)


def test_part_payment_note_names_the_payment_and_what_is_still_due() -> None:
    """A part payment reads "Part payment 500.00 USD, 700.00 USD still due"."""
    note = change_note(APPROVED, PART_PAID)
    assert note is not None and note.startswith("Part payment 500.00 USD, 700.00 USD still due")


def test_second_part_payment_counts_only_the_new_money() -> None:
    """The note shows the amount of this payment, not the running total."""
    more = replace(PART_PAID, amount_paid=Decimal("800.00"), amount_due=Decimal("400.00"))
    note = change_note(PART_PAID, more)
    assert note is not None and note.startswith("Part payment 300.00 USD, 400.00 USD still due")


def test_full_payment_note_gives_the_day_it_was_paid() -> None:
    """A paid invoice reads "Paid in full on 27 Nov 2026"."""
    note = change_note(PART_PAID, PAID)
    assert note is not None and note.startswith("Paid in full on 27 Nov 2026")


def test_void_and_delete_have_their_own_notes() -> None:
    """Voiding and deleting a draft each say what happened to the invoice."""
    voided = change_note(APPROVED, replace(APPROVED, status="VOIDED"))
    draft = replace(APPROVED, status="DRAFT")
    deleted = change_note(draft, replace(draft, status="DELETED"))
    assert voided is not None and "voided" in voided
    assert deleted is not None and "deleted" in deleted


def test_approval_of_a_draft_is_noted_but_a_repeat_is_not() -> None:
    """DRAFT → AUTHORISED gets a note; the same state again gets none."""
    draft = replace(APPROVED, status="DRAFT")
    approved_note = change_note(draft, APPROVED)
    assert approved_note is not None and "awaiting payment" in approved_note
    assert change_note(APPROVED, replace(APPROVED, updated_at=T0 + timedelta(1))) is None


def test_a_removed_payment_is_explained() -> None:
    """PAID back to AUTHORISED (a payment deleted in Xero) says the money is due again."""
    note = change_note(PAID, replace(PART_PAID, updated_at=T0 + timedelta(hours=3)))
    assert note is not None and "removed" in note and "700.00 USD" in note


def test_status_moves_forward_only_on_newer_updated_dates() -> None:
    """A state is applied only when Xero's UpdatedDateUTC is strictly newer than ours."""
    assert should_apply(None, T0)
    assert should_apply(T0, T0 + timedelta(milliseconds=1))
    assert not should_apply(T0, T0)
    assert not should_apply(T0 + timedelta(seconds=5), T0)


def test_naive_stored_times_are_read_as_utc() -> None:
    """A timestamp stored without a zone (SQLite) compares as UTC."""
    assert not should_apply(T0.replace(tzinfo=None), T0)
    assert should_apply(T0.replace(tzinfo=None), T0 + timedelta(seconds=1))


@pytest.mark.parametrize(
    ("status", "create_on", "wanted"),
    [
        ("DRAFT", "approved", False),
        ("SUBMITTED", "approved", False),
        ("AUTHORISED", "approved", True),
        ("PAID", "approved", True),
        ("DRAFT", "created", True),
        ("VOIDED", "created", False),
        ("DELETED", "approved", False),
    ],
)
def test_hand_made_invoice_becomes_a_deal_per_the_setting(
    status: str, create_on: str, wanted: bool
) -> None:
    """Drafts make a deal only with create_deals_on="created"; dead invoices never do."""
    assert wants_deal(replace(APPROVED, status=status), create_on) is wanted  # type: ignore[arg-type]


def test_bills_never_become_deals() -> None:
    """A purchase bill (ACCPAY) is not a sale: no deal."""
    assert not wants_deal(replace(APPROVED, type="ACCPAY"), "created")


def test_deal_is_named_after_invoice_and_client() -> None:
    """The new deal reads "INV-0042 ACME Ltd"."""
    assert deal_name(APPROVED) == "INV-0042 ACME Ltd"


def test_paid_and_voided_move_stages_and_closed_statuses_free_the_deal() -> None:
    """PAID/VOIDED map to the configured stages; VOIDED/DELETED close the link."""
    assert stage_move("PAID") == "paid"
    assert stage_move("VOIDED") == "voided"
    assert stage_move("AUTHORISED") is None
    assert closes_link("VOIDED") and closes_link("DELETED") and not closes_link("PAID")
