"""Kommo's request limits: 429 problem+json past N requests per second, and the HTML 403 block."""

from __future__ import annotations

import json
import time
from collections import deque

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from kommo_xero.sandbox.kommo.state import KommoState

# Real blocks come from nginx as an HTML page, not JSON (reference §12).
BLOCK_PAGE = (
    b"<html>\r\n<head><title>403 Forbidden</title></head>\r\n<body>\r\n"
    b"<center><h1>403 Forbidden</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


class KommoLimitsMiddleware:
    """Applies to every account route (API, OAuth, drive); /_sim is never limited."""

    def __init__(self, app: ASGIApp, state: KommoState) -> None:
        self.app = app
        self.state = state
        self._recent: deque[float] = deque()
        self._rejections_in_a_row = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_sim"):
            await self.app(scope, receive, send)
            return
        host = Headers(scope=scope).get("host")
        if host:
            self.state.base_url = f"{scope.get('scheme', 'http')}://{host}"
        if self.state.blocked:
            await _reply(send, 403, "text/html", BLOCK_PAGE)
            return
        if not self._admit():
            body = {
                "title": "Too Many Requests",
                "type": "https://httpstatus.es/429",
                "status": 429,
                "detail": "You have sent too many requests in a given amount of time. "
                "Please try again later.",
                "retry_after": self.state.config.rate_limit_retry_after,
            }
            await _reply(send, 429, "application/problem+json", json.dumps(body).encode())
            return
        await self.app(scope, receive, send)

    def _admit(self) -> bool:
        limit = self.state.config.rate_limit_per_second
        if limit <= 0:
            return True
        now = time.monotonic()
        with self.state.lock:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= limit:
                self._rejections_in_a_row += 1
                block_after = self.state.config.block_after_429s
                if block_after and self._rejections_in_a_row >= block_after:
                    self.state.blocked = True
                return False
            self._rejections_in_a_row = 0
            self._recent.append(now)
            return True


async def _reply(send: Send, status: int, content_type: str, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
