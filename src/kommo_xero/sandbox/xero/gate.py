"""What stands in front of every Accounting call: token, tenant, Accept, rate limits, and the
Idempotency-Key replay cache. An ASGI middleware so that it sees the whole request and response."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .formats import problem
from .state import CachedResponse, XeroState

API_PREFIX = "/api.xro/2.0/"
IDENTITY_KEY = "xero.identity"


@dataclass
class Identity:
    """Who is calling: the app (client_id) and the organisation the call is for."""

    client_id: str
    tenant_id: str


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return ""


async def _send_json(send: Send, status: int, body: Any, extra: list[tuple[bytes, bytes]]) -> None:
    raw = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), *extra]
    headers.append((b"content-length", str(len(raw)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": raw})


class AccountingGate:
    def __init__(self, app: ASGIApp, state: XeroState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        if not state.base_url:
            host = _header(scope, b"host") or "127.0.0.1"
            state.base_url = f"{scope.get('scheme', 'http')}://{host}"
        if not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        identity = await self._authenticate(scope, send)
        if identity is None:
            return
        limits = state.limits
        refused = limits.admit(identity.tenant_id, state.now())
        if refused is not None:
            problem_name, retry_after = refused
            extra = [
                *limits.headers(identity.tenant_id),
                (b"x-rate-limit-problem", problem_name.encode()),
                (b"retry-after", str(retry_after).encode()),
            ]
            body = {"Title": "Too Many Requests", "Status": 429, "Detail": problem_name}
            await _send_json(send, 429, body, extra)
            return
        try:
            if limits.latency_ms:
                await asyncio.sleep(limits.latency_ms / 1000)
            await self._serve(scope, receive, send, identity)
        finally:
            limits.release(identity.tenant_id)

    async def _authenticate(self, scope: Scope, send: Send) -> Identity | None:
        state = self.state
        auth = _header(scope, b"authorization")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        record = state.tokens.access.get(token)
        if record is None or record.grant.revoked:
            await _send_json(
                send, 401, problem(401, "Unauthorized", "AuthenticationUnsuccessful"), []
            )
            return None
        if record.expires_at <= state.now():
            stamp = record.expires_at.strftime("%m/%d/%Y %H:%M:%S")
            detail = f"TokenExpired: token expired at {stamp}"
            await _send_json(send, 401, problem(401, "Unauthorized", detail), [])
            return None
        tenant_id = _header(scope, b"xero-tenant-id").strip().lower()
        grant = record.grant
        if grant.custom and not tenant_id:
            tenant_id = grant.tenant_ids[0]  # a custom connection is bound to its one organisation
        connected = {
            c.tenant_id for c in state.tokens.connections.values() if c.grant_id == grant.grant_id
        }
        if grant.custom:
            connected = set(grant.tenant_ids)
        if not tenant_id or tenant_id not in connected or tenant_id not in state.orgs:
            forbidden = problem(403, "Forbidden", "AuthenticationUnsuccessful")
            await _send_json(send, 403, forbidden, [])
            return None
        accept = _header(scope, b"accept").lower()
        wants_pdf = "application/pdf" in accept or scope["path"].lower().endswith("/pdf")
        if "application/json" not in accept and not wants_pdf:
            # Xero answers XML by default; the simulator speaks only JSON and says so.
            body = problem(406, "Not Acceptable", "Send Accept: application/json")
            await _send_json(send, 406, body, [])
            return None
        identity = Identity(client_id=grant.client_id, tenant_id=tenant_id)
        scope[IDENTITY_KEY] = identity
        return identity

    async def _serve(self, scope: Scope, receive: Receive, send: Send, who: Identity) -> None:
        rate_headers = self.state.limits.headers(who.tenant_id)
        key = _header(scope, b"idempotency-key")
        if scope["method"] not in ("PUT", "POST") or not key:
            await self.app(scope, receive, _with_headers(send, rate_headers))
            return
        body = await _read_body(receive)
        query = scope.get("query_string", b"").decode()
        fingerprint = hashlib.sha256(
            f"{scope['method']} {scope['path']}?{query}\n".encode() + body
        ).hexdigest()
        cache_key = (f"{who.client_id}/{who.tenant_id}", key)
        now = self.state.now()
        ttl = timedelta(seconds=self.state.config.idempotency_ttl_s)
        cached = self.state.idempotency.get(cache_key)
        if cached is not None and now - cached.stored_at < ttl:
            if cached.fingerprint != fingerprint:
                message = (
                    f"Idempotency-Key {key} has already been used with a different request. "
                    "Use a new key for a new request."
                )
                await _send_json(
                    send,
                    400,
                    {"Title": "Bad Request", "Status": 400, "Detail": message},
                    rate_headers,
                )
                return
            headers = [*cached.headers, *rate_headers, (b"idempotent-replayed", b"true")]
            await send({"type": "http.response.start", "status": cached.status, "headers": headers})
            await send({"type": "http.response.body", "body": cached.body})
            return
        captured: dict[str, Any] = {"headers": [], "body": b""}

        async def replay_receive() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
                message = {**message, "headers": [*captured["headers"], *rate_headers]}
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        await self.app(scope, replay_receive, capture)
        self.state.idempotency[cache_key] = CachedResponse(
            fingerprint, captured.get("status", 500), captured["headers"], captured["body"], now
        )


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *extra]}
        await send(message)

    return wrapped


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
