"""The real `kommo-xero` command, run as a user runs it, against simulators in this process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.testing import CliRunner

from kommo_xero.cli import app
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import (
    Simulators,
    sandbox_settings,
    settings_toml,
    start_simulators,
)
from kommo_xero.sandbox.xero import XeroSimConfig

CLI = Path(sys.executable).with_name("kommo-xero")


def cli_env() -> dict[str, str]:
    """The test's environment without kommo-xero settings, and a wide terminal for rich."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOMMO_XERO_")}
    return env | {"COLUMNS": "200", "NO_COLOR": "1"}


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], capture_output=True, text=True, timeout=timeout, env=cli_env()
    )


@dataclass
class Installed:
    """The simulators plus a config file pointing `kommo-xero` at them."""

    sims: Simulators
    config: Path

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, "--config", str(self.config))
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def new_deal(self, name: str, price: float, client: str | None = "ACME Ltd") -> int:
        contact_id = None
        if client is not None:
            contact = self.sims.kommo_sim.post(
                "/contacts", json={"name": client, "email": f"ap@{client.split()[0]}.example"}
            )
            contact.raise_for_status()
            contact_id = contact.json()["id"]
        lead = self.sims.kommo_sim.post(
            "/leads",
            json={
                "name": name,
                "price": price,
                "currency": "USD",
                "description": f"{name} work",
                "status_name": "New deal",
                "contact_id": contact_id,
            },
        )
        lead.raise_for_status()
        return int(lead.json()["id"])

    def approve(self, lead_id: int) -> None:
        self.sims.kommo_sim.post(
            f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"}
        ).raise_for_status()

    def deal(self, lead_id: int) -> dict[str, Any]:
        return dict(self.sims.kommo_sim.get(f"/leads/{lead_id}").json())

    def invoices(self) -> list[Any]:
        return list(self.sims.xero.app.state.sim.first_org.invoices.values())

    def invoices_for(self, lead_id: int) -> list[Any]:
        return [inv for inv in self.invoices() if inv.reference == f"Kommo deal {lead_id}"]

    def leads_named(self, text: str) -> list[Any]:
        leads = self.sims.kommo.app.state.sim.leads.values()
        return [lead for lead in list(leads) if text in lead.name]

    def writes(self, sim: httpx.Client) -> dict[str, int]:
        """Calls that change data, by route, as the simulator counted them."""
        calls = sim.get("/calls").json()["calls"]
        return {
            route: n
            for route, n in calls.items()
            if not route.startswith(("GET", "HEAD")) and "/connect/token" not in route
        }


@pytest.fixture
def installed(tmp_path: Path) -> Iterator[Installed]:
    sims = start_simulators(
        kommo_config=KommoSimConfig(webhook_time_scale=0.001),
        xero_config=XeroSimConfig(webhook_time_scale=0.001, webhook_batch_window_s=0.05),
    )
    settings = sandbox_settings(
        tmp_path / "data",
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=free_port(),
    )
    config = tmp_path / "kommo-xero.toml"
    config.write_text(settings_toml(settings))
    yield Installed(sims, config)
    sims.stop()


def _command_paths(group: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under a typer group (typer ships its own click; duck-type it)."""
    paths: list[tuple[str, ...]] = []
    for name, command in getattr(group, "commands", {}).items():
        paths.append((*prefix, name))
        paths.extend(_command_paths(command, (*prefix, name)))
    return paths


def test_help_of_the_command_and_every_subcommand_exits_0() -> None:
    """`kommo-xero --help` (the installed script) and `--help` of every (sub)command exit 0."""
    done = run_cli("--help")
    assert done.returncode == 0 and "Usage" in done.stdout, done.stdout + done.stderr
    paths = _command_paths(typer.main.get_command(app))
    assert {("demo",), ("sync", "deal"), ("backfill",), ("status",), ("retry",)} <= set(paths)
    runner = CliRunner()
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert shown.exit_code == 0, (path, shown.output)
        assert "Usage" in shown.output and path[-1] in shown.output, (path, shown.output)


@pytest.mark.slow
def test_demo_exit_runs_the_scenario_and_prints_the_summary() -> None:
    """The README's first command, `kommo-xero demo --exit`, exits 0 after the summary table."""
    port, kommo_port, xero_port = free_port(), free_port(), free_port()
    done = run_cli(
        "demo",
        "--exit",
        "--port",
        str(port),
        "--kommo-port",
        str(kommo_port),
        "--xero-port",
        str(xero_port),
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "Deal → invoice" in done.stdout
    assert "Website redesign" in done.stdout and "INV-0001" in done.stdout
    assert "✗" not in done.stdout


@pytest.mark.slow
def test_sync_deal_dry_run_prints_the_request_and_writes_nothing(installed: Installed) -> None:
    """`sync deal ID --dry-run` shows the invoice it would send; Kommo and Xero stay unchanged."""
    lead_id = installed.new_deal("Dry job", 870, client="Dry Goods Ltd")
    installed.sims.kommo_sim.delete("/calls")
    installed.sims.xero_sim.delete("/calls")

    done = installed.cli("sync", "deal", str(lead_id), "--dry-run")

    plan = json.loads(done.stdout)
    assert plan["result"] == "would create an invoice"
    invoice = plan["request"]["body"]["Invoices"][0]
    assert invoice["Reference"] == f"Kommo deal {lead_id}"
    assert [(line["Quantity"], line["UnitAmount"]) for line in invoice["LineItems"]] == [(1, 870)]
    assert plan["contact"]["name"] == "Dry Goods Ltd"
    assert installed.invoices() == []
    assert installed.writes(installed.sims.xero_sim) == {}
    assert installed.writes(installed.sims.kommo_sim) == {}
    assert not installed.deal(lead_id)["fields"].get("Xero invoice number")


@pytest.mark.slow
def test_sync_deal_creates_the_invoice_and_sync_invoice_brings_the_payment(
    installed: Installed,
) -> None:
    """`sync deal ID` makes one invoice shown on the deal; after a payment in Xero,
    `sync invoice ID` turns the deal to Paid; running `sync deal` again makes no second one."""
    lead_id = installed.new_deal("Manual job", 1250)
    installed.approve(lead_id)

    done = installed.cli("sync", "deal", str(lead_id))
    assert f"deal {lead_id}: invoiced" in done.stdout
    [invoice] = installed.invoices_for(lead_id)
    assert float(invoice.total) == 1250
    assert installed.deal(lead_id)["fields"]["Xero invoice number"] == invoice.number

    installed.sims.xero_sim.post(f"/invoices/{invoice.invoice_id}/pay").raise_for_status()
    paid = installed.cli("sync", "invoice", invoice.invoice_id)
    assert f"invoice {invoice.invoice_id}:" in paid.stdout
    assert installed.deal(lead_id)["fields"]["Xero invoice status"] == "Paid"

    installed.cli("sync", "deal", str(lead_id))
    assert len(installed.invoices_for(lead_id)) == 1


@pytest.mark.slow
def test_status_lists_links_and_parked_fixes_and_retry_retries_everything(
    installed: Installed,
) -> None:
    """`status` shows the linked deal and each parked deal with its fix; after fixing the data,
    `retry` with no ids invoices every parked deal and `status` shows nothing parked."""
    good = installed.new_deal("Fine job", 300)
    free = [installed.new_deal(f"Unpriced job {n}", 0, client=f"Zero{n} Ltd") for n in range(2)]
    for lead_id in (good, *free):
        installed.approve(lead_id)
        installed.cli("sync", "deal", str(lead_id))

    status = installed.cli("status").stdout
    assert f"Fine job (#{good})" in status
    assert installed.invoices_for(good)[0].number in status
    assert "2 parked item(s)" in status
    for lead_id in free:
        assert f"deal {lead_id}:" in status
    assert status.count("fix: ") == 2 and "kommo-xero retry" in status

    for lead_id in free:
        installed.sims.kommo_sim.patch(f"/leads/{lead_id}", json={"price": 150})
    retried = installed.cli("retry").stdout
    assert retried.count("invoiced") == 2, retried
    for lead_id in free:
        assert len(installed.invoices_for(lead_id)) == 1
    assert "nothing parked" in installed.cli("status").stdout
    assert "nothing to retry" in installed.cli("retry").stdout


@pytest.mark.slow
def test_reconcile_converges_after_webhooks_were_dropped(installed: Installed) -> None:
    """With every webhook dropped, `reconcile` invoices the approved deal and makes a deal for
    the hand-made invoice; a second run changes nothing."""
    for sim in (installed.sims.kommo_sim, installed.sims.xero_sim):
        sim.post("/webhook-faults", json={"drop_rate": 1.0}).raise_for_status()
    lead_id = installed.new_deal("Missed job", 640)
    installed.approve(lead_id)
    hand_made = installed.sims.xero_sim.post(
        "/invoices",
        json={
            "contact_name": "Walk-in Ltd",
            "lines": [{"description": "Repair", "quantity": 1, "unit_amount": 95}],
            "currency": "USD",
            "status": "AUTHORISED",
        },
    ).json()

    first = installed.cli("reconcile").stdout
    assert "deals that entered the trigger stage: 1" in first
    [invoice] = installed.invoices_for(lead_id)
    assert installed.deal(lead_id)["fields"]["Xero invoice number"] == invoice.number
    assert len(installed.leads_named(hand_made["InvoiceNumber"])) == 1

    installed.cli("reconcile")
    assert len(installed.invoices_for(lead_id)) == 1
    assert len(installed.leads_named(hand_made["InvoiceNumber"])) == 1


def test_config_with_an_unknown_key_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A misspelt key in the config file stops the command with exit 2 and names the key."""
    config = tmp_path / "bad.toml"
    config.write_text(
        f'[service]\ndata_dir = "{tmp_path.as_posix()}"\n\n[mapping]\ntrigger_stagee = "Won"\n'
    )
    done = run_cli("status", "--config", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "trigger_stagee" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_config_with_a_bad_value_exits_2_naming_the_key(tmp_path: Path) -> None:
    """A value of the wrong type stops the command with exit 2 and names the key."""
    config = tmp_path / "bad.toml"
    config.write_text('[service]\nreconcile_interval_s = "often"\n')
    done = run_cli("status", "--config", str(config))
    assert done.returncode == 2, done.stdout + done.stderr
    assert "service.reconcile_interval_s" in done.stdout


def test_serve_without_a_kommo_token_names_the_variable_to_set(tmp_path: Path) -> None:
    """`serve` with no Kommo token stops and says to set KOMMO_XERO_KOMMO__TOKEN."""
    config = tmp_path / "no-token.toml"
    config.write_text(f'[service]\ndata_dir = "{(tmp_path / "fresh").as_posix()}"\n')
    done = run_cli("serve", "--config", str(config), "--port", str(free_port()), timeout=60)
    assert done.returncode != 0
    assert "KOMMO_XERO_KOMMO__TOKEN" in done.stdout + done.stderr
