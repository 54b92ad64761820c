"""A scripted stand-in for Xero behind `httpx.MockTransport`, and a client wired to it."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from kommo_xero.transport import RetryPolicy
from kommo_xero.xero.client import XeroClient

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
API = "https://api.xero.com"

Reply = httpx.Response | Callable[[httpx.Request], httpx.Response]


def xero_json(payload: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=payload, headers=headers)


@dataclass
class ScriptedXero:
    """Answers each (method, path) with queued replies; the last reply repeats."""

    replies: dict[tuple[str, str], list[Reply]] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def on(self, method: str, path: str, *replies: Reply) -> None:
        self.replies[(method, path)] = list(replies)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.replies.get((request.method, request.url.path))
        if not queue:
            return httpx.Response(404, text="The resource you're looking for cannot be found")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        return reply(request) if callable(reply) else reply

    def sent(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == method and r.url.path == path]

    @staticmethod
    def body(request: httpx.Request) -> Any:
        return json.loads(request.content)


class StaticBearer(httpx.Auth):
    def auth_flow(self, request: httpx.Request) -> Any:
        request.headers["Authorization"] = "Bearer unit-test-token"
        yield request


@dataclass
class ManualClock:
    now: datetime = field(default_factory=lambda: datetime(2026, 7, 20, 12, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def xero() -> ScriptedXero:
    return ScriptedXero()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_client(xero: ScriptedXero, clock: ManualClock) -> Callable[..., XeroClient]:
    def make(**overrides: Any) -> XeroClient:
        options: dict[str, Any] = {
            "tenant_id": TENANT,
            "http": httpx.AsyncClient(transport=httpx.MockTransport(xero.handle)),
            "retry": RetryPolicy(attempts=3, base_delay=0.0, max_delay=0.0),
            "clock": clock,
        }
        options.update(overrides)
        auth = options.pop("auth", StaticBearer())
        return XeroClient(API, auth, **options)

    return make
