"""XeroClient against the Xero simulator, every request checked against Xero's OpenAPI spec."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kommo_xero.sandbox.server import ServerHandle
from kommo_xero.sandbox.xero import DEFAULT_TENANT_ID
from kommo_xero.transport import ValidationFailed
from kommo_xero.xero.client import XeroClient
from kommo_xero.xero.models import ContactCreate, InvoiceContact, InvoiceCreate, LineItemCreate

from .conftest import sim_control


def _invoice(reference: str, **changes: object) -> InvoiceCreate:
    fields: dict[str, object] = {
        "contact": InvoiceContact(name="Acme Widgets Ltd", email_address="ap@acme.example"),
        "date": date(2026, 7, 20),
        "due_date": date(2026, 8, 19),
        "line_amount_types": "Exclusive",
        "reference": reference,
        "url": f"https://crm.example.com/deals/{reference}",
        "currency_code": "USD",
        "status": "AUTHORISED",
        "line_items": [
            LineItemCreate(
                description="Website redesign",
                quantity=Decimal("2"),
                unit_amount=Decimal("1250.25"),
                account_code="200",
                tax_type="NONE",
            )
        ],
    }
    fields.update(changes)
    return InvoiceCreate.model_validate(fields)


@pytest.mark.anyio
async def test_settings_reads(xero: XeroClient) -> None:
    """Organisation, currencies, accounts and tax rates come back typed."""
    organisation = await xero.get_organisation()
    assert organisation.base_currency == "USD"
    assert sorted(await xero.get_currencies()) == ["EUR", "GBP", "USD"]
    assert {"200", "090"} <= {a.code for a in await xero.get_accounts()}
    assert "NONE" in {t.tax_type for t in await xero.get_tax_rates()}
    assert xero.limits.day_remaining is not None and xero.limits.minute_remaining is not None


@pytest.mark.anyio
async def test_connections_list_the_consented_tenant(xero: XeroClient) -> None:
    """After consent the connection list holds the default organisation."""
    connections = await xero.list_connections()
    assert DEFAULT_TENANT_ID in {c.tenant_id for c in connections}


@pytest.mark.anyio
async def test_contacts_create_and_find(xero: XeroClient) -> None:
    """Batch contact creation reports a duplicate name per item; lookups find the contact."""
    results = await xero.create_contacts(
        [
            ContactCreate(name='Bob "The" Builder', email_address="bob@example.com"),
            ContactCreate(name="Acme Widgets Ltd", email_address="ap@acme.example"),
            ContactCreate(name='Bob "The" Builder'),
        ],
        idempotency_key="contacts-1",
    )
    assert [r.ok for r in results] == [True, True, False]
    assert results[2].errors and "already assigned" in results[2].errors[0]
    bob = results[0].item
    assert bob is not None and bob.contact_id
    assert [c.contact_id for c in await xero.find_contacts(email="bob@example.com")] == [
        bob.contact_id
    ]
    assert [c.contact_id for c in await xero.find_contacts(name='Bob "The" Builder')] == [
        bob.contact_id
    ]
    assert bob.contact_id in {c.contact_id for c in await xero.find_contacts(search_term="bob")}
    by_id = await xero.find_contacts(ids=[bob.contact_id])
    assert [c.name for c in by_id] == ['Bob "The" Builder']


@pytest.mark.anyio
async def test_invoice_batch_partial_failure_keeps_positions(xero: XeroClient) -> None:
    """A refused invoice in the middle of a batch is reported at its position; others save."""
    batch = [
        _invoice("deal-1"),
        _invoice("deal-2", currency_code="JPY"),  # not enabled in the organisation
        _invoice("deal-3", status="DRAFT"),
    ]
    results = await xero.create_invoices(batch, idempotency_key="batch-1")
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, False), (2, True)]
    assert results[1].errors
    saved = results[0].item
    assert saved is not None and saved.invoice_id and saved.invoice_number
    assert saved.total == Decimal("2500.50") and saved.status == "AUTHORISED"
    assert saved.date == date(2026, 7, 20) and saved.updated_date_utc is not None
    assert results[2].item is not None and results[2].item.reference == "deal-3"


@pytest.mark.anyio
async def test_same_idempotency_key_creates_once(xero: XeroClient) -> None:
    """Replaying a create with the same key returns the same invoice, not a duplicate."""
    first = await xero.create_invoices([_invoice("deal-9")], idempotency_key="deal-9:create")
    again = await xero.create_invoices([_invoice("deal-9")], idempotency_key="deal-9:create")
    assert first[0].item is not None and again[0].item is not None
    assert first[0].item.invoice_id == again[0].item.invoice_id
    page = await xero.get_invoices(search_term="deal-9")
    assert len(page.items) == 1


@pytest.mark.anyio
async def test_invoice_reads_and_queries(xero: XeroClient) -> None:
    """get_invoice, filtered get_invoices, iteration and ID chunks find the created invoices."""
    results = await xero.create_invoices(
        [_invoice(f"deal-{n}") for n in range(3)] + [_invoice("draft-1", status="DRAFT")],
        idempotency_key="reads-1",
    )
    ids = [r.item.invoice_id for r in results if r.item and r.item.invoice_id]
    assert len(ids) == 4
    one = await xero.get_invoice(ids[0])
    assert one is not None and one.line_items[0].unit_amount == Decimal("1250.25")
    assert one.contact is not None and one.contact.name == "Acme Widgets Ltd"
    assert await xero.get_invoice("00000000-0000-0000-0000-000000000001") is None
    authorised = await xero.get_invoices(statuses=["AUTHORISED"], created_by_my_app=True)
    assert {i.invoice_id for i in authorised.items} == set(ids[:3])
    assert not authorised.has_more
    numbers = [r.item.invoice_number for r in results if r.item and r.item.invoice_number]
    by_number = await xero.get_invoices(invoice_numbers=numbers[:1])
    assert [i.invoice_id for i in by_number.items] == ids[:1]
    drafts = await xero.get_invoices(where='Status=="DRAFT"')
    assert [i.reference for i in drafts.items] == ["draft-1"]
    assert {i.invoice_id async for i in xero.iter_invoices()} == set(ids)
    assert {i.invoice_id for i in await xero.get_invoices_by_ids(ids)} == set(ids)
    since = one.updated_date_utc
    assert since is not None
    later = await xero.get_invoices(modified_since=since + timedelta(hours=1))
    assert later.items == []


@pytest.mark.anyio
async def test_invoice_updates_links_and_history(xero: XeroClient) -> None:
    """Update, online URL, PDF, history note, void and draft deletion all work end to end."""
    results = await xero.create_invoices(
        [_invoice("deal-u"), _invoice("draft-u", status="DRAFT")], idempotency_key="upd-1"
    )
    invoice_id = results[0].item.invoice_id if results[0].item else None
    draft_id = results[1].item.invoice_id if results[1].item else None
    assert invoice_id and draft_id
    updated = await xero.update_invoice(
        invoice_id, {"Reference": "deal-u-renamed"}, idempotency_key="upd-2"
    )
    assert updated.reference == "deal-u-renamed"
    url = await xero.get_online_invoice_url(invoice_id)
    assert url and url.startswith("http")
    assert (await xero.get_invoice_pdf(invoice_id)).startswith(b"%PDF")
    await xero.add_invoice_history(invoice_id, "Created from Kommo deal 7", idempotency_key="h-1")
    voided = await xero.void_invoice(invoice_id, idempotency_key="void-1")
    assert voided.status == "VOIDED"
    deleted = await xero.delete_draft(draft_id, idempotency_key="del-1")
    assert deleted.status == "DELETED"


@pytest.mark.anyio
async def test_payments_move_invoice_to_paid(xero: XeroClient) -> None:
    """A part payment leaves the invoice AUTHORISED; paying the rest makes it PAID."""
    (result,) = await xero.create_invoices([_invoice("deal-p")], idempotency_key="pay-0")
    invoice_id = result.item.invoice_id if result.item else None
    assert invoice_id
    part = await xero.create_payment(
        invoice_id, "090", Decimal("500.50"), date(2026, 7, 25), idempotency_key="pay-1"
    )
    assert part.amount == Decimal("500.50") and part.payment_id
    after_part = await xero.get_invoice(invoice_id)
    assert after_part is not None and after_part.status == "AUTHORISED"
    assert after_part.amount_due == Decimal("2000.00")
    await xero.create_payment(
        invoice_id, "090", Decimal("2000.00"), date(2026, 7, 26), idempotency_key="pay-2"
    )
    paid = await xero.get_invoice(invoice_id)
    assert paid is not None and paid.status == "PAID" and paid.amount_due == Decimal("0")
    assert paid.fully_paid_on_date == date(2026, 7, 26)
    with pytest.raises(ValidationFailed) as caught:
        await xero.create_payment(
            invoice_id, "090", Decimal("1"), date(2026, 7, 27), idempotency_key="pay-3"
        )
    assert caught.value.errors


@pytest.mark.anyio
async def test_voiding_a_paid_invoice_is_a_validation_failure(xero: XeroClient) -> None:
    """Xero refuses to void a paid invoice; the client reports Xero's message."""
    (result,) = await xero.create_invoices([_invoice("deal-v")], idempotency_key="v-0")
    invoice_id = result.item.invoice_id if result.item else None
    assert invoice_id
    await xero.create_payment(
        invoice_id, "090", Decimal("2500.50"), date(2026, 7, 25), idempotency_key="v-1"
    )
    with pytest.raises(ValidationFailed) as caught:
        await xero.void_invoice(invoice_id, idempotency_key="v-2")
    assert caught.value.errors


@pytest.mark.anyio
async def test_short_429_is_waited_out(xero: XeroClient, simulator: ServerHandle) -> None:
    """A 429 with a short Retry-After is retried transparently."""
    await sim_control(
        simulator,
        "POST",
        "/faults",
        {
            "route": "GET /api.xro/2.0/Currencies",
            "status": 429,
            "error_rate": 1.0,
            "retry_after": 0,
            "times": 1,
        },
    )
    assert "USD" in await xero.get_currencies()
