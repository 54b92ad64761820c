"""A burst of hand-made Xero invoices → deals: API calls per new deal and time to the last deal.

Baseline (same run): one hand-made invoice alone. Clients repeat (40 distinct clients for 200
invoices, half with an email) so contact matching is exercised as in a real morning batch.

Run: .venv/bin/python -m bench.bench_manual_invoices [count]
"""

from __future__ import annotations

import sys
import time

from bench._xero_side import Stack, start_stack, wait_for

CLIENTS = 40


def burst(stack: Stack, count: int, tag: str) -> tuple[float, int, int]:
    stack.reset_calls()
    started = time.monotonic()
    ids = [
        stack.hand_made_invoice(
            f"{tag} client {n % CLIENTS}",
            100 + n,
            email=f"ap{n % CLIENTS}@{tag}.example" if n % 2 else None,
        )
        for n in range(count)
    ]
    made = time.monotonic() - started
    wait_for(lambda: all(stack.lead_for_invoice(i) for i in ids))
    elapsed = time.monotonic() - started
    time.sleep(1.0)  # let trailing webhooks (our own lead edits) settle before counting
    kommo, xero = stack.api_calls()
    print(f"  {tag}: {count} invoice(s) created in Xero in {made:.2f} s")
    return elapsed, kommo, xero


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    stack = start_stack()
    try:
        one_s, one_k, one_x = burst(stack, 1, "single")
        many_s, many_k, many_x = burst(stack, count, "burst")
    finally:
        stack.stop()
    print(
        f"baseline, 1 invoice : last deal after {one_s:6.2f} s; "
        f"Kommo {one_k} calls, Xero {one_x} calls per deal"
    )
    print(
        f"burst, {count} invoices: last deal after {many_s:6.2f} s; "
        f"Kommo {many_k / count:.3f} calls/deal ({many_k} total), "
        f"Xero {many_x / count:.3f} calls/deal ({many_x} total)"
    )
    print(
        f"ratio burst/baseline per deal: Kommo {many_k / count / max(one_k, 1):.3f}, "
        f"Xero {many_x / count / max(one_x, 1):.3f}; "
        f"throughput {count / many_s:.1f} deals/s vs {1 / one_s:.1f} deals/s alone"
    )


if __name__ == "__main__":
    main()
