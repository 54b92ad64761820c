"""Fair queues per connection: one connection's burst never makes another's deals wait."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.e2e.scale.cluster import wait_until
from tests.e2e.scale.scenario import Cluster, running_cluster

BURST = 250


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path, workers=1) as running:
        yield running


def _written_back(cluster: Cluster) -> dict[str, int]:
    """Per connection, deals whose link says `invoiced` (the deal shows its invoice)."""
    engine = sa.create_engine(
        cluster.database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT connection_id, count(*) FROM links WHERE state = 'invoiced' "
                    "GROUP BY connection_id"
                )
            )
            return {str(r[0]): int(r[1]) for r in rows}
    finally:
        engine.dispose()


@pytest.mark.postgres
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_burst_on_one_connection_does_not_hold_up_another(cluster: Cluster) -> None:
    """While acme works off 250 deals, a deal approved on globex is invoiced and written back
    long before acme's burst is done."""
    acme, globex = cluster.tenants
    # acme's Kommo answers slowly, so its burst lasts well over a minute.
    acme.kommo_sim.post(
        "/faults", json={"route": r"^[A-Z]+ /api", "latency_ms": 300}
    ).raise_for_status()
    cluster.deals["acme"] = acme.new_deals(BURST)
    cluster.deals["globex"] = globex.new_deals(1)
    for lead_id in cluster.deals["acme"]:
        acme.approve(lead_id)
    wait_until(lambda: _written_back(cluster).get("acme", 0) > 0, timeout=180, interval=0.5)

    globex.approve(cluster.deals["globex"][0])
    seen = wait_until(
        lambda: (counts := _written_back(cluster)).get("globex", 0) == 1 and counts,
        timeout=120,
        interval=0.5,
    )
    # globex's deal did not queue behind acme's: most of acme's burst is still to do.
    assert seen.get("acme", 0) < BURST // 2, seen
