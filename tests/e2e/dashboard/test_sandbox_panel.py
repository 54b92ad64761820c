"""The demo's sandbox panel drives the simulators as a person would."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus

import httpx
from tests.e2e.dashboard.conftest import PASSWORD
from tests.integration.flows.conftest import TENANT, Sandbox, wait_until


def _signed_in(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=20)
    page = client.get("/dashboard/sign-in").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    client.post("/dashboard/sign-in", data={"csrf_token": token.group(1), "password": PASSWORD})
    return client, token.group(1)


def _act(browser: httpx.Client, token: str, action: str, **form: str) -> str:
    answer = browser.post(f"/dashboard/sandbox/{action}", data={"csrf_token": token, **form})
    assert answer.status_code == 303
    return unquote_plus(answer.headers["location"])


def test_panel_buttons_act_in_kommo_and_xero(demo: Sandbox) -> None:
    """Approve a deal, invoice by hand, pay and void: each reaches the simulator it names."""
    assert demo.service is not None
    client, token = _signed_in(demo.service.base_url)
    try:
        done = _act(client, token, "new-deal", name="Panel deal", client="Umbrella", amount="990")
        lead_id = int(re.search(r"Deal (\d+) created", done).group(1))  # type: ignore[union-attr]
        wait_until(lambda: demo.invoiced(lead_id))
        number = demo.invoices_for(lead_id)[0].number

        by_hand = _act(client, token, "manual-invoice", client="Hooli", amount="250")
        assert "created by hand in Xero for Hooli" in by_hand
        org = demo.sims.xero.app.state.sim.orgs[TENANT]
        names = {org.contacts[inv.contact_id].name for inv in list(org.invoices.values())}
        assert "Hooli" in names

        assert f"Payment recorded on {number}" in _act(client, token, "pay", invoice=number)
        assert demo.invoices_for(lead_id)[0].status == "PAID"

        refused = _act(client, token, "void", invoice=number)
        assert "err=" in refused  # Xero does not void a paid invoice: the reason is shown

        bad = _act(client, token, "new-deal", amount="-5")
        assert "The amount must be above zero." in bad
    finally:
        client.close()
