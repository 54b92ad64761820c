"""The flow tests' spec check really sees the product's Xero traffic and really catches misfits."""

from __future__ import annotations

import httpx
import pytest
from tests.integration.flows.conftest import TENANT, Sandbox, wait_until
from tests.support.spec_middleware import SpecCheckedApp

from kommo_xero.sandbox.server import start_in_thread
from kommo_xero.sandbox.xero import XeroSimConfig, create_app


@pytest.mark.parametrize("database_url", [None], indirect=True)
def test_flow_traffic_is_recorded_for_the_spec_check(sandbox: Sandbox) -> None:
    """An approved deal's Xero calls (contacts, invoice, PDF) are all recorded and checked."""
    lead_id = sandbox.new_deal("Spec check", 1000)
    sandbox.approve(lead_id)
    wait_until(lambda: sandbox.invoiced(lead_id))
    checked = sandbox.sims.xero.app
    assert isinstance(checked, SpecCheckedApp)
    paths = {request.url.path for request, _ in checked.exchanges}
    assert "/api.xro/2.0/Invoices" in paths
    checked.assert_all_valid()


def test_a_request_that_breaks_the_spec_is_caught() -> None:
    """A line item whose Quantity is text is reported as breaking Xero's spec."""
    checked = SpecCheckedApp(create_app(XeroSimConfig()), TENANT)
    with start_in_thread(checked) as server:
        token = httpx.post(
            f"{server.base_url}/connect/token",
            data={"grant_type": "client_credentials"},
            auth=("xero-sandbox-client", "xero-sandbox-secret"),
        ).json()["access_token"]
        httpx.put(
            f"{server.base_url}/api.xro/2.0/Invoices",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            json={
                "Invoices": [
                    {
                        "Type": "ACCREC",
                        "Contact": {"Name": "X"},
                        "LineItems": [{"Description": "a", "Quantity": "lots"}],
                    }
                ]
            },
        )
    with pytest.raises(AssertionError, match="breaks the spec"):
        checked.assert_all_valid()
