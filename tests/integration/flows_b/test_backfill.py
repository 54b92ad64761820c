"""Backfill on install: existing Xero invoices are linked to existing deals, or reported."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import Simulators, run_in_service, sandbox_settings, settings_toml
from kommo_xero.workflows import runtime
from kommo_xero.workflows.backfill import BackfillReport, backfill

from .conftest import Box, wait_until

CLI = Path(sys.executable).with_name("kommo-xero")
TODAY = date.today()
YESTERDAY = TODAY - timedelta(days=1)  # the simulator dates in UTC; stay clear of midnight


def old_invoice(box: Box, client: str, amount: float, *, reference: str = "") -> dict[str, Any]:
    """An invoice someone made in Xero before the integration existed."""
    answer = box.sims.xero_sim.post(
        "/invoices",
        json={
            "contact_name": client,
            "lines": [{"description": "Earlier work", "quantity": 1, "unit_amount": amount}],
            "currency": "USD",
            "status": "AUTHORISED",
            "reference": reference,
            "date": TODAY.isoformat(),
        },
    )
    answer.raise_for_status()
    return dict(answer.json())


def number_of(box: Box, invoice_id: str) -> str:
    org = box.sims.xero.app.state.sim.first_org
    return str(next(inv.number for inv in org.invoices.values() if inv.invoice_id == invoice_id))


def run_backfill(box: Box, since: date) -> BackfillReport:
    """Run backfill on the service's own event loop, as the command does in its process."""
    rt = runtime.get(box.settings.connection_name)
    report: BackfillReport = run_in_service(box.service, backfill(rt, since))
    return report


def test_backfill_links_by_reference_then_client_and_amount_and_reports_the_rest(
    box: Box,
) -> None:
    """Existing invoices link to their deals by reference or by client + amount; the deals show
    the invoice, unmatched ones are reported with the reason, and a rerun links nothing new."""
    box.drop_webhooks(1.0)  # existing data: nothing is flowing yet
    by_ref_deal = box.new_deal("Referenced job", 510)
    by_client_deal = box.new_deal("Client job", 730)
    by_ref = old_invoice(box, "Someone Else", 510, reference=f"Kommo deal {by_ref_deal}")
    by_client = old_invoice(box, "Client job client", 730)
    stranger = old_invoice(box, "Nobody Ltd", 999)
    ghost = old_invoice(box, "Ghost Ltd", 20, reference="Kommo deal 99999999")

    report = run_backfill(box, YESTERDAY)

    linked = {number: (lead, how) for number, lead, how in report.linked}
    assert linked == {
        number_of(box, by_ref["InvoiceID"]): (by_ref_deal, "reference"),
        number_of(box, by_client["InvoiceID"]): (by_client_deal, "client and amount"),
    }
    unmatched = dict(report.unmatched)
    assert unmatched[number_of(box, stranger["InvoiceID"])] == "no deal of that client and amount"
    assert "99999999 does not exist" in unmatched[number_of(box, ghost["InvoiceID"])]
    assert len(unmatched) == 2
    for invoice, lead_id in ((by_ref, by_ref_deal), (by_client, by_client_deal)):
        fields = wait_until(lambda lead_id=lead_id: box.deal(lead_id)["fields"])
        assert fields["Xero invoice number"] == number_of(box, invoice["InvoiceID"])
        assert box.lead_for_invoice(invoice["InvoiceID"]) == lead_id
    assert box.sims.kommo.app.state.sim.leads.get(99999999) is None

    again = run_backfill(box, YESTERDAY)
    assert again.linked == []
    assert again.already_linked == 2
    assert dict(again.unmatched) == unmatched


def test_backfilled_deal_follows_its_invoice_afterwards(box: Box) -> None:
    """Once linked by backfill, paying the invoice in Xero turns the deal to Paid."""
    box.drop_webhooks(1.0)
    lead_id = box.new_deal("Older job", 640)
    invoice = old_invoice(box, "Anyone", 640, reference=f"Kommo deal {lead_id}")
    assert [lead for _, lead, _ in run_backfill(box, YESTERDAY).linked] == [lead_id]

    box.drop_webhooks(0.0)
    box.act(invoice["InvoiceID"], "pay")
    wait_until(lambda: box.deal(lead_id)["fields"].get("Xero invoice status") == "Paid")
    assert box.lead_for_invoice(invoice["InvoiceID"]) == lead_id


def test_backfill_ignores_invoices_dated_before_since(box: Box) -> None:
    """An invoice dated before --since stays unlinked and is not reported at all."""
    box.drop_webhooks(1.0)
    lead_id = box.new_deal("Ancient job", 300)
    answer = box.sims.xero_sim.post(
        "/invoices",
        json={
            "contact_name": "Ancient client",
            "lines": [{"description": "Long ago", "quantity": 1, "unit_amount": 300}],
            "status": "AUTHORISED",
            "reference": f"Kommo deal {lead_id}",
            "date": (TODAY - timedelta(days=40)).isoformat(),
        },
    )
    answer.raise_for_status()
    report = run_backfill(box, TODAY - timedelta(days=10))
    assert report.linked == [] and report.unmatched == []
    assert box.lead_for_invoice(answer.json()["InvoiceID"]) is None


@pytest.mark.slow
def test_backfill_command_prints_what_it_linked_and_what_it_could_not(
    tmp_path: Path, sims: Simulators
) -> None:
    """`kommo-xero backfill --since DATE` links by reference and lists the unmatched invoice."""
    settings = sandbox_settings(
        tmp_path,
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=free_port(),
    )
    config = tmp_path / "kommo-xero.toml"
    config.write_text(settings_toml(settings))
    lead = sims.kommo_sim.post(
        "/leads", json={"name": "Cli job", "price": 410, "status_name": "New deal"}
    )
    lead.raise_for_status()
    lead_id = int(lead.json()["id"])
    made = []
    for client, reference in (("Cli client", f"Kommo deal {lead_id}"), ("Unknown Co", "")):
        answer = sims.xero_sim.post(
            "/invoices",
            json={
                "contact_name": client,
                "lines": [{"description": "Work", "quantity": 1, "unit_amount": 410}],
                "status": "AUTHORISED",
                "reference": reference,
            },
        )
        answer.raise_for_status()
        made.append(answer.json()["InvoiceNumber"])

    command = [str(CLI), "backfill", "--since", YESTERDAY.isoformat(), "--config", str(config)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_wide_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Linked 1 invoice(s)" in done.stdout
    assert made[0] in done.stdout and str(lead_id) in done.stdout and "reference" in done.stdout
    assert f"not linked: {made[1]} (no deal of that client and amount)" in done.stdout
    fields = sims.kommo_sim.get(f"/leads/{lead_id}").json()["fields"]
    assert fields["Xero invoice number"] == made[0]

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=120, env=_wide_env())
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert "Linked 0 invoice(s)" in rerun.stdout
    assert "1 invoice(s) were linked already" in rerun.stdout


def _wide_env() -> dict[str, str]:
    """The test's environment with a wide terminal, so rich does not wrap the report."""
    import os

    return {**os.environ, "COLUMNS": "200"}
