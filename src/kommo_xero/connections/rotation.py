"""One refresh at a time per credential, across threads, processes and machines.

The refresh runs in a worker thread that holds the credential's row lock (see
`CredentialStore.locked`) for the length of the token call. It runs outside the service's
event loop on purpose: with SQLite the lock is the database write lock, and a coroutine on
the loop that writes to the database would otherwise wait for a lock whose holder needs
that very loop to finish.

After taking the lock the row is read again: when another worker rotated the tokens
meanwhile, their result is used and the token endpoint is not called. When a refresh is
sent but no answer comes back, the old refresh token is kept and marked "in doubt": both
Kommo and Xero accept it once more (Xero for 30 minutes), which is how a lost answer is
recovered. A refused refresh pauses the connection until someone reconnects.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Connection

from kommo_xero.connections.records import Credential, CredentialStore, TokenUpdate, now_utc
from kommo_xero.transport import ApiError, AuthFailed, TransientError

# Xero replays a superseded refresh token for 30 minutes after its first use.
XERO_REFRESH_GRACE = timedelta(minutes=30)

Exchange = Callable[[str], Coroutine[Any, Any, TokenUpdate]]
SERVICE_LABELS = {"kommo": "Kommo", "xero": "Xero"}


def expires_within(credential: Credential, seconds: float, now: datetime) -> bool:
    if credential.expires_at is None:
        return False
    return credential.expires_at - timedelta(seconds=seconds) <= now


def not_connected(service: str, connection_id: str) -> AuthFailed:
    label = SERVICE_LABELS.get(service, service)
    return AuthFailed(
        label,
        f"{label} is not connected for {connection_id!r}: run `kommo-xero connect {service}`",
    )


class Rotator:
    """Refreshes one stored credential under its row lock."""

    def __init__(
        self,
        credentials: CredentialStore,
        connection_id: str,
        service: str,
        exchange: Exchange,
        *,
        grace: timedelta | None = None,
        lost_answer_retries: int = 2,
        retry_delay_s: float = 0.5,
    ) -> None:
        self._credentials = credentials
        self.connection_id = connection_id
        self.service = service
        self._exchange = exchange
        self._grace = grace
        self._retries = lost_answer_retries
        self._delay = retry_delay_s
        # Threads of this process queue here rather than each holding a database
        # connection while it waits for the database lock.
        self._thread_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Rotator({self.service}:{self.connection_id})"

    @property
    def label(self) -> str:
        return SERVICE_LABELS.get(self.service, self.service)

    def refresh(self, stale_access: str | None, margin_s: float) -> Credential:
        """New tokens (ours or another worker's); `AuthFailed` when the grant is gone."""
        with self._thread_lock:
            error: ApiError | None = None
            with self._credentials.locked(self.connection_id, self.service) as (conn, current):
                if current is None:
                    error = not_connected(self.service, self.connection_id)
                elif current.paused:
                    error = AuthFailed(self.label, current.pause_reason or "connection paused")
                elif current.access_token != stale_access and not expires_within(
                    current, margin_s, now_utc()
                ):
                    return current  # another worker rotated while we waited for the lock
                elif not current.refresh_token:
                    error = AuthFailed(self.label, "no refresh token stored: reconnect")
                else:
                    fresh, error = self._rotate(conn, current)
                    if fresh is not None:
                        return fresh
            assert error is not None
            raise error

    def _rotate(self, conn: Connection, current: Credential) -> tuple[Credential | None, ApiError]:
        assert current.refresh_token
        error: ApiError = TransientError(self.label, "token refresh did not run")
        for attempt in range(self._retries + 1):
            if attempt:
                time.sleep(self._delay * attempt)
            try:
                tokens = asyncio.run(self._exchange(current.refresh_token))
            except AuthFailed as exc:
                reason = self._refusal(current, exc)
                self._credentials.pause(self.connection_id, self.service, reason, conn=conn)
                return None, AuthFailed(self.label, reason, status=exc.status)
            except (TransientError, httpx.TransportError) as exc:
                # The answer may be lost after the server rotated: keep the old token,
                # which the server accepts again, and remember since when it is in doubt.
                self._credentials.mark_in_doubt(conn, current)
                detail = exc.message if isinstance(exc, ApiError) else type(exc).__name__
                error = TransientError(
                    self.label, f"token refresh got no answer ({detail}); it will be retried"
                )
                continue
            self._credentials.save_refresh(conn, current, tokens)
            fresh = self._credentials.read(conn, self.connection_id, self.service)
            assert fresh is not None
            return fresh, error
        return None, error

    def _refusal(self, current: Credential, exc: AuthFailed) -> str:
        since = current.refresh_in_doubt_since
        lost = ""
        if since is not None and self._grace is not None and now_utc() - since > self._grace:
            minutes = int(self._grace.total_seconds() // 60)
            lost = (
                f" An earlier refresh answer was lost at {since:%Y-%m-%d %H:%M} UTC and the "
                f"{minutes}-minute grace period to replay it has passed."
            )
        return (
            f"{self.label} refused the stored refresh token ({exc.message}).{lost} Reconnect "
            f"with `kommo-xero connect {self.service}`; paused work resumes then."
        )
