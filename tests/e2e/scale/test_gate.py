"""The cross-process Xero gate: at most N calls in flight per organisation over all sessions."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from tests.integration.flows.conftest import postgres_database

from kommo_xero.transport.gate import GateSession, PostgresGate


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


class InFlight:
    """Counts holders, as the Xero simulator counts calls in flight."""

    def __init__(self) -> None:
        self.now = 0
        self.most = 0

    async def call(self, gate: PostgresGate) -> None:
        async with gate.slot():
            self.now += 1
            self.most = max(self.most, self.now)
            await asyncio.sleep(0.02)
            self.now -= 1


@pytest.mark.postgres
@pytest.mark.anyio
async def test_three_processes_never_hold_more_than_five_slots(database_url: str) -> None:
    """Three sessions (as three processes) with 20 callers each: never more than 5 at once."""
    sessions = [GateSession(database_url) for _ in range(3)]
    gates = [PostgresGate(s, "xero:org-1", slots=5, poll_s=0.005) for s in sessions]
    seen = InFlight()
    try:
        await asyncio.gather(*(seen.call(g) for g in gates for _ in range(20)))
    finally:
        for session in sessions:
            await session.close()
    assert seen.most == 5


@pytest.mark.postgres
@pytest.mark.anyio
async def test_organisations_have_separate_slots(database_url: str) -> None:
    """Five calls in flight for one organisation leave all five slots of another free."""
    session = GateSession(database_url)
    busy, other = (PostgresGate(session, key) for key in ("xero:org-1", "xero:org-2"))
    entered = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with busy.slot():
            entered.set()
            await release.wait()

    holders = [asyncio.create_task(hold()) for _ in range(5)]
    try:
        await entered.wait()
        async with asyncio.timeout(2):
            async with other.slot():
                assert await other.holders() == 1
    finally:
        release.set()
        await asyncio.gather(*holders)
        await session.close()


@pytest.mark.postgres
@pytest.mark.anyio
async def test_slots_of_a_dead_process_are_free_again(database_url: str) -> None:
    """A process that dies holding every slot (its session gone) blocks no one afterwards."""
    dead, alive = GateSession(database_url), GateSession(database_url)
    doomed = PostgresGate(dead, "xero:org-1")
    survivor = PostgresGate(alive, "xero:org-1", poll_s=0.005)
    held = [doomed.slot() for _ in range(5)]
    for slot in held:
        await slot.__aenter__()
    assert await survivor.holders() == 5
    await dead.close()  # the session ends as it does when the process is killed
    try:
        async with asyncio.timeout(2):
            async with survivor.slot():
                assert await survivor.holders() == 1
    finally:
        await alive.close()
