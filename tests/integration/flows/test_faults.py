"""Both simulators failing a fifth of the calls: every deal still gets exactly one invoice."""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.flows.conftest import Sandbox, wait_until

from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.xero import XeroSimConfig

# Four kinds of failure at 6 % each: about one call in five fails.
FAULTS: list[dict[str, Any]] = [
    {"status": 500, "error_rate": 0.06},
    {"status": 503, "error_rate": 0.06},
    {"status": 429, "error_rate": 0.06, "retry_after": 1},
    {"timeout_rate": 0.06, "hang_s": 1.0},
]


@pytest.fixture
def xero_sim_config() -> XeroSimConfig:
    """Real limits stay on; the per-minute one is raised since retries spend quota."""
    return XeroSimConfig(webhook_time_scale=0.001, minute_limit=300)


@pytest.fixture
def kommo_sim_config() -> KommoSimConfig:
    return KommoSimConfig(webhook_time_scale=0.001, rate_limit_per_second=60)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    return {"xero_calls_per_minute": 250, "kommo_requests_per_second": 50}


@pytest.mark.slow
def test_every_deal_gets_one_invoice_despite_faults_on_both_sides(sandbox: Sandbox) -> None:
    """500, 503, 429 and hung calls on Kommo and Xero: each deal ends with one invoice and PDF."""
    deals = [sandbox.new_deal(f"Flaky {i}", 200 + i, client=f"Flaky client {i}") for i in range(8)]
    for rule in FAULTS:
        # Only the service's API calls fail; the people acting through /_sim never do.
        sandbox.sims.kommo_sim.post("/faults", json={"route": "^[A-Z]+ /(api|drive)/", **rule})
        sandbox.sims.xero_sim.post("/faults", json={"route": "/api.xro/", **rule})
    for lead_id in deals:
        sandbox.approve(lead_id)

    written = {d: wait_until(lambda d=d: sandbox.invoiced(d), timeout=90) for d in deals}

    for lead_id, deal in written.items():
        invoices = sandbox.invoices_for(lead_id)
        assert len(invoices) == 1, lead_id
        assert deal["fields"]["Xero invoice number"] == invoices[0].number
        assert [f["name"] for f in deal["files"] if f["is_pdf"]] == [f"{invoices[0].number}.pdf"]
    assert len(sandbox.all_invoices()) == len(deals)
    injected = sum(r["injected"] for r in sandbox.sims.xero_sim.get("/calls").json()["faults"])
    injected += sum(r["injected"] for r in sandbox.sims.kommo_sim.get("/calls").json()["faults"])
    assert injected > 0
