"""A burst of deals approved at once, the Xero simulator enforcing Xero's real limits.

Prints Xero calls per invoice, 429s seen and the time until the last deal shows its
invoice number, for the batched flow and for two baselines: the same flow with batching
switched off (`mapping.batch_size = 1`), and batched but with Xero's minute budget allowed in
one go (`xero.burst_calls = calls_per_minute`, as before decision 0008), then the ratios. The
unbatched baseline runs on fewer deals (it is bound by Xero's 60 calls a minute), so the
comparison is per deal.

Usage: python -m bench.bench_burst [DEALS] [BASELINE_DEALS]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._support import wait_until
from kommo_xero.config import XeroSettings
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import (
    Simulators,
    register_kommo_webhook,
    sandbox_settings,
    start_service,
    start_simulators,
)

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"


def create_deals(sims: Simulators, count: int) -> list[int]:
    ids = []
    for n in range(count):
        contact = sims.kommo_sim.post(
            "/contacts", json={"name": f"Client {n:04d} Ltd", "email": f"ap{n}@client.example"}
        ).json()
        lead = sims.kommo_sim.post(
            "/leads",
            json={
                "name": f"Deal {n:04d}",
                "price": 100 + n,
                "currency": "USD",
                "status_name": "Negotiation",
                "contact_id": contact["id"],
            },
        ).json()
        ids.append(int(lead["id"]))
    return ids


def shown(sims: Simulators, lead_ids: list[int]) -> int:
    state = sims.kommo.app.state.sim
    field = next(f for f in state.fields.values() if f.name == "Xero invoice number")
    with state.lock:
        return sum(1 for i in lead_ids if state.leads[i].custom_fields.get(field.id))


def run(deals: int, batch_size: int, burst_calls: int | None = None) -> dict[str, Any]:
    sims = start_simulators()
    folder = Path(tempfile.mkdtemp(prefix="kx-bench-burst-"))
    port = free_port()
    settings = sandbox_settings(
        folder,
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
        mapping={"batch_size": batch_size},
    )
    if burst_calls is not None:
        xero = settings.xero.model_copy(update={"burst_calls": burst_calls})
        settings = settings.model_copy(update={"xero": xero})
    lead_ids = create_deals(sims, deals)
    service = start_service(settings, port=port)
    register_kommo_webhook(sims.kommo.base_url, service.base_url)
    try:
        sims.xero_sim.delete("/calls")
        started = time.monotonic()
        for lead_id in lead_ids:
            sims.kommo_sim.post(f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"})
        approve_time = time.monotonic() - started
        wait_until(lambda: shown(sims, lead_ids) == deals, timeout=3600, interval=1)
        elapsed = time.monotonic() - started
        calls = sims.xero_sim.get("/calls").json()
        counters = sims.xero_sim.get("/counters").json()
        org = sims.xero.app.state.sim.orgs[TENANT]
        per_deal = {}
        for inv in list(org.invoices.values()):
            per_deal[inv.reference] = per_deal.get(inv.reference, 0) + 1
        return {
            "deals": deals,
            "approve_s": approve_time,
            "elapsed_s": elapsed,
            "xero_calls": calls["total"],
            "xero_429": sum(v for k, v in calls["statuses"].items() if k.endswith(" 429")),
            "max_per_minute": counters,
            "duplicates": sum(1 for n in per_deal.values() if n > 1),
            "invoices": len(per_deal),
            "by_route": calls["calls"],
        }
    finally:
        service.stop()
        sims.stop()


def report(label: str, r: dict[str, Any]) -> None:
    print(
        f"{label:<22} {r['deals']:4d} deals  {r['elapsed_s']:7.1f} s to the last invoice on a "
        f"deal  ({r['elapsed_s'] / r['deals']:.2f} s/deal)  Xero calls {r['xero_calls']:5d} "
        f"({r['xero_calls'] / r['deals']:.2f}/invoice)  429s {r['xero_429']}  "
        f"duplicates {r['duplicates']}"
    )


def main() -> None:
    deals = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    baseline_deals = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    batched = run(deals, batch_size=50)
    report("batched (50/request)", batched)
    unsmoothed = run(deals, batch_size=50, burst_calls=XeroSettings().calls_per_minute)
    report("baseline (whole minute)", unsmoothed)
    print(
        f"ratio whole-minute/smoothed: Xero calls x"
        f"{unsmoothed['xero_calls'] / batched['xero_calls']:.1f}, time x"
        f"{unsmoothed['elapsed_s'] / batched['elapsed_s']:.1f}"
    )
    unbatched = run(baseline_deals, batch_size=1)
    report("baseline (no batching)", unbatched)
    calls_ratio = (unbatched["xero_calls"] / unbatched["deals"]) / (
        batched["xero_calls"] / batched["deals"]
    )
    time_ratio = (unbatched["elapsed_s"] / unbatched["deals"]) / (
        batched["elapsed_s"] / batched["deals"]
    )
    print(
        f"ratio baseline/batched: Xero calls per invoice x{calls_ratio:.1f}, time per deal "
        f"x{time_ratio:.1f}"
    )
    print("Xero calls by route (batched run, includes documents done so far):")
    for route, count in sorted(batched["by_route"].items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d}  {route}")


if __name__ == "__main__":
    main()
