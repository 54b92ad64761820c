"""A service process killed mid-flow and restarted finishes the deal with one invoice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.flows.conftest import Sandbox, subscribe_webhook, wait_until

from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import Simulators, sandbox_settings, settings_toml

EXECUTOR = "crash-test"
CLI = Path(sys.executable).with_name("kommo-xero")


class ServiceProcess:
    """`kommo-xero serve` in a child process, as a user runs it."""

    def __init__(self, config: Path, port: int, log: Path) -> None:
        self.config, self.port, self.log = config, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(CLI), "serve", "--config", str(self.config), "--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [*command, "--executor-id", EXECUTOR], stdout=out, stderr=subprocess.STDOUT
            )
        wait_until(self._ready, timeout=30)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"service exited: {self.log.read_text()[-3000:]}")
        try:
            return httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def crash_box(
    tmp_path: Path, sims: Simulators, database_url: str | None
) -> Iterator[tuple[Sandbox, ServiceProcess]]:
    port = free_port()
    settings = sandbox_settings(
        tmp_path,
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
        database_url=database_url,
        executor_id=EXECUTOR,
    )
    config = tmp_path / "kommo-xero.toml"
    config.write_text(settings_toml(settings))
    process = ServiceProcess(config, port, tmp_path / "service.log")
    process.start()
    subscribe_webhook(sims, f"http://127.0.0.1:{port}")
    yield Sandbox(sims, settings, None, tmp_path, database_url), process
    process.stop()


@pytest.mark.slow
def test_killed_between_invoice_and_write_back_completes_after_restart(
    crash_box: tuple[Sandbox, ServiceProcess],
) -> None:
    """SIGKILL after Xero made the invoice but before the deal shows it: restart finishes, once."""
    box, process = crash_box
    kommo = box.sims.kommo_sim
    kommo.post("/faults", json={"route": "PATCH /api/v4/leads$", "latency_ms": 5000})
    lead_id = box.new_deal("Crash midway", 2750, client="Phoenix Ltd")
    box.approve(lead_id)

    wait_until(lambda: box.invoices_for(lead_id), timeout=30, interval=0.02)
    process.kill()
    assert not box.deal(lead_id)["fields"].get("Xero invoice number")

    kommo.delete("/faults")
    process.start()

    deal = wait_until(lambda: box.invoiced(lead_id), timeout=40)
    invoices = box.invoices_for(lead_id)
    assert len(invoices) == 1
    assert deal["fields"]["Xero invoice number"] == invoices[0].number
    assert [f["name"] for f in deal["files"] if f["is_pdf"]] == [f"{invoices[0].number}.pdf"]
    created = [n for n in box.notes(lead_id) if invoices[0].number in n and "created" in n]
    assert len(created) == 1
    link = box.link(lead_id)
    assert link["state"] == "invoiced"
    assert link["invoice_number"] == invoices[0].number
