"""`wait_for_budget`: a call's pacing waited for ahead, spent by the next call of that task."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from kommo_xero.xero.client import XeroClient

from .conftest import ScriptedXero, xero_json

pytestmark = pytest.mark.anyio
ORG = xero_json(
    {"Organisations": [{"Name": "Sandbox", "BaseCurrency": "USD", "OrganisationID": "o1"}]}
)


@dataclass
class CountingPacer:
    """Admits every call at once and counts how many it admitted, per key."""

    admitted: list[str] = field(default_factory=list)

    async def acquire(self, key: str) -> None:
        self.admitted.append(key)


async def test_a_call_after_waiting_for_budget_is_paced_once(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """wait_for_budget + one call = one admission; the following call is paced as usual."""
    xero.on("GET", "/api.xro/2.0/Organisation", ORG)
    pacer = CountingPacer()
    client = make_client(pacer=pacer)
    await client.wait_for_budget()
    await client.get_organisation()
    assert 1 == len(pacer.admitted)
    await client.get_organisation()
    assert 2 == len(pacer.admitted)


async def test_budget_waited_for_in_one_task_is_not_spent_by_another(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """Another task's call still waits for its own admission."""
    xero.on("GET", "/api.xro/2.0/Organisation", ORG)
    pacer = CountingPacer()
    client = make_client(pacer=pacer)

    async def reserve_only() -> None:
        await client.wait_for_budget()

    await asyncio.create_task(reserve_only())
    await client.get_organisation()
    assert 2 == len(pacer.admitted)


async def test_budget_forgone_is_not_spent_by_a_later_call(
    xero: ScriptedXero, make_client: Callable[..., XeroClient]
) -> None:
    """After forgo_budget (the batch had nothing left to send) the next call waits its turn."""
    xero.on("GET", "/api.xro/2.0/Organisation", ORG)
    pacer = CountingPacer()
    client = make_client(pacer=pacer)
    await client.wait_for_budget()
    client.forgo_budget()
    await client.get_organisation()
    assert 2 == len(pacer.admitted)
