"""Xero's rate limits per tenant (concurrent, minute, day) and per app (minute), fixed windows."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class Window:
    """A fixed window that opens with the first call after the previous one closed."""

    length_s: int
    started: datetime | None = None
    count: int = 0

    def roll(self, now: datetime) -> None:
        if self.started is None or (now - self.started).total_seconds() >= self.length_s:
            self.started = now
            self.count = 0

    def seconds_left(self, now: datetime) -> int:
        if self.started is None:
            return 0
        return max(1, math.ceil(self.length_s - (now - self.started).total_seconds()))


@dataclass
class TenantCounters:
    minute: Window = field(default_factory=lambda: Window(60))
    day: Window = field(default_factory=lambda: Window(86400))
    in_flight: int = 0
    max_concurrent: int = 0
    max_per_minute: int = 0
    total: int = 0
    rejected: int = 0
    rejected_by_problem: dict[str, int] = field(default_factory=dict)

    def snapshot(self) -> dict[str, Any]:
        return {
            "max_concurrent": self.max_concurrent,
            "max_per_minute": self.max_per_minute,
            "total": self.total,
            "rate_limited": self.rejected,
            "rate_limited_by_problem": dict(self.rejected_by_problem),
            "in_flight": self.in_flight,
            "minute_count": self.minute.count,
            "day_count": self.day.count,
        }


@dataclass
class Limits:
    minute_limit: int
    concurrent_limit: int
    day_limit: int
    app_minute_limit: int
    enforce: bool = True
    latency_ms: int = 0
    tenants: dict[str, TenantCounters] = field(default_factory=dict)
    app_minute: Window = field(default_factory=lambda: Window(60))

    def counters(self, tenant_id: str) -> TenantCounters:
        return self.tenants.setdefault(tenant_id, TenantCounters())

    def admit(self, tenant_id: str, now: datetime) -> tuple[str, int] | None:
        """Count a call and take a concurrency slot, or say which limit refuses it (and when)."""
        counters = self.counters(tenant_id)
        counters.minute.roll(now)
        counters.day.roll(now)
        self.app_minute.roll(now)
        problem: tuple[str, int] | None = None
        if self.enforce:
            if counters.day.count >= self.day_limit:
                problem = ("day", counters.day.seconds_left(now))
            elif counters.minute.count >= self.minute_limit:
                problem = ("minute", counters.minute.seconds_left(now))
            elif self.app_minute.count >= self.app_minute_limit:
                problem = ("appminute", self.app_minute.seconds_left(now))
            elif counters.in_flight >= self.concurrent_limit:
                problem = ("concurrent", 1)
        if problem is not None:
            counters.rejected += 1
            counters.rejected_by_problem[problem[0]] = (
                counters.rejected_by_problem.get(problem[0], 0) + 1
            )
            return problem
        counters.minute.count += 1
        counters.day.count += 1
        self.app_minute.count += 1
        counters.total += 1
        counters.in_flight += 1
        counters.max_concurrent = max(counters.max_concurrent, counters.in_flight)
        counters.max_per_minute = max(counters.max_per_minute, counters.minute.count)
        return None

    def release(self, tenant_id: str) -> None:
        counters = self.counters(tenant_id)
        counters.in_flight = max(0, counters.in_flight - 1)

    def headers(self, tenant_id: str) -> list[tuple[bytes, bytes]]:
        counters = self.counters(tenant_id)
        values = {
            b"x-daylimit-remaining": max(0, self.day_limit - counters.day.count),
            b"x-minlimit-remaining": max(0, self.minute_limit - counters.minute.count),
            b"x-appminlimit-remaining": max(0, self.app_minute_limit - self.app_minute.count),
        }
        return [(name, str(value).encode()) for name, value in values.items()]
