"""Flow A end to end: a deal approved in the Kommo simulator becomes one Xero invoice."""

from __future__ import annotations

from tests.integration.flows.conftest import Sandbox, wait_until


def test_approved_deal_gets_invoice_fields_note_and_pdf(sandbox: Sandbox) -> None:
    """Moving a deal to Payment Approved creates one AUTHORISED invoice shown on the deal."""
    lead_id = sandbox.new_deal("Website redesign", 4500, currency="USD")
    sandbox.approve(lead_id)

    deal = wait_until(lambda: sandbox.invoiced(lead_id))

    invoices = sandbox.invoices_for(lead_id)
    assert 1 == len(invoices)
    invoice = invoices[0]
    assert "AUTHORISED" == invoice.status
    assert "USD" == invoice.currency_code
    assert invoice.number == deal["fields"]["Xero invoice number"]
    assert "Awaiting payment" == deal["fields"]["Xero invoice status"]
    assert 4500 == float(deal["fields"]["Xero amount due"])
    assert str(deal["fields"]["Xero invoice link"]).startswith("http")
    assert any(invoice.number in n["params"].get("text", "") for n in deal["notes"])
