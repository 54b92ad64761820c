"""XeroClient reads, headers, error mapping and rate-limit handling."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from kommo_xero.transport import (
    ApiError,
    AuthFailed,
    NotFound,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from kommo_xero.xero.client import XeroClient

from .conftest import TENANT, ManualClock, ScriptedXero, xero_json

INVOICE_ID = "0b7c6a4e-1f32-4a8e-9d1c-5c2f7a9e3b11"
FULL_INVOICE = {
    "Type": "ACCREC",
    "InvoiceID": INVOICE_ID,
    "InvoiceNumber": "INV-0042",
    "Reference": "CRM-DEAL-48213",
    "AmountDue": 2500.00,
    "AmountPaid": 2000.00,
    "AmountCredited": 0.00,
    "Contact": {"ContactID": "6d3b", "Name": "Acme Widgets Ltd", "EmailAddress": "ap@acme.example"},
    "Date": "/Date(1784505600000+0000)/",
    "DueDate": "/Date(1787097600000+0000)/",
    "Status": "AUTHORISED",
    "LineAmountTypes": "Exclusive",
    "LineItems": [{"Description": "Website", "UnitAmount": 4500.00, "Quantity": 1.0000}],
    "SubTotal": 4500.00,
    "TotalTax": 0.00,
    "Total": 4500.00,
    "UpdatedDateUTC": "/Date(1784520942080+0000)/",
    "CurrencyCode": "USD",
    "Url": "https://crm.example.com/deals/48213",
    "Payments": [{"PaymentID": "p1", "Date": "/Date(1784937600000+0000)/", "Amount": 2000.00}],
    "SomeFieldXeroAddsNextYear": {"nested": True},
}
VALIDATION_400 = {
    "ErrorNumber": 10,
    "Type": "ValidationException",
    "Message": "A validation exception occurred",
    "Elements": [
        {
            "Reference": "CRM-DEAL-48216",
            "LineItems": [
                {
                    "Description": "Consulting",
                    "ValidationErrors": [{"Message": "Account must be valid."}],
                }
            ],
            "ValidationErrors": [{"Message": "Tax rate must be valid."}],
        }
    ],
}


@pytest.mark.anyio
async def test_invoice_parses_money_dates_and_ignores_unknown_fields(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """get_invoice returns Decimals, calendar dates and an aware UpdatedDateUTC."""
    xero.on("GET", f"/api.xro/2.0/Invoices/{INVOICE_ID}", xero_json({"Invoices": [FULL_INVOICE]}))
    async with make_client() as client:
        invoice = await client.get_invoice(INVOICE_ID)
    assert invoice is not None
    assert invoice.amount_due == Decimal("2500.00") and invoice.total == Decimal("4500.00")
    assert (invoice.date, invoice.due_date) == (date(2026, 7, 20), date(2026, 8, 19))
    assert invoice.updated_date_utc == datetime(2026, 7, 20, 4, 15, 42, 80000, tzinfo=UTC)
    assert invoice.contact is not None and invoice.contact.email_address == "ap@acme.example"
    assert invoice.payments[0].amount == Decimal("2000.00")
    assert invoice.line_items[0].quantity == Decimal("1.0000")


@pytest.mark.anyio
async def test_standard_headers_and_tenant(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Calls ask for JSON, carry the bearer token and the tenant id."""
    xero.on("GET", "/api.xro/2.0/Currencies", xero_json({"Currencies": [{"Code": "USD"}]}))
    async with make_client() as client:
        assert await client.get_currencies() == ["USD"]
    request = xero.requests[0]
    assert request.headers["Accept"] == "application/json"
    assert request.headers["xero-tenant-id"] == TENANT
    assert request.headers["Authorization"] == "Bearer unit-test-token"


@pytest.mark.anyio
async def test_custom_connection_sends_no_tenant_header(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Without a tenant id (custom connection) no xero-tenant-id header is sent."""
    xero.on(
        "GET",
        "/api.xro/2.0/Organisation",
        xero_json(
            {"Organisations": [{"Name": "Sandbox", "BaseCurrency": "USD", "OrganisationID": "o1"}]}
        ),
    )
    async with make_client(tenant_id=None) as client:
        organisation = await client.get_organisation()
    assert organisation.base_currency == "USD" and organisation.organisation_id == "o1"
    assert "xero-tenant-id" not in xero.requests[0].headers


@pytest.mark.anyio
async def test_connections_use_the_identity_path_without_tenant(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """list_connections calls {base}/connections with no tenant header and parses the list."""
    xero.on(
        "GET",
        "/connections",
        xero_json(
            [
                {
                    "id": "7cb5",
                    "tenantId": TENANT,
                    "tenantType": "ORGANISATION",
                    "tenantName": "Demo",
                    "createdDateUtc": "2019-12-07T18:46:19.5165400",
                }
            ]
        ),
    )
    async with make_client() as client:
        (connection,) = await client.list_connections()
    assert connection.tenant_id == TENANT and connection.tenant_name == "Demo"
    assert connection.created_date_utc == datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC)
    assert "xero-tenant-id" not in xero.requests[0].headers


@pytest.mark.anyio
async def test_contact_filters_are_escaped(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Quotes and backslashes in names cannot break out of the where-filter string."""
    xero.on("GET", "/api.xro/2.0/Contacts", xero_json({"Contacts": [{"Name": 'Bob "B" Ltd'}]}))
    async with make_client() as client:
        found = await client.find_contacts(name='Bob "B" \\ Ltd')
        await client.find_contacts(email="ap@acme.example", search_term="acme", ids=["a", "b"])
    assert found[0].name == 'Bob "B" Ltd'
    first, second = (r.url.params for r in xero.requests)
    assert first["where"] == 'Name=="Bob \\"B\\" \\\\ Ltd"' and first["page"] == "1"
    assert second["where"] == 'EmailAddress=="ap@acme.example"'
    assert (second["searchTerm"], second["IDs"]) == ("acme", "a,b")


@pytest.mark.anyio
async def test_invoice_query_parameters_and_if_modified_since(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """get_invoices sends paging, filters and If-Modified-Since, and reads pagination."""
    xero.on(
        "GET",
        "/api.xro/2.0/Invoices",
        xero_json(
            {
                "Invoices": [FULL_INVOICE],
                "pagination": {"page": 2, "pageSize": 100, "pageCount": 3, "itemCount": 201},
            }
        ),
    )
    async with make_client() as client:
        page = await client.get_invoices(
            statuses=["AUTHORISED", "PAID"],
            page=2,
            created_by_my_app=True,
            modified_since=datetime(2026, 7, 20, tzinfo=UTC),
            where='Type=="ACCREC"',
            invoice_numbers=["INV-1"],
            search_term="CRM",
        )
    params = xero.requests[0].url.params
    assert dict(params) == {
        "page": "2",
        "Statuses": "AUTHORISED,PAID",
        "createdByMyApp": "true",
        "where": 'Type=="ACCREC"',
        "InvoiceNumbers": "INV-1",
        "searchTerm": "CRM",
    }
    assert xero.requests[0].headers["If-Modified-Since"] == "2026-07-20T00:00:00Z"
    assert page.has_more and page.item_count == 201 and len(page.items) == 1


@pytest.mark.anyio
async def test_iteration_and_id_chunks_walk_every_page(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """get_invoices_by_ids asks for at most 50 IDs per call and follows pagination."""

    def answer(request: httpx.Request) -> httpx.Response:
        ids = request.url.params["IDs"].split(",")
        return xero_json(
            {
                "Invoices": [{**FULL_INVOICE, "InvoiceID": i} for i in ids],
                "pagination": {"page": 1, "pageCount": 1},
            }
        )

    xero.on("GET", "/api.xro/2.0/Invoices", answer)
    wanted = [f"id-{n}" for n in range(120)] + ["id-0"]
    async with make_client() as client:
        found = await client.get_invoices_by_ids(wanted)
    assert [len(r.url.params["IDs"].split(",")) for r in xero.requests] == [50, 50, 20]
    assert [i.invoice_id for i in found] == wanted[:120]


@pytest.mark.anyio
async def test_online_url_pdf_and_missing_invoice(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """The online URL and PDF bytes come back; an unknown invoice is None, not an error."""
    base = f"/api.xro/2.0/Invoices/{INVOICE_ID}"
    xero.on(
        "GET",
        f"{base}/OnlineInvoice",
        xero_json({"OnlineInvoices": [{"OnlineInvoiceUrl": "https://in.xero.com/abc"}]}),
    )
    xero.on(
        "GET",
        f"{base}/pdf",
        httpx.Response(200, content=b"%PDF-1.4 x", headers={"Content-Type": "application/pdf"}),
    )
    async with make_client() as client:
        assert await client.get_online_invoice_url(INVOICE_ID) == "https://in.xero.com/abc"
        assert await client.get_invoice_pdf(INVOICE_ID) == b"%PDF-1.4 x"
        assert await client.get_invoice("unknown") is None
        assert await client.get_online_invoice_url("unknown") is None
        with pytest.raises(NotFound):
            await client.get_invoice_pdf("unknown")
    pdf_request = xero.sent("GET", f"{base}/pdf")[0]
    assert pdf_request.headers["Accept"] == "application/pdf"


@pytest.mark.anyio
async def test_validation_exception_lists_every_message(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """A 400 ValidationException becomes ValidationFailed with element and line messages."""
    xero.on("GET", "/api.xro/2.0/Accounts", xero_json(VALIDATION_400, 400))
    async with make_client() as client:
        with pytest.raises(ValidationFailed) as caught:
            await client.get_accounts()
    assert caught.value.errors == ["Tax rate must be valid.", "Account must be valid."]
    assert caught.value.status == 400


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("reply", "error", "words"),
    [
        (
            xero_json({"Title": "Unauthorized", "Detail": "TokenExpired"}, 401),
            AuthFailed,
            "reconnect",
        ),
        (
            xero_json({"Title": "Forbidden", "Detail": "AuthenticationUnsuccessful"}, 403),
            AuthFailed,
            "scope",
        ),
        (httpx.Response(404, text="not here"), NotFound, "not found"),
        (
            httpx.Response(503, text="The Xero API is currently offline for maintenance"),
            TransientError,
            "maintenance",
        ),
        (httpx.Response(418, text="teapot"), ApiError, "418"),
    ],
)
async def test_error_statuses_map_to_typed_errors(
    xero: ScriptedXero,
    make_client: Callable[..., XeroClient],
    reply: httpx.Response,
    error: type[Exception],
    words: str,
) -> None:
    """401/403 → AuthFailed, 404 → NotFound, 503 text → TransientError, others → ApiError."""
    xero.on("GET", "/api.xro/2.0/TaxRates", reply)
    async with make_client() as client:
        with pytest.raises(error, match=words) as caught:
            await client.get_tax_rates()
    assert type(caught.value) is error
    assert "unit-test-token" not in str(caught.value)


@pytest.mark.anyio
async def test_maintenance_is_retried_before_giving_up(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """A 503 followed by success returns the data after one retry."""
    xero.on(
        "GET",
        "/api.xro/2.0/Currencies",
        httpx.Response(503, text="temporarily unavailable"),
        xero_json({"Currencies": [{"Code": "EUR"}]}),
    )
    async with make_client() as client:
        assert await client.get_currencies() == ["EUR"]
    assert len(xero.requests) == 2


@pytest.mark.anyio
async def test_429_waits_retry_after_and_limits_are_exposed(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """A short Retry-After is waited out in place; the latest limit headers are readable."""
    xero.on(
        "GET",
        "/api.xro/2.0/Currencies",
        httpx.Response(429, headers={"Retry-After": "0", "X-Rate-Limit-Problem": "minute"}),
        xero_json(
            {"Currencies": []},
            **{
                "X-DayLimit-Remaining": "4121",
                "X-MinLimit-Remaining": "12",
                "X-AppMinLimit-Remaining": "9874",
            },
        ),
    )
    async with make_client() as client:
        assert await client.get_currencies() == []
        limits = client.limits
    assert (limits.day_remaining, limits.minute_remaining, limits.app_minute_remaining) == (
        4121,
        12,
        9874,
    )
    assert len(xero.requests) == 2


@pytest.mark.anyio
async def test_long_429_surfaces_as_rate_limited(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """A day-limit 429 with a long Retry-After is raised for a durable sleep, not waited."""
    xero.on(
        "GET",
        "/api.xro/2.0/Currencies",
        httpx.Response(429, headers={"Retry-After": "3600", "X-Rate-Limit-Problem": "day"}),
    )
    async with make_client() as client:
        with pytest.raises(RateLimited) as caught:
            await client.get_currencies()
    assert caught.value.retry_after == 3600


@pytest.mark.anyio
async def test_day_budget_guard_stops_calls_until_the_next_day(
    xero: ScriptedXero, make_client: Callable[..., XeroClient], clock: ManualClock
) -> None:
    """Under 50 calls left today, calls raise RateLimited without reaching Xero until midnight."""
    xero.on(
        "GET",
        "/api.xro/2.0/Currencies",
        xero_json({"Currencies": []}, **{"X-DayLimit-Remaining": "49"}),
    )
    async with make_client() as client:
        await client.get_currencies()
        with pytest.raises(RateLimited) as caught:
            await client.get_currencies()
        assert caught.value.retry_after == timedelta(hours=12).total_seconds()
        assert len(xero.requests) == 1
        clock.now = datetime(2026, 7, 21, 0, 0, 1, tzinfo=UTC)
        await client.get_currencies()
    assert len(xero.requests) == 2


@pytest.mark.anyio
async def test_plenty_of_budget_never_blocks(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """At exactly 50 calls left the guard does not trip."""
    xero.on(
        "GET",
        "/api.xro/2.0/Currencies",
        xero_json({"Currencies": []}, **{"X-DayLimit-Remaining": "50"}),
    )
    async with make_client() as client:
        for _ in range(3):
            await client.get_currencies()
    assert len(xero.requests) == 3
