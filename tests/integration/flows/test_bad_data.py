"""Deals that cannot be invoiced: a note on what to fix, a parked item, recovery after it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
from tests.integration.flows.conftest import (
    TENANT,
    Sandbox,
    make_sandbox,
    subscribe_webhook,
    wait_until,
)

from kommo_xero.sandbox.stack import (
    KOMMO_SANDBOX_TOKEN,
    Simulators,
    run_in_service,
    settings_toml,
    start_service,
)
from kommo_xero.workflows.retry import retry_parked

CLI = Path(sys.executable).with_name("kommo-xero")


def _parked_with_note(sandbox: Sandbox, lead_id: int, code: str, words: str) -> str:
    """Wait for the parked item; return the note on the deal that explains it."""
    items = wait_until(lambda: sandbox.parked(lead_id))
    assert [i["reason_code"] for i in items] == [code]
    notes = wait_until(
        lambda: [n for n in sandbox.notes(lead_id) if n.startswith("Could not create")]
    )
    assert len(notes) == 1, sandbox.notes(lead_id)
    assert words in notes[0]
    assert "To fix:" in notes[0]
    assert sandbox.invoices_for(lead_id) == []
    return notes[0]


def _move_again(sandbox: Sandbox, lead_id: int) -> None:
    """Move the deal out of the stage and back, as a person would, seconds later.

    Kommo stamps changes in whole seconds, and a re-entry stamped like the first entry is
    indistinguishable from a repeated delivery of it; the account clock moves on instead.
    """
    sandbox.sims.kommo_sim.post("/clock/advance", json={"seconds": 2}).raise_for_status()
    sandbox.move(lead_id, "New deal")
    sandbox.sims.kommo_sim.post("/clock/advance", json={"seconds": 2}).raise_for_status()
    sandbox.approve(lead_id)


def _recovered(sandbox: Sandbox, lead_id: int) -> None:
    deal = wait_until(lambda: sandbox.invoiced(lead_id))
    invoices = sandbox.invoices_for(lead_id)
    assert len(invoices) == 1
    assert deal["fields"]["Xero invoice number"] == invoices[0].number
    assert sandbox.parked(lead_id) == []


def test_deal_without_contact_parks_then_invoices_after_linking_one(sandbox: Sandbox) -> None:
    """No contact: the note asks to link one; linking it and moving the deal again invoices it."""
    lead_id = sandbox.new_deal("Orphan deal", 900, client=None)
    sandbox.approve(lead_id)
    _parked_with_note(sandbox, lead_id, "no_contact", "no contact or company")

    contact = sandbox.sims.kommo_sim.post("/contacts", json={"name": "Found Ltd"}).json()["id"]
    httpx.post(
        f"{sandbox.sims.kommo.base_url}/api/v4/leads/{lead_id}/link",
        json=[{"to_entity_id": contact, "to_entity_type": "contacts"}],
        headers={"Authorization": f"Bearer {KOMMO_SANDBOX_TOKEN}"},
    ).raise_for_status()
    _move_again(sandbox, lead_id)

    _recovered(sandbox, lead_id)
    org = sandbox.sims.xero.app.state.sim.orgs[TENANT]
    assert org.contacts[sandbox.invoices_for(lead_id)[0].contact_id].name == "Found Ltd"


def test_zero_amount_parks_then_invoices_after_setting_a_price(sandbox: Sandbox) -> None:
    """A zero total: the note asks for an amount; setting one and moving again invoices it."""
    lead_id = sandbox.new_deal("Free lunch", 0, client="Zero Ltd")
    sandbox.approve(lead_id)
    _parked_with_note(sandbox, lead_id, "zero_amount", "amount above zero")

    sandbox.sims.kommo_sim.patch(f"/leads/{lead_id}", json={"price": 320}).raise_for_status()
    _move_again(sandbox, lead_id)

    _recovered(sandbox, lead_id)
    assert float(sandbox.invoices_for(lead_id)[0].total) == 320


def test_currency_not_enabled_parks_then_retry_in_the_service_invoices(sandbox: Sandbox) -> None:
    """NZD not enabled: the note names it; enabling NZD and a retry in the service invoices it."""
    lead_id = sandbox.new_deal("Kiwi job", 1500, currency="NZD", client="Kiwi Ltd")
    sandbox.approve(lead_id)
    _parked_with_note(sandbox, lead_id, "currency_not_enabled", "NZD is not enabled")

    sandbox.sims.xero_sim.post("/currencies", json={"code": "NZD", "enabled": True})
    assert sandbox.service is not None
    started = run_in_service(sandbox.service, retry_parked(sandbox.settings.connection_name))
    assert len(started) == 1

    _recovered(sandbox, lead_id)
    assert sandbox.invoices_for(lead_id)[0].currency_code == "NZD"


def test_unknown_account_code_parks_then_cli_retry_invoices(
    tmp_path: Path, sims: Simulators, database_url: str | None
) -> None:
    """Account 999 unknown: the note names it; after adding it, `kommo-xero retry` invoices it."""
    sandbox = make_sandbox(
        tmp_path, sims, database_url=database_url, mapping={"account_code": "999"}
    )
    try:
        lead_id = sandbox.new_deal("Odd account", 640, client="Ledger Ltd")
        sandbox.approve(lead_id)
        _parked_with_note(sandbox, lead_id, "unknown_account_code", "'999' does not exist")
        item_id = sandbox.parked(lead_id)[0]["id"]
        sims.xero_sim.post("/accounts", json={"code": "999", "name": "Misc", "type": "REVENUE"})
        assert sandbox.service is not None
        sandbox.service.stop()

        config = tmp_path / "kommo-xero.toml"
        config.write_text(settings_toml(sandbox.settings))
        done = subprocess.run(
            [str(CLI), "retry", str(item_id), "--config", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "invoiced" in done.stdout

        # The PDF and link follow on the documents queue of the restarted service.
        sandbox.service = start_service(sandbox.settings, port=sandbox.settings.service.port)
        subscribe_webhook(sims, sandbox.service.base_url)
        _recovered(sandbox, lead_id)
        assert sandbox.invoices_for(lead_id)[0].line_items[0].account_code == "999"
    finally:
        if sandbox.service is not None:
            sandbox.service.stop()
