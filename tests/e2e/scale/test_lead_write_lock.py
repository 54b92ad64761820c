"""Writes of one deal's invoice state go one at a time across processes (PostgreSQL)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from tests.integration.flows.conftest import postgres_database

from kommo_xero.transport.gate import GateSession, PostgresGate
from kommo_xero.workflows.kommo_writes import lead_write_lock

pytestmark = [pytest.mark.postgres, pytest.mark.anyio]


@pytest.fixture
def database_url() -> Iterator[str]:
    with postgres_database() as url:
        yield url


@pytest.fixture
async def two_processes(database_url: str) -> AsyncIterator[list[Any]]:
    """Two runtimes, each with its own database session, as two worker processes have."""
    sessions = [GateSession(database_url) for _ in range(2)]
    yield [
        SimpleNamespace(
            extras={},
            connection_id="main",
            mutex=functools.partial(PostgresGate, session, slots=1, poll_s=0.005),
        )
        for session in sessions
    ]
    for session in sessions:
        await session.close()


async def test_two_processes_never_write_one_deal_at_once(two_processes: list[Any]) -> None:
    """Ten writers of deal 7 in two processes: never two inside the lock together."""
    inside = most = 0

    async def write(rt: Any) -> None:
        nonlocal inside, most
        async with lead_write_lock(rt, 7):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    await asyncio.gather(*(write(rt) for rt in two_processes for _ in range(5)))
    assert most == 1


async def test_another_deal_is_not_held_up(two_processes: list[Any]) -> None:
    """While one process writes deal 7, the other writes deal 8 without waiting."""
    first, second = two_processes
    holding, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with lead_write_lock(first, 7):
            holding.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await holding.wait()

    async def other_deal() -> None:
        async with lead_write_lock(second, 8):
            pass

    await asyncio.wait_for(other_deal(), timeout=10)
    blocked = asyncio.create_task(_enter(second, 7))
    await asyncio.sleep(0.2)
    assert not blocked.done()  # deal 7 is still held by the first process
    release.set()
    await asyncio.wait_for(blocked, timeout=10)
    await holder


async def _enter(rt: Any, lead_id: int) -> None:
    async with lead_write_lock(rt, lead_id):
        pass
