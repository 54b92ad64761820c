"""The Xero simulator's Accounting API, driven like a real client and checked against the spec."""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from tests.support.xero_spec import SpecRecorder, accounting_client, consent_token

from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import DEFAULT_TENANT_ID, XeroSimConfig, create_app

LINE = {"Description": "Website", "Quantity": 2, "UnitAmount": 100.5, "AccountCode": "200"}


def invoice(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Type": "ACCREC",
        "Contact": {"Name": "Acme Widgets Ltd"},
        "Date": "2026-07-20",
        "DueDate": "2026-08-19",
        "LineItems": [dict(LINE)],
    }
    body.update(fields)
    return body


@pytest.fixture(scope="module")
def server() -> Iterator[ServerHandle]:
    with start_in_thread(create_app(XeroSimConfig(minute_limit=10_000))) as handle:
        yield handle


@pytest.fixture
def xero(server: ServerHandle) -> Iterator[httpx.Client]:
    httpx.post(f"{server.base_url}/_sim/reset")
    recorder = SpecRecorder()
    token = consent_token(server.base_url)["access_token"]
    with accounting_client(server.base_url, token, DEFAULT_TENANT_ID, recorder) as client:
        yield client
    recorder.assert_all_valid()


def create(xero: httpx.Client, *bodies: dict[str, Any]) -> list[dict[str, Any]]:
    response = xero.put("/Invoices", json={"Invoices": list(bodies)})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["Invoices"]
    return items


def test_envelope_dates_and_amounts_look_like_xero(xero: httpx.Client) -> None:
    """A created invoice comes back in Xero's envelope with MS-JSON dates and 2 dp totals."""
    response = xero.put("/Invoices", json={"Invoices": [invoice(Status="AUTHORISED")]})
    body = response.json()
    assert body["Status"] == "OK" and body["ProviderName"] == "kommo-xero sandbox"
    assert re.fullmatch(r"/Date\(\d+\)/", body["DateTimeUTC"])
    created = body["Invoices"][0]
    assert created["InvoiceNumber"] == "INV-0001"
    assert created["Date"] == "/Date(1784505600000+0000)/"
    assert created["DateString"] == "2026-07-20T00:00:00"
    assert re.fullmatch(r"/Date\(\d{13}\+0000\)/", created["UpdatedDateUTC"])
    assert created["Total"] == 201.0 and created["AmountDue"] == 201.0
    assert created["Contact"]["Name"] == "Acme Widgets Ltd"
    assert response.headers["x-minlimit-remaining"].isdigit()


def test_tax_maths_for_exclusive_inclusive_and_no_tax(xero: httpx.Client) -> None:
    """OUTPUT (10%) adds tax on Exclusive, is carved out of Inclusive, and NoTax ignores it."""
    line = {
        "Description": "x",
        "Quantity": 1,
        "UnitAmount": 110,
        "AccountCode": "200",
        "TaxType": "OUTPUT",
    }
    made = create(
        xero,
        invoice(LineAmountTypes="Exclusive", LineItems=[line]),
        invoice(LineAmountTypes="Inclusive", LineItems=[line]),
        invoice(LineAmountTypes="NoTax", LineItems=[line]),
    )
    assert [(m["SubTotal"], m["TotalTax"], m["Total"]) for m in made] == [
        (110.0, 11.0, 121.0),
        (100.0, 10.0, 110.0),
        (110.0, 0.0, 110.0),
    ]


def test_batch_with_summarize_false_saves_the_good_and_reports_the_bad(xero: httpx.Client) -> None:
    """summarizeErrors=false answers 200 with per-element OK/ERROR and saves the valid ones."""
    response = xero.put(
        "/Invoices",
        params={"summarizeErrors": "false"},
        json={"Invoices": [invoice(), invoice(Contact={})]},
    )
    assert response.status_code == 200
    good, bad = response.json()["Invoices"]
    assert good["StatusAttributeString"] == "OK" and not good["HasErrors"]
    assert bad["StatusAttributeString"] == "ERROR" and bad["HasErrors"]
    assert bad["ValidationErrors"][0]["Message"].startswith("The Contact must contain")
    assert len(xero.get("/Invoices").json()["Invoices"]) == 1


def test_default_batch_is_all_or_nothing_with_a_validation_exception(xero: httpx.Client) -> None:
    """Without summarizeErrors=false one bad element makes a 400 and nothing is saved."""
    response = xero.put("/Invoices", json={"Invoices": [invoice(), invoice(LineItems=[])]})
    assert response.status_code == 400
    body = response.json()
    assert body["Type"] == "ValidationException" and body["ErrorNumber"] == 10
    assert xero.get("/Invoices").json()["Invoices"] == []
    assert xero.get("/Contacts").json()["Contacts"] == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"Contact": {}}, "The Contact must contain at least 1 of the following elements"),
        ({"LineItems": []}, "Invoices must have at least one line item."),
        ({"LineItems": [{**LINE, "AccountCode": "999"}]}, "Account must be valid."),
        ({"LineItems": [{**LINE, "TaxType": "BOGUS"}]}, "Tax rate must be valid."),
        ({"CurrencyCode": "NZD"}, "The currency NZD is not enabled for this organisation."),
        ({"Status": "AUTHORISED", "DueDate": None}, "Due Date is required"),
    ],
)
def test_each_validation_error_has_its_message(
    xero: httpx.Client, fields: dict[str, Any], message: str
) -> None:
    """Each kind of bad invoice is refused with its own ValidationErrors message."""
    body = invoice(**fields)
    body = {k: v for k, v in body.items() if v is not None}
    response = xero.put("/Invoices", json={"Invoices": [body]})
    assert response.status_code == 400
    messages = [e["Message"] for e in response.json()["Elements"][0]["ValidationErrors"]]
    assert any(m.startswith(message) for m in messages), messages


def test_duplicate_invoice_number_is_refused(xero: httpx.Client) -> None:
    """A second ACCREC with the same InvoiceNumber fails with "Invoice # must be unique."."""
    create(xero, invoice(InvoiceNumber="CRM-1"))
    response = xero.put("/Invoices", json={"Invoices": [invoice(InvoiceNumber="CRM-1")]})
    assert response.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Invoice # must be unique."
    )


def test_idempotency_key_replays_and_detects_a_different_request(xero: httpx.Client) -> None:
    """Same key + same body replays the first answer; same key + other body is a 400."""
    headers = {"Idempotency-Key": "deal-1-create"}
    first = xero.put("/Invoices", json={"Invoices": [invoice()]}, headers=headers)
    again = xero.put("/Invoices", json={"Invoices": [invoice()]}, headers=headers)
    assert again.json()["Invoices"][0]["InvoiceID"] == first.json()["Invoices"][0]["InvoiceID"]
    assert len(xero.get("/Invoices").json()["Invoices"]) == 1
    other = xero.put("/Invoices", json={"Invoices": [invoice(Reference="x")]}, headers=headers)
    assert other.status_code == 400 and "different request" in other.text


def test_idempotency_key_replays_errors_too(xero: httpx.Client) -> None:
    """A failed write replays its 400 for the same key even after the cause is gone."""
    headers = {"Idempotency-Key": "k-err"}
    body = {"Invoices": [invoice(CurrencyCode="NZD")]}
    assert xero.put("/Invoices", json=body, headers=headers).status_code == 400
    httpx.post(
        f"{str(xero.base_url).split('/api.xro')[0]}/_sim/currencies",
        json={"code": "NZD", "enabled": True},
    )
    assert xero.put("/Invoices", json=body, headers=headers).status_code == 400
    assert xero.put("/Invoices", json=body, headers={"Idempotency-Key": "k2"}).status_code == 200


def test_payments_move_amounts_and_the_last_one_makes_it_paid(xero: httpx.Client) -> None:
    """A part payment leaves it AUTHORISED; paying the rest makes it PAID with FullyPaidOnDate."""
    made = create(xero, invoice(Status="AUTHORISED"))[0]
    pay = {
        "Invoice": {"InvoiceID": made["InvoiceID"]},
        "Account": {"Code": "090"},
        "Date": "2026-07-25",
    }
    part = xero.put("/Payments", json={"Payments": [{**pay, "Amount": 1.0}]})
    assert part.json()["Payments"][0]["Invoice"]["AmountDue"] == 200.0
    too_much = xero.put("/Payments", json={"Payments": [{**pay, "Amount": 500}]})
    assert too_much.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Payment amount exceeds the amount outstanding on this document"
    )
    rest = xero.put("/Payments", json={"Payments": [{**pay, "Amount": 200.0}]})
    paid = xero.get(f"/Invoices/{made['InvoiceID']}").json()["Invoices"][0]
    assert paid["Status"] == "PAID" and paid["AmountDue"] == 0.0
    assert paid["FullyPaidOnDate"] == "/Date(1784937600000+0000)/"
    payment_id = rest.json()["Payments"][0]["PaymentID"]
    xero.post(f"/Payments/{payment_id}", json={"Status": "DELETED"})
    back = xero.get(f"/Invoices/{made['InvoiceID']}").json()["Invoices"][0]
    assert back["Status"] == "AUTHORISED" and back["AmountDue"] == 200.0


def test_payment_on_a_draft_is_refused(xero: httpx.Client) -> None:
    """Payments apply only to AUTHORISED invoices."""
    made = create(xero, invoice())[0]
    response = xero.put(
        "/Payments",
        json={
            "Payments": [
                {
                    "Invoice": {"InvoiceID": made["InvoiceID"]},
                    "Account": {"Code": "090"},
                    "Amount": 1,
                }
            ]
        },
    )
    assert response.status_code == 400


def test_status_transitions_follow_xero_rules(xero: httpx.Client) -> None:
    """DRAFT→AUTHORISED→VOIDED works; a VOIDED invoice can no longer be modified."""
    made = create(xero, invoice())[0]
    url = f"/Invoices/{made['InvoiceID']}"
    approved = xero.post(url, json={"Invoices": [{"Status": "AUTHORISED"}]})
    assert approved.json()["Invoices"][0]["Status"] == "AUTHORISED"
    back_to_draft = xero.post(url, json={"Invoices": [{"Status": "DRAFT"}]})
    assert back_to_draft.status_code == 400
    xero.post(url, json={"Invoices": [{"Status": "VOIDED"}]})
    again = xero.post(url, json={"Invoices": [{"Reference": "late edit"}]})
    assert again.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Invoice not of valid status for modification"
    )


def test_post_updates_lines_by_line_item_id_and_drops_missing_ones(xero: httpx.Client) -> None:
    """POST with a LineItems array keeps listed lines, updates them, and deletes the rest."""
    two = invoice(LineItems=[dict(LINE), {**LINE, "Description": "Extra"}])
    made = create(xero, two)[0]
    first = made["LineItems"][0]
    body = {
        "InvoiceID": made["InvoiceID"],
        "LineItems": [{"LineItemID": first["LineItemID"], "Quantity": 1}],
    }
    updated = xero.post("/Invoices", json={"Invoices": [body]}).json()["Invoices"][0]
    assert len(updated["LineItems"]) == 1 and updated["Total"] == 100.5


def test_list_filters_ids_statuses_where_and_paging(xero: httpx.Client) -> None:
    """IDs, Statuses, where (AND/OR, DateTime, Contact.Name) and page/pageSize all narrow lists."""
    made = create(xero, *[invoice(Reference=f"R{i}") for i in range(5)])
    xero.post(f"/Invoices/{made[0]['InvoiceID']}", json={"Invoices": [{"Status": "AUTHORISED"}]})
    by_ids = xero.get("/Invoices", params={"IDs": f"{made[1]['InvoiceID']},{made[2]['InvoiceID']}"})
    assert len(by_ids.json()["Invoices"]) == 2
    authorised = xero.get("/Invoices", params={"Statuses": "AUTHORISED"}).json()["Invoices"]
    assert [i["Reference"] for i in authorised] == ["R0"]
    where = 'Type=="ACCREC" AND (Reference=="R3" OR Reference=="r4") AND Date>=DateTime(2026,7,1)'
    assert len(xero.get("/Invoices", params={"where": where}).json()["Invoices"]) == 2
    by_name = xero.get("/Invoices", params={"where": 'Contact.Name=="acme widgets ltd"'})
    assert len(by_name.json()["Invoices"]) == 5
    paged = xero.get("/Invoices", params={"page": 2, "pageSize": 2}).json()
    assert paged["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}
    assert len(paged["Invoices"]) == 2 and "LineItems" in paged["Invoices"][0]


def test_if_modified_since_returns_only_later_changes(
    xero: httpx.Client, server: ServerHandle
) -> None:
    """If-Modified-Since hides invoices not updated after the given time."""
    _untouched, fresh = create(xero, invoice(), invoice())
    httpx.post(f"{server.base_url}/_sim/clock/advance", json={"seconds": 120})
    state = httpx.get(f"{server.base_url}/_sim/state").json()
    cutoff = state["now"].replace("+00:00", "Z")
    xero.post(f"/Invoices/{fresh['InvoiceID']}", json={"Invoices": [{"Reference": "new"}]})
    seen = xero.get("/Invoices", headers={"If-Modified-Since": cutoff}).json()["Invoices"]
    assert [i["InvoiceID"] for i in seen] == [fresh["InvoiceID"]]


def test_created_by_my_app_excludes_invoices_made_by_hand(
    xero: httpx.Client, server: ServerHandle
) -> None:
    """createdByMyApp=true lists API-created invoices but not ones a person made in Xero."""
    mine = create(xero, invoice())[0]
    httpx.post(f"{server.base_url}/_sim/invoices", json={"contact_name": "Walk-in"})
    listed = xero.get("/Invoices", params={"createdByMyApp": "true"}).json()["Invoices"]
    assert [i["InvoiceID"] for i in listed] == [mine["InvoiceID"]]
    assert len(xero.get("/Invoices").json()["Invoices"]) == 2


def test_pdf_is_a_real_pdf_with_the_invoice_number(xero: httpx.Client) -> None:
    """/pdf and Accept: application/pdf both return a parseable PDF showing the number."""
    made = create(xero, invoice(Status="AUTHORISED"))[0]
    pdf = xero.get(f"/Invoices/{made['InvoiceID']}/pdf").content
    by_accept = xero.get(f"/Invoices/{made['InvoiceID']}", headers={"Accept": "application/pdf"})
    assert by_accept.headers["content-type"] == "application/pdf"
    for document in (pdf, by_accept.content):
        assert document.startswith(b"%PDF-") and document.rstrip().endswith(b"%%EOF")
        xref_at = int(re.findall(rb"startxref\s+(\d+)", document)[-1])
        assert document[xref_at : xref_at + 4] == b"xref"
        streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", document, re.S)
        text = b"".join(zlib.decompress(s) for s in streams)
        assert b"INV-0001" in text and b"Acme Widgets Ltd" in text


def test_online_invoice_url_serves_a_page_but_not_for_drafts(xero: httpx.Client) -> None:
    """OnlineInvoice is refused for a DRAFT and gives a working link once approved."""
    made = create(xero, invoice())[0]
    url = f"/Invoices/{made['InvoiceID']}/OnlineInvoice"
    assert xero.get(url).status_code == 400
    xero.post(f"/Invoices/{made['InvoiceID']}", json={"Invoices": [{"Status": "AUTHORISED"}]})
    link = xero.get(url).json()["OnlineInvoices"][0]["OnlineInvoiceUrl"]
    page = httpx.get(link)
    assert page.status_code == 200 and "INV-0001" in page.text


def test_history_notes_are_added_and_listed(xero: httpx.Client) -> None:
    """PUT History adds a note that GET History lists after the Created record."""
    made = create(xero, invoice())[0]
    url = f"/Invoices/{made['InvoiceID']}/History"
    xero.put(url, json={"HistoryRecords": [{"Details": "From deal 48213"}]})
    records = xero.get(url).json()["HistoryRecords"]
    assert records[0]["Changes"] == "Created" and records[-1]["Details"] == "From deal 48213"


def test_contact_names_must_be_unique_and_blanks_are_filled(xero: httpx.Client) -> None:
    """A duplicate active Name gets Xero's text; new contacts get empty addresses and phones."""
    made = xero.put(
        "/Contacts",
        json={"Contacts": [{"Name": "Buzz Lightyear", "EmailAddress": "buzz@example.com"}]},
    )
    contact = made.json()["Contacts"][0]
    assert [a["AddressType"] for a in contact["Addresses"]] == ["STREET", "POBOX"]
    assert [p["PhoneType"] for p in contact["Phones"]] == ["DEFAULT", "DDI", "FAX", "MOBILE"]
    again = xero.put("/Contacts", json={"Contacts": [{"Name": "buzz lightyear"}]})
    assert again.json()["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "The contact name buzz lightyear is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    found = xero.get("/Contacts", params={"where": 'EmailAddress=="BUZZ@example.com"'})
    assert [c["Name"] for c in found.json()["Contacts"]] == ["Buzz Lightyear"]
    searched = xero.get("/Contacts", params={"searchTerm": "lightyear", "page": 1}).json()
    assert searched["pagination"]["itemCount"] == 1


def test_invoice_by_unknown_name_creates_the_contact(xero: httpx.Client) -> None:
    """An invoice naming an unknown contact creates it; naming it again reuses it."""
    first, second = create(xero, invoice(), invoice(Contact={"Name": "ACME WIDGETS LTD"}))
    assert first["Contact"]["ContactID"] == second["Contact"]["ContactID"]


def test_missing_accept_json_is_refused(xero: httpx.Client) -> None:
    """A request that does not ask for JSON gets a 406 (the simulator does not speak XML)."""
    assert xero.get("/Invoices", headers={"Accept": "*/*"}).status_code == 406
