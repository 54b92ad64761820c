"""Fault injection and call counting shared by both simulators.

Both simulators mount `control_router(...)` under `/_sim` and wrap their app with
`SimulatorMiddleware`, so tests and benchmarks drive faults and read call counts the
same way for Kommo and Xero.
"""

from __future__ import annotations

import asyncio
import random
import re
import threading
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import asdict, dataclass, field
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send


class FaultRuleIn(BaseModel):
    """One fault rule as posted to `POST /_sim/faults`."""

    route: str = ".*"  # regex matched against "METHOD /path"
    error_rate: float = 0.0  # share of matching calls answered with `status`
    status: int = 500
    latency_ms: int = 0  # added to every matching call
    timeout_rate: float = 0.0  # share of matching calls that hang for `hang_s` seconds
    hang_s: float = 30.0
    retry_after: int | None = None  # sent as Retry-After when status is 429
    body: str | None = None  # raw body for injected errors (plain text); default per status
    times: int | None = None  # stop after injecting this many errors
    # Do the work, then answer with the error anyway: the answer "lost" after the server acted,
    # which is what makes a blind resend of a create write it twice.
    after_processing: bool = False


@dataclass
class FaultRule:
    route: str
    error_rate: float
    status: int
    latency_ms: int
    timeout_rate: float
    hang_s: float
    retry_after: int | None
    body: str | None
    times: int | None
    after_processing: bool
    injected: int = 0
    pattern: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.pattern = re.compile(self.route)


@dataclass
class SimulatorTraffic:
    """Faults in force and the calls seen, per route template ("GET /api/v4/leads/{id}")."""

    seed: int = 7
    rules: list[FaultRule] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    statuses: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def add_rule(self, rule: FaultRuleIn) -> FaultRule:
        made = FaultRule(**rule.model_dump())
        with self._lock:
            self.rules.append(made)
        return made

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def reset_counts(self) -> None:
        with self._lock:
            self.calls.clear()
            self.statuses.clear()

    def record(self, key: str, status: int) -> None:
        with self._lock:
            self.calls[key] += 1
            self.statuses[f"{key} {status}"] += 1

    def matching(self, key: str) -> list[FaultRule]:
        with self._lock:
            return [r for r in self.rules if r.pattern.search(key)]

    def roll(self, rate: float) -> bool:
        with self._lock:
            return self.rng.random() < rate

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "calls": dict(self.calls),
                "statuses": dict(self.statuses),
                "total": sum(self.calls.values()),
                "faults": [
                    {k: v for k, v in asdict(r).items() if k != "pattern"} for r in self.rules
                ],
            }


_DEFAULT_ERROR_BODIES = {
    503: "The Xero API is temporarily unavailable",
}


class SimulatorMiddleware:
    """ASGI middleware: counts every non-control call and applies the fault rules."""

    def __init__(self, app: ASGIApp, traffic: SimulatorTraffic) -> None:
        self.app = app
        self.traffic = traffic

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        raw_key = f"{scope['method']} {scope['path']}"
        injected, late = await self._inject(raw_key)
        if injected is not None and not late:
            self.traffic.record(raw_key, injected.status_code)
            await injected(scope, receive, send)
            return
        status_holder: dict[str, int] = {}

        async def send_wrapper(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_holder["status"] = message["status"]
            if injected is None:  # a late fault swallows the real answer
                await send(message)

        await self.app(scope, receive, send_wrapper)
        route = scope.get("route")
        template = getattr(route, "path", None) or scope["path"]
        if injected is not None:
            self.traffic.record(f"{scope['method']} {template}", injected.status_code)
            await injected(scope, receive, send)
            return
        self.traffic.record(f"{scope['method']} {template}", status_holder.get("status", 0))

    async def _inject(self, key: str) -> tuple[Response | None, bool]:
        """The injected answer, if a rule fires, and whether it comes after the real work."""
        for rule in self.traffic.matching(key):
            if rule.latency_ms:
                await asyncio.sleep(rule.latency_ms / 1000)
            if rule.times is not None and rule.injected >= rule.times:
                continue
            if rule.timeout_rate and self.traffic.roll(rule.timeout_rate):
                rule.injected += 1
                await asyncio.sleep(rule.hang_s)
                return PlainTextResponse("timed out", status_code=504), rule.after_processing
            if rule.error_rate and self.traffic.roll(rule.error_rate):
                rule.injected += 1
                return _error_response(rule), rule.after_processing
        return None, False


def _error_response(rule: FaultRule) -> Response:
    headers = {}
    if rule.status == 429:
        headers["Retry-After"] = str(rule.retry_after or 1)
        headers["X-Rate-Limit-Problem"] = "minute"
    if rule.body is not None:
        return PlainTextResponse(rule.body, status_code=rule.status, headers=headers)
    default = _DEFAULT_ERROR_BODIES.get(rule.status)
    if default is not None:
        return PlainTextResponse(default, status_code=rule.status, headers=headers)
    return JSONResponse(
        {"title": "Injected fault", "status": rule.status, "detail": "injected"},
        status_code=rule.status,
        headers=headers,
    )


def control_router(traffic: SimulatorTraffic) -> APIRouter:
    """Routes under /_sim for faults and call counts (the simulators add their own beside these)."""
    router = APIRouter()

    @router.post("/faults")
    def add_fault(rule: FaultRuleIn) -> dict[str, Any]:
        traffic.add_rule(rule)
        return traffic.snapshot()

    @router.delete("/faults")
    def clear_faults() -> dict[str, Any]:
        traffic.clear()
        return traffic.snapshot()

    @router.get("/calls")
    def calls() -> dict[str, Any]:
        return traffic.snapshot()

    @router.delete("/calls")
    def reset_calls() -> dict[str, Any]:
        traffic.reset_counts()
        return traffic.snapshot()

    return router
