"""Exactly one invoice per deal: repeated deliveries and a burst of approvals."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from tests.integration.flows.conftest import Sandbox, wait_until

from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.xero import XeroSimConfig


# Both services' rate limits raised: this module tests exactness, not pacing (see bench/).
@pytest.fixture
def xero_sim_config() -> XeroSimConfig:
    return XeroSimConfig(webhook_time_scale=0.001, minute_limit=600)


@pytest.fixture
def kommo_sim_config() -> KommoSimConfig:
    return KommoSimConfig(webhook_time_scale=0.001, rate_limit_per_second=60)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {"xero_calls_per_minute": 550, "kommo_requests_per_second": 50}


def _status_delivery(sandbox: Sandbox, lead_id: int) -> dict[str, Any]:
    """The status_lead delivery the Kommo simulator sent for `lead_id`."""

    def find() -> dict[str, Any] | None:
        log = sandbox.sims.kommo_sim.get("/webhook-deliveries").json()
        entries = log if isinstance(log, list) else log.get("deliveries", [])
        return next(
            (
                d
                for d in entries
                if d.get("kind") == "status_lead" and lead_id in d.get("lead_ids", []) and d["ok"]
            ),
            None,
        )

    found: dict[str, Any] = wait_until(find)
    return found


def _assert_written_back(sandbox: Sandbox, lead_id: int, deal: dict[str, Any]) -> None:
    invoices = sandbox.invoices_for(lead_id)
    assert len(invoices) == 1, lead_id
    number = invoices[0].number
    assert deal["fields"]["Xero invoice number"] == number
    assert deal["fields"]["Xero invoice status"] == "Awaiting payment"
    assert [f["name"] for f in deal["files"] if f["is_pdf"]] == [f"{number}.pdf"]
    created = [n for n in sandbox.notes(lead_id) if number in n and "created" in n]
    assert len(created) == 1, sandbox.notes(lead_id)


def test_same_webhook_five_times_makes_one_invoice(sandbox: Sandbox) -> None:
    """Kommo delivering the same stage change five times yields one invoice and one note."""
    lead_id = sandbox.new_deal("Repeated delivery", 1250, client="Echo Ltd")
    sandbox.approve(lead_id)
    body = _status_delivery(sandbox, lead_id)["body"]

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: sandbox.post_webhook(body), range(4)))
    assert all(a.status_code == 200 for a in answers)

    deal = wait_until(lambda: sandbox.invoiced(lead_id))
    _assert_written_back(sandbox, lead_id, deal)
    assert not any("already has" in n for n in sandbox.notes(lead_id))


@pytest.mark.slow
def test_twenty_deals_approved_at_once_each_get_one_invoice(sandbox: Sandbox) -> None:
    """Twenty deals approved together: twenty invoices, each deal written back, few Xero calls."""
    deals = [sandbox.new_deal(f"Burst {i}", 100 + i, client=f"Burst client {i}") for i in range(20)]
    sandbox.sims.xero_sim.delete("/calls")
    with ThreadPoolExecutor(10) as pool:
        list(pool.map(sandbox.approve, deals))

    written = {
        lead_id: wait_until(lambda lead_id=lead_id: sandbox.invoiced(lead_id), 60)
        for lead_id in deals
    }

    for lead_id, deal in written.items():
        _assert_written_back(sandbox, lead_id, deal)
    assert len({sandbox.invoices_for(d)[0].number for d in deals}) == 20
    assert len(sandbox.all_invoices()) == 20
    calls = sandbox.sims.xero_sim.get("/calls").json()["calls"]
    creates = sum(n for route, n in calls.items() if route.startswith("PUT /api.xro/2.0/Invoices"))
    assert creates <= 4, calls
    statuses = sandbox.sims.xero_sim.get("/calls").json()["statuses"]
    assert not [s for s in statuses if s.endswith(" 429")], statuses
