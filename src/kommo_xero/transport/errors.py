"""Typed API errors. Messages never include headers, so tokens cannot leak through them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """A call to Kommo or Xero failed; `status` is the HTTP status (0 when no response came)."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        status: int = 0,
        method: str = "",
        url: str = "",
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.message = message
        self.status = status
        self.method = method
        self.url = url
        self.body = body

    def describe(self) -> str:
        """One line for logs, notes and the dashboard."""
        where = f"{self.method} {self.url}".strip()
        code = f" HTTP {self.status}" if self.status else ""
        return f"{self.service}{code} {where}: {self.message}"


class TransientError(ApiError):
    """Worth retrying: 5xx, timeouts, dropped connections."""


class RateLimited(ApiError):
    """The server said slow down (429) or a daily budget is nearly spent."""

    def __init__(self, service: str, message: str, *, retry_after: float, **kw: Any) -> None:
        super().__init__(service, message, **kw)
        self.retry_after = retry_after


class AuthFailed(ApiError):
    """Access is revoked or expired even after a refresh: the connection must be reconnected."""


class NotFound(ApiError):
    """The entity does not exist (or no longer exists)."""


class ValidationFailed(ApiError):
    """The service refused the data; `errors` holds its messages in its own words."""

    def __init__(self, service: str, message: str, *, errors: list[str], **kw: Any) -> None:
        super().__init__(service, message, **kw)
        self.errors = errors
