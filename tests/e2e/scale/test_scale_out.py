"""Scale-out: one `serve` and several `worker` processes on one PostgreSQL database, two
connections, Xero's real per-organisation limits (5 in flight, 60 a minute)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.e2e.scale.cluster import wait_until
from tests.e2e.scale.scenario import (
    Cluster,
    approve_all,
    expected_state,
    final_state,
    invoiced_count,
    limits_seen,
    pending_of,
    start_cluster,
    statuses,
    wait_all_written_back,
)
from tests.integration.flows.conftest import postgres_database

# 250 deals per connection = 500 in all, as the issue asks. Xero's 60 calls a minute per
# organisation is what sets the pace (invoices go 50 to a call, but contacts, organisation
# facts and the documents follow-ups share the budget).
DEALS_PER_CONNECTION = 250
LIMIT_S = 420


@pytest.fixture
def postgres_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with postgres_database() as url:
        cluster = start_cluster(tmp_path, url, workers=3)
        try:
            yield cluster
        finally:
            cluster.stop()


def _check_limits(cluster: Cluster) -> None:
    for name, seen in limits_seen(cluster).items():
        assert seen["max_concurrent"] <= 5, (name, seen)
        assert seen["max_per_minute"] <= 60, (name, seen)
        # The simulator refuses (429) whatever goes over a limit: none refused means the
        # processes together stayed within every limit all along.
        assert seen["rate_limited"] == 0, (name, seen)
        # Kommo's 7 a second, per account, held by the processes together.
        assert seen["kommo_rate_limited"] == 0, (name, seen)


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(LIMIT_S + 180)
def test_four_processes_sync_500_deals_once_within_xero_limits(
    postgres_cluster: Cluster,
) -> None:
    """500 deals on two connections over 4 processes: one invoice each, all written back,
    Xero's limits held; a worker SIGKILLed mid-run and restarted finishes its work."""
    cluster = postgres_cluster
    approve_all(cluster, DEALS_PER_CONNECTION)

    # Kill worker-1 while it holds deal workflows in flight, then bring it back under the same
    # executor id: the engine recovers exactly that executor's unfinished workflows.
    victim = cluster.workers[0]
    in_flight = wait_until(
        lambda: (
            invoiced_count(cluster) > 0 and pending_of(cluster.database_url, victim.executor_id)
        ),
        timeout=120,
        interval=0.2,
    )
    victim.kill()
    time.sleep(1)
    victim.start()

    wait_all_written_back(cluster, timeout=LIMIT_S)
    assert final_state(cluster) == expected_state(cluster)
    wait_until(
        lambda: statuses(cluster.database_url, in_flight).keys() <= {"SUCCESS"},
        timeout=120,
        interval=1,
    )
    assert sum(statuses(cluster.database_url, in_flight).values()) == len(in_flight)
    assert all(p.alive() for p in cluster.processes)
    _check_limits(cluster)


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = start_cluster(tmp_path, None, workers=0)
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_one_process_on_sqlite_reaches_the_same_final_state(sqlite_cluster: Cluster) -> None:
    """The same two-connection scenario on SQLite with one `serve` process (fewer deals)."""
    cluster = sqlite_cluster
    approve_all(cluster, 40)
    wait_all_written_back(cluster, timeout=240)
    assert final_state(cluster) == expected_state(cluster)
    _check_limits(cluster)
