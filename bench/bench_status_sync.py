"""From a payment recorded in the Xero simulator to the deal showing "Paid".

Two paths in one run: webhooks (the baseline) and poll-only (both simulators drop every
webhook; the reconciliation schedule finds the change at the configured interval). Deals are
made first from hand-made invoices (flow C); payments are then recorded one after another at
a steady rate, each timed until its deal reads "Paid" in Kommo. Xero's per-minute limit is
lifted in the simulator and the service so the figures show the pipeline's own latency
(at 60 calls/min a steady stream of single payments would be paced by Xero, not by us).

Run: .venv/bin/python -m bench.bench_status_sync [payments] [poll_interval_s] [rate_per_s]
"""

from __future__ import annotations

import sys
import threading
import time

from bench._support import summary_ms
from bench._xero_side import Stack, start_stack, wait_for
from kommo_xero.config import KommoSettings


def prepare(stack: Stack, count: int) -> list[tuple[str, int]]:
    ids = [stack.hand_made_invoice(f"Payer {n}", 100 + n) for n in range(count)]
    wait_for(lambda: all(stack.lead_for_invoice(i) for i in ids))
    return [(i, stack.lead_for_invoice(i) or 0) for i in ids]


def measure(stack: Stack, pairs: list[tuple[str, int]], rate: float) -> list[float]:
    latencies: list[float] = [0.0] * len(pairs)

    def watch(index: int, lead_id: int, paid_at: float) -> None:
        wait_for(lambda: stack.lead_status_label(lead_id) == "Paid", interval=0.05)
        latencies[index] = time.monotonic() - paid_at

    watchers = []
    for index, (invoice_id, lead_id) in enumerate(pairs):
        paid_at = time.monotonic()
        stack.sims.xero_sim.post(f"/invoices/{invoice_id}/pay").raise_for_status()
        watcher = threading.Thread(target=watch, args=(index, lead_id, paid_at))
        watcher.start()
        watchers.append(watcher)
        time.sleep(max(0.0, 1 / rate - (time.monotonic() - paid_at)))
    for watcher in watchers:
        watcher.join()
    return latencies


def run(count: int, rate: float, poll_interval: int, *, drop: bool) -> list[float]:
    stack = start_stack(reconcile_interval_s=poll_interval if drop else 0, unlimited_xero=True)
    try:
        pairs = prepare(stack, count)
        if drop:
            for sim in (stack.sims.xero_sim, stack.sims.kommo_sim):
                sim.post("/webhook-faults", json={"drop_rate": 1.0}).raise_for_status()
        return measure(stack, pairs, rate)
    finally:
        stack.stop()


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    poll_interval = int(sys.argv[2]) if len(sys.argv) > 2 else 10
    rate = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    hooks = run(count, rate, poll_interval, drop=False)
    # Each payment costs two Kommo calls (the deal's fields, a note), so the steady stream
    # uses most of Kommo's pace; a quarter of the rate shows a payment's latency unqueued.
    quiet = run(max(1, count // 4), rate / 4, poll_interval, drop=False)
    polled = run(count, rate, poll_interval, drop=True)
    pace = KommoSettings().requests_per_second
    print(f"payments: {count} at {rate}/s; Kommo paced at {pace} calls/s, evenly spaced")
    print(f"webhooks (baseline)         : {summary_ms(hooks)}")
    print(f"webhooks, {rate / 4}/s            : {summary_ms(quiet)}")
    print(f"poll only, every {poll_interval:>3} s     : {summary_ms(polled)}")
    ratio = sorted(polled)[len(polled) // 2] / sorted(hooks)[len(hooks) // 2]
    print(f"poll/webhook p50 ratio: {ratio:.1f}x")


if __name__ == "__main__":
    main()
