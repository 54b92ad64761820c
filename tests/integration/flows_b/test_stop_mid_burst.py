"""Stopping the service with flows in flight: one line in the log, and a restart finishes them."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from kommo_xero.sandbox.stack import Simulators

from .conftest import make_box, wait_until

_CUT_OFF = ("Exception encountered in", "Asyncio task cancelled for workflow")


class _Kept(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def resume_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "resume when this executor" in r.getMessage()]


def test_stopping_mid_burst_logs_one_line_and_a_restart_finishes_every_deal(
    tmp_path: Path, sims: Simulators, caplog: pytest.LogCaptureFixture
) -> None:
    """No DBOS traceback per cut-off workflow but one warning; a restart makes one invoice each."""
    dbos_log = logging.getLogger("dbos")  # DBOS's logger does not propagate: listen on it
    kept = _Kept()
    dbos_log.addHandler(kept)
    # Slow Xero calls keep documents and write-backs in flight when the stop comes.
    sims.xero_sim.post("/faults", json={"route": "/api.xro/", "latency_ms": 400})
    box = make_box(tmp_path, sims)
    try:
        deals = [box.new_deal(f"Stopped {i}", price=100 + i) for i in range(12)]
        for lead_id in deals:
            box.approve_deal(lead_id)
        wait_until(lambda: box.deal(deals[0])["fields"].get("Xero invoice number"), timeout=60)
        caplog.set_level(logging.WARNING, logger="kommo_xero.workflows.engine")
        box.service.stop()
        # Workflows are cut off as the service's loop winds down, a moment after stop().
        wait_until(lambda: kept.records or resume_warnings(caplog), timeout=10)
        time.sleep(1)
    finally:
        dbos_log.removeHandler(kept)
    assert not [r for r in kept.records if r.getMessage().startswith(_CUT_OFF)]
    assert len(resume_warnings(caplog)) == 1

    sims.xero_sim.delete("/faults")
    again = make_box(tmp_path, sims)  # same database and executor id: recovery
    try:
        for lead_id in deals:
            wait_until(lambda i=lead_id: box.deal(i)["fields"].get("Xero invoice number"), 60)
            assert len(box.invoices_for(lead_id)) == 1
    finally:
        again.service.stop()
