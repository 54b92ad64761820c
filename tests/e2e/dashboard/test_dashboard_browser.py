"""The dashboard in a real browser against the running sandbox."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect
from tests.e2e.dashboard.conftest import shoot, sign_in
from tests.integration.flows.conftest import Sandbox, wait_until

pytestmark = pytest.mark.browser

# What the page waits for is the flows' work at Xero's real pace (a burst of calls, then one
# every 60/55 s, decision 0008), not the page itself: give it more than Playwright's 5 s.
expect.set_options(timeout=20_000)


def test_sign_in_links_history_parked_and_retry(demo: Sandbox, page: Page) -> None:
    """Links appear live as deals are approved; a parked NZD deal is invoiced after a retry."""
    base = demo.service.base_url if demo.service else ""
    page.goto(f"{base}/dashboard")
    expect(page).to_have_url(re.compile(r"/dashboard/sign-in"))
    shoot(page, "dashboard-sign-in")
    sign_in(page, base)
    expect(page.locator("h1")).to_have_text("Overview")

    page.goto(f"{base}/dashboard/links")
    expect(page.locator("#links")).to_contain_text("No links yet")
    deals = [
        ("Website redesign", 4500.0, "ACME Ltd"),
        ("Annual support plan", 1200.0, "Globex Corporation"),
        ("Brand workshop", 2800.0, "Initech"),
    ]
    lead_ids = []
    for name, price, client in deals:
        lead_id = demo.new_deal(name, price, currency="USD", client=client)
        demo.approve(lead_id)
        lead_ids.append(lead_id)
    # No reload: the live script swaps the table in when the links change.
    first = page.locator(f'tr[data-lead="{lead_ids[0]}"]')
    expect(first).to_contain_text(re.compile(r"INV-\d+"))
    for lead_id in lead_ids:
        expect(page.locator(f'tr[data-lead="{lead_id}"]')).to_contain_text("Awaiting payment")
    wait_until(lambda: all(demo.invoiced(lead) for lead in lead_ids))
    shoot(page, "dashboard-links")

    first.locator("a.strong").click()
    expect(page.locator("#timeline")).to_contain_text("created in Xero")
    expect(page.locator("#timeline")).to_contain_text("entered the trigger stage")
    expect(page.locator("#link-invoice")).to_contain_text(re.compile(r"INV-\d+"))
    shoot(page, "dashboard-link-history")

    nzd = demo.new_deal("Consulting in Auckland", 3100, currency="NZD", client="Kiwi Ventures")
    page.goto(f"{base}/dashboard/parked")
    demo.approve(nzd)
    item = page.locator(f'tr.parked-item[data-subject="{nzd}"]')
    expect(item.locator(".reason")).to_have_text("Currency not enabled in Xero")
    expect(item.locator(".fix")).to_contain_text("NZD")
    shoot(page, "dashboard-parked")

    # The fix, made as a person would in Xero: the sandbox panel enables the currency.
    page.goto(f"{base}/dashboard/sandbox")
    page.fill("input[name=code]", "NZD")
    page.click("form[action$='/sandbox/enable-currency'] button")
    expect(page.locator(".flash-ok")).to_contain_text("NZD enabled")
    shoot(page, "dashboard-sandbox")

    page.goto(f"{base}/dashboard/parked")
    page.locator(f'tr.parked-item[data-subject="{nzd}"] button').click()
    expect(page.locator(".flash-ok")).to_contain_text("Retrying 1 item")
    expect(page.locator("#parked-list")).to_contain_text("Nothing is parked")
    wait_until(lambda: demo.invoiced(nzd))
    invoices = demo.invoices_for(nzd)
    assert [inv.currency_code for inv in invoices] == ["NZD"]

    page.goto(f"{base}/dashboard/links?q={nzd}")
    row = page.locator(f'tr[data-lead="{nzd}"]')
    expect(row).to_contain_text(invoices[0].number)
    expect(row).to_contain_text("3,100.00")

    page.goto(f"{base}/dashboard")
    expect(page.locator("#count-invoices")).to_have_text("4")
    expect(page.locator("#count-parked")).to_have_text("0")
    shoot(page, "dashboard-overview")
    page.goto(f"{base}/dashboard/settings")
    expect(page.locator("body")).to_contain_text("Payment Approved")
    shoot(page, "dashboard-settings")

    metrics = httpx.get(f"{base}/metrics").text
    assert 'kommo_xero_webhooks_received_total{outcome="accepted",source="kommo"}' in metrics
    assert 'kommo_xero_api_calls_total{service="xero",status="200"}' in metrics


def test_signed_out_browser_sees_the_sign_in_page(demo: Sandbox, page: Page) -> None:
    """Opening any dashboard page signed out shows the sign-in form, then returns there."""
    base = demo.service.base_url if demo.service else ""
    page.goto(f"{base}/dashboard/parked")
    expect(page.locator("h1")).to_have_text("Sign in")
    page.fill("#password", "wrong password here")
    page.click("button[type=submit]")
    expect(page.locator("#sign-in-error")).to_have_text("Wrong password.")
    page.fill("#password", "sandbox admin password")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/dashboard/parked$"))
    expect(page.locator("h1")).to_have_text("Parked work")
