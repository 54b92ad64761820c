"""XeroClient writes: request shape, Idempotency-Key, batch results."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest

from kommo_xero.transport import ValidationFailed
from kommo_xero.xero.client import XeroClient
from kommo_xero.xero.models import ContactCreate, InvoiceContact, InvoiceCreate, LineItemCreate

from .conftest import ScriptedXero, xero_json

INVOICE_ID = "0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11"


def _invoice(reference: str = "CRM-DEAL-48213", **extra: object) -> InvoiceCreate:
    return InvoiceCreate(
        contact=InvoiceContact(name="Acme Widgets Ltd", email_address="ap@acme.example"),
        date=date(2026, 7, 20),
        due_date=date(2026, 8, 19),
        line_amount_types="Exclusive",
        reference=reference,
        url="https://crm.example.com/deals/48213",
        currency_code="USD",
        status="AUTHORISED",
        line_items=[
            LineItemCreate(
                description="Website redesign - phase 1",
                quantity=Decimal("1"),
                unit_amount=Decimal("4500.10"),
                account_code="200",
                tax_type="NONE",
            )
        ],
        **extra,  # type: ignore[arg-type]
    )


def _saved(reference: str, number: str) -> dict[str, object]:
    return {
        "InvoiceID": INVOICE_ID,
        "InvoiceNumber": number,
        "Type": "ACCREC",
        "Reference": reference,
        "Status": "AUTHORISED",
        "Total": 4500.10,
        "HasErrors": False,
        "StatusAttributeString": "OK",
    }


@pytest.mark.anyio
async def test_invoice_request_matches_the_documented_shape_without_nulls(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """PUT /Invoices?summarizeErrors=false sends exactly the spec's fields, dates as YYYY-MM-DD."""
    xero.on(
        "PUT", "/api.xro/2.0/Invoices", xero_json({"Invoices": [_saved("CRM-DEAL-48213", "1")]})
    )
    async with make_client() as client:
        await client.create_invoices([_invoice()], idempotency_key="deal-48213:create")
    (request,) = xero.sent("PUT", "/api.xro/2.0/Invoices")
    assert request.url.params["summarizeErrors"] == "false"
    assert request.headers["Content-Type"] == "application/json"
    assert ScriptedXero.body(request) == {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"Name": "Acme Widgets Ltd", "EmailAddress": "ap@acme.example"},
                "LineItems": [
                    {
                        "Description": "Website redesign - phase 1",
                        "Quantity": 1,
                        "UnitAmount": 4500.10,
                        "AccountCode": "200",
                        "TaxType": "NONE",
                    }
                ],
                "Date": "2026-07-20",
                "DueDate": "2026-08-19",
                "LineAmountTypes": "Exclusive",
                "Reference": "CRM-DEAL-48213",
                "Url": "https://crm.example.com/deals/48213",
                "CurrencyCode": "USD",
                "Status": "AUTHORISED",
            }
        ]
    }
    assert b"null" not in request.content


@pytest.mark.anyio
async def test_contact_by_id_sends_only_the_id(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """An invoice for a known contact names it by ContactID alone."""
    xero.on("PUT", "/api.xro/2.0/Invoices", xero_json({"Invoices": [_saved("R", "1")]}))
    invoice = _invoice().model_copy(update={"contact": InvoiceContact(contact_id="c-1")})
    async with make_client() as client:
        await client.create_invoices([invoice], idempotency_key="k")
    body = ScriptedXero.body(xero.requests[0])
    assert body["Invoices"][0]["Contact"] == {"ContactID": "c-1"}


@pytest.mark.anyio
async def test_every_write_carries_the_idempotency_key(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Each PUT/POST the client makes has the caller's Idempotency-Key header."""
    invoice_path = f"/api.xro/2.0/Invoices/{INVOICE_ID}"
    xero.on("PUT", "/api.xro/2.0/Invoices", xero_json({"Invoices": [_saved("R", "1")]}))
    xero.on("PUT", "/api.xro/2.0/Contacts", xero_json({"Contacts": [{"ContactID": "c"}]}))
    xero.on("POST", invoice_path, xero_json({"Invoices": [_saved("R", "1")]}))
    xero.on("PUT", f"{invoice_path}/History", xero_json({"HistoryRecords": [{"Details": "x"}]}))
    xero.on("PUT", "/api.xro/2.0/Payments", xero_json({"Payments": [{"PaymentID": "p"}]}))
    async with make_client() as client:
        await client.create_invoices([_invoice()], idempotency_key="k-invoices")
        await client.create_contacts([ContactCreate(name="Acme")], idempotency_key="k-contacts")
        await client.update_invoice(INVOICE_ID, {"Reference": "X"}, idempotency_key="k-update")
        await client.void_invoice(INVOICE_ID, idempotency_key="k-void")
        await client.delete_draft(INVOICE_ID, idempotency_key="k-delete")
        await client.add_invoice_history(INVOICE_ID, "note", idempotency_key="k-history")
        await client.create_payment(
            INVOICE_ID, "090", Decimal("10.50"), date(2026, 7, 25), idempotency_key="k-pay"
        )
    writes = [r for r in xero.requests if r.method in ("PUT", "POST")]
    assert [r.headers.get("Idempotency-Key") for r in writes] == [
        "k-invoices",
        "k-contacts",
        "k-update",
        "k-void",
        "k-delete",
        "k-history",
        "k-pay",
    ]
    statuses = [ScriptedXero.body(r)["Invoices"][0].get("Status") for r in writes[2:5]]
    assert statuses == [None, "VOIDED", "DELETED"]
    payment = ScriptedXero.body(writes[-1])["Payments"][0]
    assert payment == {
        "Invoice": {"InvoiceID": INVOICE_ID},
        "Account": {"Code": "090"},
        "Date": "2026-07-25",
        "Amount": 10.5,
    }


@pytest.mark.anyio
async def test_write_without_key_is_refused_before_sending(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """An empty idempotency key is a programming error: nothing is sent."""
    async with make_client() as client:
        with pytest.raises(ValueError):
            await client.create_invoices([_invoice()], idempotency_key="")
    assert xero.requests == []


@pytest.mark.anyio
async def test_overlong_keys_are_shortened_deterministically(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Keys over Xero's 128 characters become the same ≤128-char key on every retry."""
    xero.on("PUT", "/api.xro/2.0/Invoices", xero_json({"Invoices": [_saved("R", "1")]}))
    long_key = "xero:" + "t" * 200 + ":create-invoice"
    async with make_client() as client:
        await client.create_invoices([_invoice()], idempotency_key=long_key)
        await client.create_invoices([_invoice()], idempotency_key=long_key)
        await client.create_invoices([_invoice()], idempotency_key=long_key + "2")
    keys = [r.headers["Idempotency-Key"] for r in xero.requests]
    assert all(len(k) <= 128 for k in keys)
    assert keys[0] == keys[1] != keys[2]


@pytest.mark.anyio
async def test_more_than_fifty_invoices_is_refused(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """create_invoices takes at most 50 invoices per call."""
    async with make_client() as client:
        with pytest.raises(ValueError, match="50"):
            await client.create_invoices([_invoice()] * 51, idempotency_key="k")
    assert xero.requests == []


@pytest.mark.anyio
async def test_batch_partial_failure_maps_back_by_position(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """A 200 with a mix of saved and refused elements yields ok/errors per request position."""
    refused = {
        "Type": "ACCREC",
        "Reference": "deal-2",
        "HasErrors": True,
        "StatusAttributeString": "ERROR",
        "ValidationErrors": [{"Message": "Invoice # must be unique."}],
        "LineItems": [
            {"Description": "x", "ValidationErrors": [{"Message": "Account must be valid."}]}
        ],
    }
    xero.on(
        "PUT",
        "/api.xro/2.0/Invoices",
        xero_json({"Invoices": [_saved("deal-1", "INV-1"), refused, _saved("deal-3", "INV-3")]}),
    )
    batch = [_invoice("deal-1"), _invoice("deal-2"), _invoice("deal-3")]
    async with make_client() as client:
        results = await client.create_invoices(batch, idempotency_key="k")
    assert [(r.index, r.ok) for r in results] == [(0, True), (1, False), (2, True)]
    assert results[1].errors == ["Invoice # must be unique.", "Account must be valid."]
    assert results[1].item is not None and results[1].item.reference == "deal-2"
    assert results[2].item is not None and results[2].item.invoice_number == "INV-3"
    assert results[0].item is not None and results[0].item.total == Decimal("4500.10")


@pytest.mark.anyio
async def test_update_refused_inside_a_200_raises_validation_failed(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """An update whose element comes back with errors is not reported as success."""
    refused = {
        **_saved("R", "1"),
        "HasErrors": True,
        "ValidationErrors": [{"Message": "Invoice not of valid status for modification"}],
    }
    xero.on("POST", f"/api.xro/2.0/Invoices/{INVOICE_ID}", xero_json({"Invoices": [refused]}))
    async with make_client() as client:
        with pytest.raises(ValidationFailed) as caught:
            await client.void_invoice(INVOICE_ID, idempotency_key="k")
    assert caught.value.errors == ["Invoice not of valid status for modification"]


@pytest.mark.anyio
async def test_long_history_notes_are_cut_to_xeros_limit(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """History notes longer than 2,500 characters are shortened, not refused."""
    xero.on("PUT", f"/api.xro/2.0/Invoices/{INVOICE_ID}/History", xero_json({}))
    async with make_client() as client:
        await client.add_invoice_history(INVOICE_ID, "n" * 3000, idempotency_key="k")
    details = ScriptedXero.body(xero.requests[0])["HistoryRecords"][0]["Details"]
    assert len(details) == 2500
