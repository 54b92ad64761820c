"""The scale-out scenario: deals approved at once on two connections, worked off by several
processes, and the final state a user checks (one invoice per deal, every deal written back,
Xero's limits never hit)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from tests.e2e.scale.cluster import (
    Process,
    Tenant,
    cluster_settings,
    migrate,
    start_tenants,
    wait_until,
    write_config,
)
from tests.integration.flows.conftest import postgres_database

from kommo_xero.sandbox.server import free_port
from kommo_xero.workflows.engine import engine_database_url


def _engine(url: str) -> sa.Engine:
    return sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


@dataclass
class Cluster:
    tenants: list[Tenant]
    database_url: str
    serve: Process
    workers: list[Process]
    deals: dict[str, list[int]] = field(default_factory=dict)

    @property
    def processes(self) -> list[Process]:
        return [self.serve, *self.workers]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        for tenant in self.tenants:
            tenant.stop()


def start_cluster(
    tmp_path: Path, database_url: str | None, workers: int, relaxed: bool = False
) -> Cluster:
    """Simulators, `kommo-xero migrate`, then one `serve` and `workers` worker processes."""
    tenants = start_tenants(relaxed)
    port = free_port()
    settings = cluster_settings(tenants, tmp_path, database_url, port, relaxed)
    config = write_config(settings, tmp_path / "kommo-xero.toml")
    migrate(config)
    serve = Process("serve", "web-1", config, port, tmp_path / "serve.log")
    pool = [
        Process("worker", f"worker-{n}", config, 0, tmp_path / f"worker-{n}.log")
        for n in range(1, workers + 1)
    ]
    cluster = Cluster(tenants, settings.service.resolved_database_url(), serve, pool)
    try:
        for process in cluster.processes:
            process.start()
        for tenant in tenants:
            tenant.subscribe(f"http://127.0.0.1:{port}")
    except BaseException:
        cluster.stop()
        raise
    return cluster


@contextmanager
def running_cluster(tmp_path: Path, workers: int, postgres: bool = True) -> Iterator[Cluster]:
    """A started cluster (on a fresh PostgreSQL database, or on SQLite), stopped afterwards."""
    with postgres_database() if postgres else nullcontext(None) as url:
        cluster = start_cluster(tmp_path, url, workers=workers)
        try:
            yield cluster
        finally:
            cluster.stop()


def approve_all(cluster: Cluster, per_connection: int) -> None:
    """Make the deals first, then approve them all at once, the two accounts interleaved."""
    for tenant in cluster.tenants:
        cluster.deals[tenant.name] = tenant.new_deals(per_connection)
    for pair in zip(*(cluster.deals[t.name] for t in cluster.tenants), strict=True):
        for tenant, lead_id in zip(cluster.tenants, pair, strict=True):
            tenant.approve(lead_id)


def invoiced_count(cluster: Cluster) -> int:
    """Deals whose invoice exists in Xero (by the reference the mapping writes)."""
    total = 0
    for tenant in cluster.tenants:
        wanted = {f"Kommo deal {lead}" for lead in cluster.deals[tenant.name]}
        total += len({i.reference for i in tenant.invoices()} & wanted)
    return total


def written_back(cluster: Cluster) -> int:
    """Deals whose link row says `invoiced`: their invoice exists in Xero (the deal shows its
    number a moment later, once the batched write-back to Kommo is through)."""
    engine = _engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM links WHERE state = 'invoiced'")
                ).scalar_one()
            )
    finally:
        engine.dispose()


def wait_all_written_back(cluster: Cluster, timeout: float) -> float:
    """Seconds until every deal's link is `invoiced`."""
    started = time.monotonic()
    expected = sum(len(d) for d in cluster.deals.values())
    wait_until(lambda: written_back(cluster) >= expected, timeout=timeout, interval=2)
    return time.monotonic() - started


def pending_of(database_url: str, executor_id: str) -> list[str]:
    """Workflows the engine has assigned to `executor_id` and not finished."""
    engine = _engine(engine_database_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT workflow_uuid FROM dbos.workflow_status "
                    "WHERE executor_id = :e AND status = 'PENDING'"
                ),
                {"e": executor_id},
            )
            return [str(r[0]) for r in rows]
    finally:
        engine.dispose()


def statuses(database_url: str, workflow_ids: list[str]) -> Counter[str]:
    engine = _engine(engine_database_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT status FROM dbos.workflow_status WHERE workflow_uuid IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": workflow_ids},
            )
            return Counter(str(r[0]) for r in rows)
    finally:
        engine.dispose()


def documents_attached(cluster: Cluster) -> int:
    """Deals whose link row records the invoice PDF as attached."""
    engine = _engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            return int(
                conn.execute(sa.text("SELECT count(*) FROM links WHERE pdf_attached")).scalar_one()
            )
    finally:
        engine.dispose()


def wait_all_documents(cluster: Cluster, timeout: float) -> None:
    expected = sum(len(d) for d in cluster.deals.values())
    wait_until(lambda: documents_attached(cluster) >= expected, timeout=timeout, interval=2)


def _created_notes(deal: dict[str, Any], number: str | None) -> int:
    prefix = f"Xero invoice {number} created"
    return sum(1 for n in deal["notes"] if str(n["params"].get("text", "")).startswith(prefix))


def final_state(cluster: Cluster, documents: bool = False) -> dict[str, dict[str, Any]]:
    """Per connection, what a user would check: invoices per deal and what the deal shows
    (with `documents`: also exactly one "created" note and one PDF, named by the number)."""
    state: dict[str, dict[str, Any]] = {}
    for tenant in cluster.tenants:
        by_reference = Counter(i.reference for i in tenant.invoices())
        numbers = {i.reference: i.number for i in tenant.invoices()}
        leads = cluster.deals[tenant.name]
        shown = with_documents = 0
        for lead_id in leads:
            deal = tenant.deal(lead_id)
            number = numbers.get(f"Kommo deal {lead_id}")
            if deal["fields"].get("Xero invoice number") == number:
                shown += 1
            pdfs = [f["name"] for f in deal["files"] if f["is_pdf"]]
            if pdfs == [f"{number}.pdf"] and _created_notes(deal, number) == 1:
                with_documents += 1
        state[tenant.name] = {
            "deals": len(leads),
            "invoices_per_deal": sorted({by_reference[f"Kommo deal {lead}"] for lead in leads}),
            "invoices_without_deal": len(set(by_reference) - {f"Kommo deal {x}" for x in leads}),
            "deals_showing_their_invoice": shown,
        }
        if documents:
            state[tenant.name]["deals_with_one_note_and_one_pdf"] = with_documents
    return state


def settled_state(
    cluster: Cluster, documents: bool = False, timeout: float = 180
) -> dict[str, dict[str, Any]]:
    """`final_state` once it reaches the expected state (or as it is when `timeout` ends):
    the last write-backs to Kommo may still be under way when the links say `invoiced`."""
    want = expected_state(cluster, documents)
    deadline = time.monotonic() + timeout
    state = final_state(cluster, documents)
    while state != want and time.monotonic() < deadline:
        time.sleep(2)
        state = final_state(cluster, documents)
    return state


def expected_state(cluster: Cluster, documents: bool = False) -> dict[str, dict[str, Any]]:
    expected: dict[str, dict[str, Any]] = {}
    for tenant in cluster.tenants:
        deals = len(cluster.deals[tenant.name])
        expected[tenant.name] = {
            "deals": deals,
            "invoices_per_deal": [1],
            "invoices_without_deal": 0,
            "deals_showing_their_invoice": deals,
        }
        if documents:
            expected[tenant.name]["deals_with_one_note_and_one_pdf"] = deals
    return expected


def limits_seen(cluster: Cluster) -> dict[str, dict[str, int]]:
    """The Xero simulators' own per-organisation counters, and the Kommo simulators' 429s."""
    seen = {}
    for tenant in cluster.tenants:
        counters = tenant.counters()
        kommo_statuses = tenant.kommo_sim.get("/calls").json()["statuses"]
        seen[tenant.name] = {
            "max_concurrent": int(counters["max_concurrent"]),
            "max_per_minute": int(counters["max_per_minute"]),
            "rate_limited": int(counters["rate_limited"]),
            "kommo_rate_limited": sum(
                int(n) for key, n in kommo_statuses.items() if key.endswith(" 429")
            ),
        }
    return seen
