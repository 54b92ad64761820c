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
    invoiced_count,
    limits_seen,
    pending_of,
    running_cluster,
    settled_state,
    statuses,
    wait_all_documents,
    wait_all_written_back,
)

# 250 deals per connection = 500 in all, as the issue asks. Xero's 60 calls a minute per
# organisation is what sets the pace (invoices go 50 to a call, but contacts, organisation
# facts and the documents follow-ups share the budget).
DEALS_PER_CONNECTION = 250
LIMIT_S = 420


@pytest.fixture
def postgres_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, workers=3) as cluster:
        yield cluster


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
def test_four_processes_sync_500_deals_once_within_the_limits(postgres_cluster: Cluster) -> None:
    """500 deals on two connections over 4 processes: one invoice each, all written back,
    Xero's and Kommo's limits held by the processes together."""
    cluster = postgres_cluster
    approve_all(cluster, DEALS_PER_CONNECTION)
    wait_all_written_back(cluster, timeout=LIMIT_S)
    assert settled_state(cluster) == expected_state(cluster)
    assert all(p.alive() for p in cluster.processes)
    _check_limits(cluster)


@pytest.fixture
def small_postgres_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, workers=2) as cluster:
        yield cluster


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_worker_killed_mid_run_finishes_its_work_after_restart(
    small_postgres_cluster: Cluster,
) -> None:
    """SIGKILL a worker holding flows in flight, restart it under its executor id: those
    flows complete, and every deal ends with one invoice, one "created" note and one PDF."""
    cluster = small_postgres_cluster
    approve_all(cluster, 30)
    victim = cluster.workers[0]
    # Kill it once it holds unfinished flows and invoices have started to appear.
    in_flight = wait_until(
        lambda: (
            invoiced_count(cluster) > 0 and pending_of(cluster.database_url, victim.executor_id)
        ),
        timeout=120,
        interval=0.2,
    )
    victim.kill()
    time.sleep(1)
    victim.start()  # the engine recovers exactly this executor's unfinished flows

    wait_all_written_back(cluster, timeout=300)
    wait_all_documents(cluster, timeout=300)
    wait_until(
        lambda: statuses(cluster.database_url, in_flight).keys() <= {"SUCCESS"},
        timeout=120,
        interval=1,
    )
    assert sum(statuses(cluster.database_url, in_flight).values()) == len(in_flight)
    assert settled_state(cluster, documents=True) == expected_state(cluster, documents=True)
    assert all(p.alive() for p in cluster.processes)
    _check_limits(cluster)


@pytest.fixture
def sqlite_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, workers=0, postgres=False) as cluster:
        yield cluster


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_one_process_on_sqlite_reaches_the_same_final_state(sqlite_cluster: Cluster) -> None:
    """The same two-connection scenario on SQLite with one `serve` process (fewer deals),
    documents included."""
    cluster = sqlite_cluster
    approve_all(cluster, 40)
    wait_all_written_back(cluster, timeout=240)
    wait_all_documents(cluster, timeout=300)
    assert settled_state(cluster, documents=True) == expected_state(cluster, documents=True)
    _check_limits(cluster)
