"""Prometheus metrics: what arrived, what ran, what it cost in API calls, how long it took.

The hook functions (`record_webhook`, `record_api_call`, `record_flow`,
`observe_trigger_to_result`) are cheap and never raise, so a call site in a hot path cannot
break the request it measures. This module imports nothing of ours at import time: the
transport layer calls into it, and the rate-limit gauges read the connections only when
scraped.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

WEBHOOKS = Counter(
    "kommo_xero_webhooks_received",
    "Webhooks received, by source (kommo, xero) and outcome (accepted, malformed, ...).",
    ["source", "outcome"],
    registry=REGISTRY,
)
FLOWS = Counter(
    "kommo_xero_flows",
    "Flows finished, by kind (deal_to_invoice, ...) and outcome (invoiced, parked, ...).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
API_CALLS = Counter(
    "kommo_xero_api_calls",
    "Calls to Kommo and Xero, by service and HTTP status ('error' when no answer came).",
    ["service", "status"],
    registry=REGISTRY,
)
# Buckets span a batched flow (sub-second) up to work that waited out a rate limit.
TRIGGER_TO_RESULT = Histogram(
    "kommo_xero_trigger_to_result_seconds",
    "Time from the trigger (webhook or reconciliation) to the visible result, by flow.",
    ["flow"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600),
    registry=REGISTRY,
)

RECENT_WINDOW_S = 3600.0


@dataclass
class _Recent:
    """Arrival times of the last hour, per (connection, source), for the dashboard's
    "received recently"."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    times: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    last_status: dict[str, tuple[str, float]] = field(default_factory=dict)

    def add(self, key: tuple[str, str], at: float) -> None:
        with self.lock:
            bucket = self.times.setdefault(key, deque(maxlen=100_000))
            bucket.append(at)
            while bucket and bucket[0] < at - RECENT_WINDOW_S:
                bucket.popleft()


_RECENT = _Recent()


def record_webhook(source: str, outcome: str, connections: Iterable[str] = ()) -> None:
    """Count one webhook (called by the receivers just before they answer); `connections`
    are those it was addressed to, once the receiver could tell."""
    WEBHOOKS.labels(source=source, outcome=outcome).inc()
    at = time.time()
    for connection_id in connections:
        _RECENT.add((connection_id, source), at)


def record_api_call(service: str, status: int | str) -> None:
    """Count one API call's answer (called by the transport after every response)."""
    API_CALLS.labels(service=service, status=str(status)).inc()
    with _RECENT.lock:
        _RECENT.last_status[service] = (str(status), time.time())


def record_flow(kind: str, outcome: str) -> None:
    FLOWS.labels(kind=kind, outcome=outcome).inc()


def observe_trigger_to_result(flow: str, seconds: float) -> None:
    TRIGGER_TO_RESULT.labels(flow=flow).observe(max(0.0, seconds))


@dataclass(frozen=True)
class WebhookActivity:
    source: str
    last_hour: int
    last_at: float | None


SOURCES = ("kommo", "xero")


def webhook_activity(connection_id: str) -> list[WebhookActivity]:
    """Webhooks each source delivered to this process for the connection in the last hour."""
    cutoff = time.time() - RECENT_WINDOW_S
    with _RECENT.lock:
        found = []
        for source in SOURCES:
            times = [t for t in _RECENT.times.get((connection_id, source), ()) if t >= cutoff]
            found.append(WebhookActivity(source, len(times), times[-1] if times else None))
        return found


@dataclass(frozen=True)
class MinuteCount:
    """Webhooks of one connection and source within one minute (unix time // 60)."""

    connection_id: str
    source: str
    minute: int
    count: int
    last_at: float


def recent_by_minute() -> list[MinuteCount]:
    """This process's webhooks of the last hour, per minute: what it shares with the others."""
    cutoff = time.time() - RECENT_WINDOW_S
    minutes: dict[tuple[str, str, int], list[float]] = {}
    with _RECENT.lock:
        for (connection_id, source), times in _RECENT.times.items():
            for at in times:
                if at >= cutoff:
                    minutes.setdefault((connection_id, source, int(at // 60)), []).append(at)
    return [MinuteCount(c, s, m, len(ts), max(ts)) for (c, s, m), ts in minutes.items()]


def last_api_status(service: str) -> tuple[str, float] | None:
    """The latest answer this process got from `service` (status, unix time), if any."""
    with _RECENT.lock:
        return _RECENT.last_status.get(service)


class RateLimitCollector(Collector):
    """Xero's remaining call budget per connection, read from the latest response headers."""

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "kommo_xero_rate_limit_remaining",
            "Calls left in Xero's window (day, minute, app_minute), per connection.",
            labels=["connection", "window"],
        )

    def describe(self) -> Iterator[Metric]:
        # Registering must not read the connections (they may not be importable yet).
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        # Imported here: the workflows import the transport, which imports this module.
        from kommo_xero.workflows.runtime import all_runtimes

        gauge = self._family()
        for rt in all_runtimes():
            limits = rt.xero.limits
            for window, value in (
                ("day", limits.day_remaining),
                ("minute", limits.minute_remaining),
                ("app_minute", limits.app_minute_remaining),
            ):
                if value is not None:
                    gauge.add_metric([rt.connection_id, window], float(value))
        yield gauge


REGISTRY.register(RateLimitCollector())


def metrics_router() -> APIRouter:
    """GET /metrics in the Prometheus text format (public, like /healthz)."""
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return router
