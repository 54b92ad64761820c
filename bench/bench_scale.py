"""Scale-out throughput: deals fully synced per minute with 1, 2 and 3 processes on PostgreSQL.

Two connections, both simulators adding 100 ms to every API call. First with the APIs' limits
off (simulators and the service's own pacing), to see what the processes themselves can do,
then with the real limits (Xero 5 in flight and 60/min per organisation, Kommo 7/s). For each
run it measures where the time goes: CPU of every process (from /proc), what PostgreSQL
sessions wait on (pg_stat_activity samples) and the call rates the simulators saw.

"N processes" = one `kommo-xero serve` (which also works) plus N-1 `kommo-xero worker`s.

    .venv/bin/python -m bench.bench_scale [--deals 60] [--processes 1,2,3]
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from tests.e2e.scale.scenario import (
    Cluster,
    approve_all,
    final_state,
    start_cluster,
    wait_all_written_back,
)
from tests.integration.flows.conftest import postgres_database

API_ROUTES = r"^[A-Z]+ /(api|drive)"  # the APIs, not the simulators' /_sim control routes
LATENCY_MS = 100
YIELD_OFF = "KOMMO_XERO_SERVICE__DOCUMENTS_YIELD_S"


@dataclass
class WaitSampler:
    """Samples what the database's active sessions are doing, every `every` seconds."""

    database_url: str
    every: float = 0.25
    seen: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        name = self.database_url.rsplit("/", 1)[1]
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            while not self._stop.wait(self.every):
                rows = conn.execute(
                    "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU') "
                    "FROM pg_stat_activity WHERE datname = %s AND state = 'active' "
                    "AND pid <> pg_backend_pid()",
                    (name,),
                ).fetchall()
                self.samples += 1
                self.seen.update(str(r[0]) for r in rows)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def busy_sessions(self) -> float:
        """Average number of sessions active in the database (doing or waiting)."""
        return sum(self.seen.values()) / max(1, self.samples)


@dataclass
class Run:
    processes: int
    relaxed: bool
    deals: int
    seconds: float
    cpu_s: list[float]
    xero_calls: dict[str, int]
    kommo_calls: dict[str, int]
    waits: Counter[str]
    busy_sessions: float
    simulators_cpu_s: float  # this process: the four simulators (one interpreter, one GIL)
    xero_routes: Counter[str]  # first connection's Xero calls by route: what the budget went on
    documents_yield: bool = True  # False: documents did not step aside for waiting invoices

    @property
    def per_minute(self) -> float:
        return self.deals / self.seconds * 60

    def simulators_share(self) -> float:
        """Share of one core the simulators' process used (1.0: a whole core, its ceiling)."""
        return self.simulators_cpu_s / self.seconds

    def cpu_share(self) -> float:
        """Share of the machine's CPU the service processes used during the run."""
        return sum(self.cpu_s) / (self.seconds * (os.cpu_count() or 1))


def _kommo_calls(cluster: Cluster) -> dict[str, int]:
    """API calls each Kommo simulator answered (its /_sim control calls left out)."""
    found = {}
    for tenant in cluster.tenants:
        calls = tenant.kommo_sim.get("/calls").json()["calls"]
        found[tenant.name] = sum(int(n) for k, n in calls.items() if re.search(API_ROUTES, k))
    return found


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_once(
    processes: int, relaxed: bool, per_connection: int, documents_yield: bool = True
) -> Run:
    # The service processes inherit the environment: the variable overrides the config file.
    if not documents_yield:
        os.environ[YIELD_OFF] = "0"
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as folder, postgres_database() as url:
        try:
            cluster = start_cluster(Path(folder), url, workers=processes - 1, relaxed=relaxed)
        finally:
            os.environ.pop(YIELD_OFF, None)
        try:
            for tenant in cluster.tenants:
                for sim in (tenant.kommo_sim, tenant.xero_sim):
                    sim.post("/faults", json={"route": API_ROUTES, "latency_ms": LATENCY_MS})
            for tenant in cluster.tenants:
                tenant.kommo_sim.delete("/calls")
            cpu_before = [p.cpu_seconds() for p in cluster.processes]
            sims_before = _own_cpu_seconds()
            xero_before = {t.name: int(t.counters().get("total", 0)) for t in cluster.tenants}
            sampler = WaitSampler(url)
            sampler.start()
            started = time.monotonic()
            approve_all(cluster, per_connection)
            wait_all_written_back(cluster, timeout=1200)
            seconds = time.monotonic() - started
            sampler.stop()
            cpu = [p.cpu_seconds() - b for p, b in zip(cluster.processes, cpu_before, strict=True)]
            sims_cpu = _own_cpu_seconds() - sims_before
            state = final_state(cluster)
            assert all(s["invoices_per_deal"] == [1] for s in state.values()), state
            return Run(
                processes=processes,
                relaxed=relaxed,
                deals=per_connection * len(cluster.tenants),
                seconds=seconds,
                cpu_s=cpu,
                xero_calls={
                    t.name: int(t.counters().get("total", 0)) - xero_before[t.name]
                    for t in cluster.tenants
                },
                kommo_calls=_kommo_calls(cluster),
                waits=sampler.seen,
                busy_sessions=sampler.busy_sessions(),
                simulators_cpu_s=sims_cpu,
                xero_routes=Counter(cluster.tenants[0].xero_sim.get("/calls").json()["calls"]),
                documents_yield=documents_yield,
            )
        finally:
            cluster.stop()


def bottleneck(run: Run) -> str:
    """The likeliest limit, from what was measured (see the module docstring)."""
    minutes = run.seconds / 60
    xero_rate = max(run.xero_calls.values()) / minutes
    kommo_rate = max(run.kommo_calls.values()) / run.seconds
    if not run.relaxed and xero_rate >= 45:
        return f"Xero's 60/min per organisation ({xero_rate:.0f} calls/min seen)"
    if not run.relaxed and kommo_rate >= 4:  # the service paces at 5/s
        return f"Kommo pacing, 5/s per account ({kommo_rate:.1f} calls/s seen)"
    if run.simulators_share() >= 0.8:
        return (
            f"the simulators' process ({run.simulators_share():.0%} of one core: one Python "
            "interpreter answers every API call of both connections)"
        )
    if run.cpu_share() >= 0.75:
        return f"CPU ({run.cpu_share():.0%} of {os.cpu_count()} cores)"
    lock_waits = sum(n for w, n in run.waits.items() if w.startswith(("Lock", "LWLock", "IO")))
    if run.busy_sessions >= 4 and lock_waits > sum(run.waits.values()) / 2:
        return f"database (mostly waiting on {run.waits.most_common(1)[0][0]})"
    return "API latency (100 ms per call, serialised steps) — none of CPU, database, limits"


def report(run: Run) -> None:
    mode = "limits off" if run.relaxed else "real limits"
    if not run.documents_yield:
        mode += ", documents not yielding (baseline)"
    top_waits = ", ".join(f"{w} {n}" for w, n in run.waits.most_common(4)) or "—"
    print(
        f"{run.processes} process(es), {mode}: {run.deals} deals in {run.seconds:6.1f} s = "
        f"{run.per_minute:6.1f} deals/min"
    )
    print(
        f"    CPU {sum(run.cpu_s):5.1f} s ({run.cpu_share():.0%} of the machine; per process "
        f"{', '.join(f'{c:.1f}' for c in run.cpu_s)} s)"
    )
    print(
        f"    Xero calls {run.xero_calls} ({max(run.xero_calls.values()) / run.seconds * 60:.0f}"
        f"/min max per org); Kommo calls {run.kommo_calls}"
    )
    routes = ", ".join(f"{r} {n}" for r, n in run.xero_routes.most_common(6))
    print(f"    Xero calls by route ({next(iter(run.xero_calls))}): {routes}")
    sims_share = run.simulators_share()
    print(f"    simulators: {run.simulators_cpu_s:5.1f} s CPU ({sims_share:.0%} of a core)")
    print(f"    database: {run.busy_sessions:.1f} active sessions on average; waits: {top_waits}")
    print(f"    bottleneck: {bottleneck(run)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deals", type=int, default=60, help="deals per connection per run")
    parser.add_argument("--processes", default="1,2,3")
    parser.add_argument("--enforced-processes", default="1,3")
    parser.add_argument(
        "--no-yield-baseline",
        action="store_true",
        help="skip the 1-process real-limits run with documents_yield_s = 0",
    )
    args = parser.parse_args()
    counts = [int(n) for n in args.processes.split(",") if n]
    runs: list[Run] = []
    print(f"two connections, {args.deals} deals each, {LATENCY_MS} ms added per API call")
    for relaxed, which in (
        (True, counts),
        (False, [int(n) for n in args.enforced_processes.split(",") if n]),
    ):
        for n in which:
            run = run_once(n, relaxed, args.deals)
            report(run)
            runs.append(run)
    enforced = [int(n) for n in args.enforced_processes.split(",") if n]
    if enforced and not args.no_yield_baseline:
        baseline = run_once(1, False, args.deals, documents_yield=False)
        report(baseline)
        mine = next(r for r in runs if not r.relaxed and r.processes == enforced[0])
        print(
            f"documents yielding to waiting invoices ({mine.processes}p vs 1p baseline): "
            f"{mine.per_minute / baseline.per_minute:.2f}x deals/min"
        )
    for relaxed in (True, False):
        group = [r for r in runs if r.relaxed is relaxed and r.documents_yield]
        if len(group) > 1:
            base = group[0].per_minute
            ratios = ", ".join(f"{r.processes}p {r.per_minute / base:.2f}x" for r in group)
            print(
                f"throughput vs 1 process ({'limits off' if relaxed else 'real limits'}): {ratios}"
            )


if __name__ == "__main__":
    main()
