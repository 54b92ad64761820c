"""One deal, both simulators adding 100 ms to every call: how close the flow gets to its floor.

The floor is the number of API calls the flow makes one after another × 100 ms. Prints the
time from the stage change until the deal shows its invoice number (and until the PDF is on
the deal) next to that floor, over a few runs. Runs are a Xero burst window apart (the time
`xero.burst_calls` take to come back at the minute's pace, decision 0008), so each deal is a
lone deal, not the tail of a stream.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench._support import wait_until
from kommo_xero.config import XeroSettings
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import (
    register_kommo_webhook,
    sandbox_settings,
    start_service,
    start_simulators,
)

LATENCY_MS = 100
_XERO = XeroSettings()
BETWEEN_RUNS_S = _XERO.burst_calls * 60 / _XERO.calls_per_minute
RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 5


def main() -> None:
    sims = start_simulators()
    port = free_port()
    settings = sandbox_settings(
        Path(tempfile.mkdtemp(prefix="kx-bench-one-")),
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
    )
    service = start_service(settings, port=port)
    register_kommo_webhook(sims.kommo.base_url, service.base_url)
    shown, attached, calls = [], [], []
    try:
        for sim in (sims.kommo_sim, sims.xero_sim):
            sim.post(
                "/faults",
                json={
                    "route": "^(GET|POST|PUT|PATCH|DELETE) /(api|drive|connect)",
                    "latency_ms": LATENCY_MS,
                },
            )
        for n in range(RUNS + 1):  # the first run warms caches (org facts, contacts)
            contact = sims.kommo_sim.post(
                "/contacts", json={"name": f"Solo {n} Ltd", "email": f"solo{n}@x.example"}
            ).json()
            lead = sims.kommo_sim.post(
                "/leads",
                json={
                    "name": f"Solo deal {n}",
                    "price": 1000,
                    "currency": "USD",
                    "status_name": "Negotiation",
                    "contact_id": contact["id"],
                },
            ).json()
            lead_id = int(lead["id"])
            sims.kommo_sim.delete("/calls")
            sims.xero_sim.delete("/calls")
            start = time.monotonic()
            sims.kommo_sim.post(f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"})

            def fields(lid: int = lead_id) -> dict[str, object]:
                return dict(sims.kommo_sim.get(f"/leads/{lid}").json()["fields"])

            def files(lid: int = lead_id) -> bool:
                return any(f["is_pdf"] for f in sims.kommo_sim.get(f"/leads/{lid}").json()["files"])

            wait_until(lambda: fields().get("Xero invoice number"), 60, 0.02)
            t_shown = time.monotonic() - start
            wait_until(files, 60, 0.02)
            t_pdf = time.monotonic() - start
            # Count only the flow's own calls (the webhook delivery and our polling are /_sim
            # or outside the API prefixes matched above).
            total = (
                sims.kommo_sim.get("/calls").json()["total"]
                + sims.xero_sim.get("/calls").json()["total"]
            )
            time.sleep(BETWEEN_RUNS_S)
            if n == 0:
                continue
            shown.append(t_shown)
            attached.append(t_pdf)
            calls.append(total)
    finally:
        service.stop()
        sims.stop()
    floor = statistics.median(calls) * LATENCY_MS / 1000
    print(
        f"{RUNS} runs {BETWEEN_RUNS_S:.1f} s apart, {LATENCY_MS} ms added to every Kommo and "
        "Xero call"
    )
    print(
        f"  API calls per deal (median): {statistics.median(calls):.0f} -> floor {floor:.2f} s if "
        "all were sequential"
    )
    print(f"  stage change -> invoice number on the deal: median {statistics.median(shown):.2f} s")
    print(
        f"  stage change -> PDF on the deal:            median {statistics.median(attached):.2f} s"
        f"  (x{statistics.median(attached) / floor:.2f} of the floor)"
    )


if __name__ == "__main__":
    main()
