"""Kommo's 7 requests a second hold for several processes together, because they pace
from one budget kept in PostgreSQL (and spaced evenly, so no burst crosses the server's
second)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from tests.integration.flows.conftest import postgres_database

from kommo_xero.kommo import KommoClient
from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.transport import RateLimited, RatePacer, RetryPolicy
from kommo_xero.transport.pacer import per_second, spaced_per_second

TOKEN = "kommo-sandbox-token"
PROCESSES = 3
CALLS_EACH = 10


@pytest.fixture
def kommo() -> Iterator[ServerHandle]:
    with start_in_thread(create_app(KommoSimConfig(rate_limit_per_second=7))) as sim:
        yield sim


def _refused(sim: ServerHandle) -> int:
    statuses = httpx.get(f"{sim.base_url}/_sim/calls").json()["statuses"]
    return sum(int(n) for key, n in statuses.items() if key.endswith(" 429"))


def _run_like_processes(sim: ServerHandle, make_pacer: Callable[[], RatePacer]) -> None:
    """Each "process" has its own event loop, pacer (and so database pool) and HTTP client;
    a 429 is not retried, so every refusal stays visible in the simulator's counts."""

    async def one_process(pacer: RatePacer) -> None:
        policy = RetryPolicy(attempts=1)
        async with KommoClient(
            sim.base_url, TOKEN, account_key="kommo:shared", pacer=pacer, retry=policy
        ) as client:
            for _ in range(CALLS_EACH):
                # The 429s are what this test counts, at the simulator.
                with contextlib.suppress(RateLimited):
                    await client.get_account()

    pacers = [make_pacer() for _ in range(PROCESSES)]
    threads = [threading.Thread(target=asyncio.run, args=(one_process(p),)) for p in pacers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for pacer in pacers:
        pacer.close()


@pytest.mark.postgres
def test_three_processes_pacing_from_postgresql_are_never_refused(kommo: ServerHandle) -> None:
    """30 calls from three processes sharing a PostgreSQL budget: Kommo refuses none."""
    with postgres_database() as url:
        started = time.monotonic()
        _run_like_processes(kommo, lambda: RatePacer.from_url(spaced_per_second(5), url))
        elapsed = time.monotonic() - started
    calls = httpx.get(f"{kommo.base_url}/_sim/calls").json()["total"]
    assert PROCESSES * CALLS_EACH == calls
    assert 0 == _refused(kommo)
    # 30 calls one every 200 ms take about six seconds: the budget really was shared.
    assert elapsed >= (PROCESSES * CALLS_EACH - 1) * 0.2 * 0.9


def test_separate_budgets_overrun_kommo(kommo: ServerHandle) -> None:
    """The same three processes each pacing alone (in memory) go past 7/s and are refused."""
    _run_like_processes(kommo, lambda: RatePacer(spaced_per_second(5)))
    assert _refused(kommo) > 0


def test_bursts_of_a_whole_second_budget_are_refused_under_jitter(kommo: ServerHandle) -> None:
    """Why calls are spaced: 6 calls a second sent in bursts, with a little delay on the way,
    put more than 7 into one of the server's seconds; spaced calls at 5/s do not."""

    async def bursty(rates_pacer: RatePacer) -> None:
        # The pacer is applied here, before the delay; the client itself does not pace.
        async with KommoClient(
            kommo.base_url, TOKEN, account_key="kommo:jitter", retry=RetryPolicy(attempts=1)
        ) as client:

            async def call(delay: float) -> None:
                await asyncio.sleep(delay)  # the network or a busy server holding a request
                with contextlib.suppress(RateLimited):
                    await client.get_account()

            calls = []
            for n in range(18):
                await rates_pacer.acquire("kommo:jitter")
                # A busy moment: the first six calls are held up 150 ms on their way.
                calls.append(asyncio.create_task(call(0.15 if n < 6 else 0.0)))
            await asyncio.gather(*calls)

    burst_pacer = RatePacer([per_second(6)])
    asyncio.run(bursty(burst_pacer))
    assert _refused(kommo) > 0

    httpx.delete(f"{kommo.base_url}/_sim/calls")
    time.sleep(1.1)
    asyncio.run(bursty(RatePacer(spaced_per_second(5))))
    assert 0 == _refused(kommo)
