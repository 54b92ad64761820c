"""Kommo webhook acknowledgement: latency p50/p99 and requests/s, service pinned to one core.

Baseline: `/healthz` on the same process in the same run (a FastAPI round trip doing
nothing), so the ratio shows what verifying, parsing and durably enqueueing a flow costs.
Each webhook is a distinct "entered Payment Approved" event, so each one starts a flow.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

import httpx

from bench._support import start_serve, summary_ms, write_settings
from kommo_xero.sandbox.server import free_port
from kommo_xero.sandbox.stack import SANDBOX_WEBHOOK_SECRET, sandbox_settings, start_simulators

REQUESTS = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
CONCURRENCY = 8
STOP_WAIT_S = 90  # systemd's default TimeoutStopSec


def status_body(lead_id: int) -> bytes:
    fields = {
        "account[subdomain]": "sandbox",
        "account[id]": "30000001",
        "account[_links][self]": "http://127.0.0.1",
        "leads[status][0][id]": str(lead_id),
        "leads[status][0][name]": "",
        "leads[status][0][status_id]": "63459811",
        "leads[status][0][old_status_id]": "63459807",
        "leads[status][0][pipeline_id]": "7712003",
        "leads[status][0][last_modified]": str(1754300112 + lead_id),
        "leads[status][0][account_id]": "30000001",
    }
    return urllib.parse.urlencode(fields).encode()


async def hammer(url: str, bodies: list[bytes | None]) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue: asyncio.Queue[bytes | None] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            start = time.perf_counter()
            if body is None:
                answer = await client.get(url)
            else:
                answer = await client.post(
                    url,
                    content=body,
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
            latencies.append(time.perf_counter() - start)
            assert answer.status_code == 200, answer.text

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(CONCURRENCY)))
    return latencies, time.perf_counter() - started


def main() -> None:
    sims = start_simulators()
    folder = Path(tempfile.mkdtemp(prefix="kx-bench-ack-"))
    port = free_port()
    settings = sandbox_settings(
        folder, kommo_url=sims.kommo.base_url, xero_url=sims.xero.base_url, service_port=port
    )
    process = start_serve(write_settings(settings, folder / "kommo-xero.toml"), port, cpu=0)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("service did not become ready")
            time.sleep(0.2)
        hook = f"{base}/webhooks/kommo/{SANDBOX_WEBHOOK_SECRET}"
        asyncio.run(hammer(f"{base}/healthz", [None] * 100))  # warm-up
        base_lat, base_wall = asyncio.run(hammer(f"{base}/healthz", [None] * REQUESTS))
        lat, wall = asyncio.run(
            hammer(hook, [status_body(90_000_000 + i) for i in range(REQUESTS)])
        )
        print(f"service pinned to 1 core, {CONCURRENCY} concurrent clients, {REQUESTS} requests")
        print(f"  /healthz (baseline)   {summary_ms(base_lat)}  {REQUESTS / base_wall:7.1f} req/s")
        print(f"  Kommo webhook         {summary_ms(lat)}  {REQUESTS / wall:7.1f} req/s")
        p50 = sorted(lat)[len(lat) // 2] / sorted(base_lat)[len(base_lat) // 2]
        throughput = (REQUESTS / wall) / (REQUESTS / base_wall)
        print(f"  ratio webhook/baseline: p50 x{p50:.1f}, throughput x{throughput:.2f}")
    finally:
        # A thousand flows were just started: stopping waits for the engine to cut them off.
        stop_started = time.monotonic()
        process.terminate()
        try:
            process.wait(STOP_WAIT_S)
            print(f"  serve stopped {time.monotonic() - stop_started:.1f} s after SIGTERM")
        except subprocess.TimeoutExpired:
            process.kill()
            print(f"  serve had not stopped {STOP_WAIT_S} s after SIGTERM: killed")
        sims.stop()


if __name__ == "__main__":
    main()
