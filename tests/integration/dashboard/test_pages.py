"""What the signed-in pages show: links, history, parked work, settings, sandbox panel."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from tests.integration.dashboard.conftest import add_event, add_link, add_parked

from kommo_xero.bootstrap import Service


def test_links_page_lists_links_newest_first_with_links_out(
    signed_in: TestClient, service: Service
) -> None:
    """Each link shows deal, invoice, contact, amount and status, with links into both apps."""
    for n in range(1, 4):
        add_link(service, n)
    html = signed_in.get("/dashboard/links").text
    assert html.index("Deal number 3") < html.index("Deal number 1")
    assert "INV-0002" in html
    assert "103.00" in html
    assert "Awaiting payment" in html
    assert "/leads/detail/10001" in html  # into Kommo
    assert "http://xero.example/online/1" in html  # the sandbox's invoice page


def test_links_search_filter_and_pages(signed_in: TestClient, service: Service) -> None:
    """Search, status and origin filters narrow the table; long results come in pages."""
    for n in range(1, 121):
        paid = n % 3 == 0
        add_link(
            service,
            n,
            status="PAID" if paid else "AUTHORISED",
            status_label="Paid" if paid else "Awaiting payment",
            origin="invoice" if n % 5 == 0 else "deal",
        )
    first = signed_in.get("/dashboard/links").text
    assert "120 links" in first and "page 1 of 3" in first
    second = signed_in.get("/dashboard/links?page=2").text
    assert "Deal number 70<" in second and "Deal number 120<" not in second
    found = signed_in.get("/dashboard/links?q=INV-0042").text
    assert "1 link" in found and "Deal number 42<" in found
    paid = signed_in.get("/dashboard/links?status=PAID").text
    assert "40 links" in paid and "Deal number 1<" not in paid
    by_invoice = signed_in.get("/dashboard/links?origin=invoice&status=PAID").text
    assert "8 links" in by_invoice
    none = signed_in.get("/dashboard/links?q=nothing-like-this").text
    assert "No links match these filters" in none


def test_link_history_shows_the_timeline_and_api_errors_in_full(
    signed_in: TestClient, service: Service
) -> None:
    """One link's page lists its events in order, with the API error bodies spelled out."""
    link_id = add_link(service, 7)
    add_event(service, link_id, 10007, "trigger", "Deal 10007 entered the trigger stage.")
    error = {"status": 400, "body": {"Elements": [{"ValidationErrors": [{"Message": "Bad code"}]}]}}
    add_event(service, link_id, 10007, "parked", "Xero refused it.", json.dumps(error))
    add_event(service, link_id, 10007, "invoice_created", "Invoice INV-0007 created in Xero.")
    html = signed_in.get(f"/dashboard/links/{link_id}").text
    assert html.index("entered the trigger stage") < html.index("INV-0007 created in Xero")
    assert "Bad code" in html and "ValidationErrors" in html
    assert signed_in.get("/dashboard/links/999999").status_code == 404


def test_parked_page_explains_each_item(signed_in: TestClient, service: Service) -> None:
    """A parked item shows its reason in plain words, what to do, and Retry buttons."""
    link_id = add_link(service, 9, state="parked", xero_invoice_id=None, invoice_number=None)
    add_parked(
        service,
        10009,
        "currency_not_enabled",
        "Currency NZD is not enabled in the Xero organisation.",
        "Enable NZD in Xero (Settings → Currencies), then retry.",
    )
    html = signed_in.get("/dashboard/parked").text
    assert "Currency not enabled in Xero" in html
    assert "Enable NZD in Xero" in html
    assert f"/dashboard/links/{link_id}" in html
    assert "Retry all 1" in html
    overview = signed_in.get("/dashboard").text
    assert 'id="count-parked">1<' in overview


def test_retry_of_a_resolved_item_says_nothing_happened(signed_in: TestClient) -> None:
    """Retrying when nothing is open answers with a message rather than an error page."""
    from tests.integration.dashboard.conftest import csrf_from

    token = csrf_from(signed_in.get("/dashboard/parked").text)
    answer = signed_in.post("/dashboard/parked/retry", data={"csrf_token": token, "all": "1"})
    assert answer.status_code == 303
    assert "Nothing+to+retry" in answer.headers["location"]


def test_settings_show_the_mapping_but_no_secret(signed_in: TestClient, service: Service) -> None:
    """Settings list the mapping and webhook URLs; tokens and client secrets are masked."""
    html = signed_in.get("/dashboard/settings").text
    assert "Payment Approved" in html
    assert "account_code" in html
    assert "/webhooks/xero" in html
    assert "kommo-sandbox-token" not in html
    assert "xero-sandbox-secret" not in html
    assert "xero-sandbox-webhook-key" not in html


def test_sandbox_panel_only_in_the_demo(signed_in: TestClient, service: Service) -> None:
    """Without sandbox URLs the panel is neither linked nor served."""
    assert "/dashboard/sandbox" not in signed_in.get("/dashboard").text
    assert signed_in.get("/dashboard/sandbox").status_code == 404
    service.sandbox_urls = {"kommo": "http://127.0.0.1:9", "xero": "http://127.0.0.1:9"}  # type: ignore[attr-defined]
    assert "/dashboard/sandbox" in signed_in.get("/dashboard").text
    assert signed_in.get("/dashboard/sandbox").status_code == 200


def test_change_stamp_moves_when_data_changes(signed_in: TestClient, service: Service) -> None:
    """The stamp the live script polls changes when a link is added."""
    before = signed_in.get("/dashboard/api/changes").json()["stamp"]
    add_link(service, 1)
    assert signed_in.get("/dashboard/api/changes").json()["stamp"] != before
