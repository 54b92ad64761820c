"""An ASGI wrapper around the Xero simulator that records every Accounting exchange, so flow
tests can check that every request the product sends (and every answer it gets) fits Xero's
official OpenAPI spec."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import httpx
from starlette.types import Receive, Scope, Send

from tests.support.xero_spec import validate_exchange

TENANT_HEADER = "xero-tenant-id"


class SpecCheckedApp:
    """Passes every call through to `app` and keeps a copy of /api.xro/2.0 exchanges."""

    def __init__(self, app: Any, default_tenant: str) -> None:
        self.app = app
        self.state = app.state  # tests reach the simulator's state through the handle's app
        self.default_tenant = default_tenant
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api.xro/2.0"):
            await self.app(scope, receive, send)
            return
        body = b""
        more = True
        messages: list[MutableMapping[str, Any]] = []
        while more:
            message = await receive()
            messages.append(message)
            body += message.get("body", b"")
            more = message.get("more_body", False)
        replay = iter(messages)

        async def replaying_receive() -> MutableMapping[str, Any]:
            return next(replay, {"type": "http.request", "body": b"", "more_body": False})

        status = 0
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def recording_send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, replaying_receive, recording_send)
        query = scope.get("query_string", b"").decode()
        url = f"http://127.0.0.1{scope['path']}" + (f"?{query}" if query else "")
        request_headers = [(k.decode(), v.decode()) for k, v in scope["headers"]]
        # A custom connection (client credentials) sends no tenant header, which Xero
        # documents; the spec predates custom connections and always requires it.
        if not any(k.lower() == TENANT_HEADER for k, _ in request_headers):
            request_headers.append((TENANT_HEADER, self.default_tenant))
        request = httpx.Request(scope["method"], url, headers=request_headers, content=body)
        response = httpx.Response(
            status, headers=[(k.decode(), v.decode()) for k, v in headers], content=b"".join(chunks)
        )
        self.exchanges.append((request, response))

    def assert_all_valid(self) -> None:
        problems = []
        for request, response in self.exchanges:
            try:
                validate_exchange(request, response)
            except AssertionError as exc:
                problems.append(str(exc))
        assert not problems, f"{len(problems)} exchanges break the Xero spec:\n" + "\n".join(
            problems[:10]
        )
