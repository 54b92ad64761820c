"""Xero's minute budget: a short burst goes at once, then calls leave at the minute's pace."""

from __future__ import annotations

import time

import pytest

from kommo_xero.transport.pacer import RatePacer, per_minute_smoothed

pytestmark = pytest.mark.anyio


async def test_five_calls_go_at_once_and_the_sixth_waits_its_turn() -> None:
    """With 600/min and a burst of 5: five calls at once, the sixth after about 0.5 s."""
    pacer = RatePacer(per_minute_smoothed(600, burst=5))
    started = time.monotonic()
    for _ in range(5):
        await pacer.acquire("org")
    burst = time.monotonic() - started
    await pacer.acquire("org")
    sixth = time.monotonic() - started
    pacer.close()
    assert burst < 0.2
    assert sixth >= 0.4  # the 5-call window is 500 ms at 600 a minute


def test_a_burst_as_large_as_the_minute_is_the_plain_minute_budget() -> None:
    """burst_calls = calls_per_minute leaves only the minute's rate: the old behaviour."""

    def pairs(burst: int) -> list[tuple[int, int]]:
        return [(r.limit, r.interval) for r in per_minute_smoothed(55, burst=burst)]

    assert pairs(55) == [(55, 60_000)]
    assert pairs(5) == [(5, 5454), (55, 60_000)]  # 5 per 5.454 s: the minute's average pace
