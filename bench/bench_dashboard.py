"""How fast the dashboard pages render with 10,000 links (and 30,000 history events).

Run: .venv/bin/python bench/bench_dashboard.py [--links 10000] [--rounds 20]
Prints the median and 95th percentile time of each page, measured through the full app
(routing, sign-in check, queries, templates) with an in-process client on a SQLite file.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from kommo_xero.bootstrap import Service
from kommo_xero.sandbox.stack import sandbox_settings
from kommo_xero.store.tables import history, links, parked
from kommo_xero.web.dashboard import DashboardConfig, dashboard_router
from kommo_xero.web.dashboard.passwords import hash_password

CONNECTION = "sandbox"
PASSWORD = "benchmark password"
STATUSES = [("AUTHORISED", "Awaiting payment"), ("PAID", "Paid"), ("VOIDED", "Voided")]


def seed(service: Service, count: int) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    link_rows: list[dict[str, Any]] = []
    for n in range(1, count + 1):
        status, label = STATUSES[n % len(STATUSES)]
        at = start + timedelta(minutes=n)
        link_rows.append(
            {
                "connection_id": CONNECTION,
                "kommo_lead_id": 1_000_000 + n,
                "xero_invoice_id": f"00000000-0000-4000-8000-{n:012d}",
                "invoice_number": f"INV-{n:05d}",
                "origin": "invoice" if n % 4 == 0 else "deal",
                "state": "parked" if n % 50 == 0 else "invoiced",
                "active": True,
                "cause": f"bench:{n}",
                "deal_name": f"Deal {n} for client {n % 700}",
                "contact_name": f"Client {n % 700} Ltd",
                "status": status,
                "status_label": label,
                "currency": "USD",
                "total": Decimal(100 + n % 900),
                "amount_due": Decimal(0 if status == "PAID" else 100 + n % 900),
                "amount_paid": Decimal(100 + n % 900 if status == "PAID" else 0),
                "created_at": at,
                "updated_at": at,
            }
        )
    with service.store.tx() as conn:
        conn.execute(insert(links), link_rows)
        events = [
            {
                "connection_id": CONNECTION,
                "link_id": n,
                "kommo_lead_id": 1_000_000 + n,
                "kind": kind,
                "message": f"{kind} for deal {n}",
                "detail": '{"ok": true}',
                "at": start + timedelta(minutes=n, seconds=i),
            }
            for n in range(1, count + 1)
            for i, kind in enumerate(("trigger", "invoice_created", "deal_updated"))
        ]
        conn.execute(insert(history), events)
        conn.execute(
            insert(parked),
            [
                {
                    "connection_id": CONNECTION,
                    "flow": "deal_to_invoice",
                    "subject": str(1_000_000 + n),
                    "reason_code": "currency_not_enabled",
                    "message": "Currency NZD is not enabled.",
                    "fix": "Enable NZD in Xero, then retry.",
                    "attempts": 1,
                    "open": True,
                    "created_at": start,
                    "updated_at": start,
                }
                for n in range(50, count + 1, 50)
            ],
        )


def measure(client: TestClient, path: str, rounds: int) -> tuple[float, float]:
    client.get(path)  # warm the template cache
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    times.sort()
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--links", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = sandbox_settings(
            Path(tmp), kommo_url="http://127.0.0.1:9", xero_url="http://127.0.0.1:9", service_port=1
        )
        service = Service(settings)
        began = time.perf_counter()
        seed(service, args.links)
        took = time.perf_counter() - began
        print(f"seeded {args.links} links, {3 * args.links} events in {took:.1f} s")
        app = FastAPI()
        config = DashboardConfig(password_hash=hash_password(PASSWORD))
        app.include_router(dashboard_router(service, config))
        with TestClient(app) as client:
            page = client.get("/dashboard/sign-in").text
            token = re.search(r'name="csrf_token" value="([^"]+)"', page)
            assert token
            client.post(
                "/dashboard/sign-in", data={"csrf_token": token.group(1), "password": PASSWORD}
            )
            last_page = -(-args.links // config.page_size)
            paths = {
                "overview": "/dashboard",
                "links, page 1": "/dashboard/links",
                f"links, last page ({last_page})": f"/dashboard/links?page={last_page}",
                "links, search 'client 42'": "/dashboard/links?q=client+42",
                "links, status PAID": "/dashboard/links?status=PAID",
                "links, invoice-made + PAID": "/dashboard/links?origin=invoice&status=PAID",
                "one link's history": f"/dashboard/links/{args.links // 2}",
                "parked work": "/dashboard/parked",
                "settings": "/dashboard/settings",
                "live change stamp (JSON)": "/dashboard/api/changes",
            }
            print(f"{'page':<34} {'median ms':>10} {'p95 ms':>10}")
            for name, path in paths.items():
                median, p95 = measure(client, path, args.rounds)
                print(f"{name:<34} {median:>10.1f} {p95:>10.1f}")


if __name__ == "__main__":
    main()
