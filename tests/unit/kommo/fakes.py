"""A recording fake of Kommo's HTTP side for client unit tests (the transport is the seam)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from kommo_xero.kommo import KommoClient
from kommo_xero.transport import RetryPolicy

BASE = "https://acme.kommo.com"
Handler = Callable[[httpx.Request], httpx.Response]


def problem(status: int, **body: Any) -> httpx.Response:
    return httpx.Response(
        status,
        json={"status": status, **body},
        headers={"Content-Type": "application/problem+json"},
    )


def hal(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body, headers={"Content-Type": "application/hal+json"})


@dataclass
class FakeKommo:
    """Answers each request from `routes` ("METHOD /path" → handler) and records it."""

    routes: dict[str, Handler] = field(default_factory=dict)
    seen: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        handler = self.routes.get(f"{request.method} {request.url.path}")
        if handler is None:
            return problem(404, title="Not Found", detail=f"Cannot {request.method}")
        return handler(request)

    def bodies(self, route: str) -> list[Any]:
        method, path = route.split(" ", 1)
        return [
            json.loads(r.content)
            for r in self.seen
            if r.method == method and r.url.path == path and r.content
        ]


def client_for(fake: Handler, **kwargs: Any) -> KommoClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    policy = kwargs.pop("retry", RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002))
    token = kwargs.pop("token", "secret-token-123")
    return KommoClient(BASE, token, account_key="kommo:1", http=http, retry=policy, **kwargs)
