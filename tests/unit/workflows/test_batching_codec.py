"""The micro-batcher and the JSON codec for durable step results."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kommo_xero.domain.model import InvoicePlan, Party, PartyKind, PlannedLine
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.codec import party_from_json, party_to_json, plan_from_json, plan_to_json


@pytest.mark.anyio
async def test_items_that_arrive_while_waiting_to_be_ready_join_the_batch() -> None:
    """A batch is cut only once `ready` returns: late items ride along instead of waiting."""
    calls: list[list[int]] = []
    budget = asyncio.Event()

    async def flush(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        return [i for i in items]

    batcher: Batcher[int, int] = Batcher(flush, window=0.01, ready=budget.wait)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.05)  # the window has passed; the batch waits for the budget
    later = [asyncio.ensure_future(batcher.submit(i)) for i in (2, 3)]
    await asyncio.sleep(0.05)
    budget.set()
    assert await asyncio.gather(first, *later) == [1, 2, 3]
    assert calls == [[1, 2, 3]]


@pytest.mark.anyio
async def test_concurrent_submits_share_one_flush_and_get_their_own_results() -> None:
    """Ten callers within the window cost one flush; each gets its own answer or error."""
    calls: list[list[int]] = []

    async def flush(items: Sequence[int]) -> list[int | BaseException]:
        calls.append(list(items))
        return [ValueError(str(i)) if i == 3 else i * 10 for i in items]

    batcher: Batcher[int, int] = Batcher(flush, window=0.02)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(10)), return_exceptions=True)
    assert len(calls) == 1
    assert results[4] == 40
    assert isinstance(results[3], ValueError)


@pytest.mark.anyio
async def test_max_size_splits_batches_and_a_failed_flush_reaches_everyone() -> None:
    """Past max_size a second flush runs; an exception in flush fails each of its callers."""
    sizes: list[int] = []

    async def flush(items: Sequence[int]) -> list[int | BaseException]:
        sizes.append(len(items))
        if len(sizes) == 2:
            raise RuntimeError("down")
        return list(items)

    batcher: Batcher[int, int] = Batcher(flush, window=0.02, max_size=3)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(5)), return_exceptions=True)
    assert sizes == [3, 2]
    assert results[:3] == [0, 1, 2]
    assert all(isinstance(r, RuntimeError) for r in results[3:])


text = st.text(max_size=30)
money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False)
parties = st.builds(
    Party,
    st.sampled_from(PartyKind),
    st.integers(1, 10**9),
    text,
    st.none() | text,
    st.none() | text,
)
lines = st.builds(PlannedLine, text, money, money, text, text, st.none() | text)


@given(
    st.builds(
        InvoicePlan,
        st.integers(1, 10**9),
        parties,
        st.sampled_from(["USD", "EUR"]),
        st.lists(lines, min_size=1, max_size=4).map(tuple),
        st.dates(),
        st.dates(),
        text,
        text,
        st.sampled_from(["DRAFT", "AUTHORISED"]),
        st.sampled_from(["Exclusive", "NoTax"]),
    )
)
def test_plan_survives_a_json_round_trip(plan: InvoicePlan) -> None:
    """A plan stored as a step result comes back equal, amounts exact."""
    assert plan_from_json(plan_to_json(plan)) == plan


@given(parties)
def test_party_survives_a_json_round_trip(party: Party) -> None:
    """A billed party stored as JSON comes back equal."""
    assert party_from_json(party_to_json(party)) == party


def test_decimal_precision_is_kept() -> None:
    """Amounts travel as strings, so 0.1 + 0.2 style errors cannot creep in."""
    line = PlannedLine("x", Decimal("3"), Decimal("0.10"), "200", "NONE")
    plan = InvoicePlan(
        1,
        Party(PartyKind.contact, 1, "A"),
        "USD",
        (line,),
        date(2026, 1, 1),
        date(2026, 1, 2),
        "r",
        "u",
        "DRAFT",
        "Exclusive",
    )
    assert plan_from_json(plan_to_json(plan)).total == Decimal("0.30")


@pytest.mark.anyio
async def test_close_leaves_no_batch_running_and_refuses_new_items() -> None:
    """After close (the service stopping) no batch task is left pending and submit refuses."""

    async def flush(items: Sequence[int]) -> list[int | BaseException]:
        return list(items)

    never = asyncio.Event()
    batcher: Batcher[int, int] = Batcher(flush, window=0.01, ready=never.wait)
    before = asyncio.all_tasks()
    waiting = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.05)  # the batch is cut and waits for a budget that never comes
    batchers_tasks = asyncio.all_tasks() - before - {waiting}
    assert batchers_tasks  # the batch task is running
    batcher.close()
    await asyncio.sleep(0.01)
    assert all(task.done() for task in batchers_tasks)
    with pytest.raises(RuntimeError, match="stopping"):
        await batcher.submit(2)
    waiting.cancel()
