"""Token sources over the encrypted store, for the Kommo and Xero `RefreshingAuth` flows.

Reads are cached for a few seconds (every API call asks for the token); refreshes go
through `Rotator`, in a worker thread, so they are serialised everywhere. A request still
refused with 401 after a refresh pauses the connection: its work is parked, not failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Callable, Generator
from datetime import UTC, datetime

import httpx

from kommo_xero.connections.records import Credential, CredentialStore
from kommo_xero.connections.rotation import Rotator, expires_within, not_connected
from kommo_xero.kommo.auth import TokenSet as KommoTokenSet
from kommo_xero.transport import AuthFailed
from kommo_xero.xero.tokens import TokenSet as XeroTokenSet

# How long a token read from the database is reused before it is read again (a pause or a
# reconnect by another process shows up within this time).
CACHE_S = 15.0


class StoredTokens:
    """The stored credential of one (connection, service), with a short read cache."""

    def __init__(
        self,
        credentials: CredentialStore,
        rotator: Rotator,
        *,
        margin_s: float,
        cache_s: float = CACHE_S,
    ) -> None:
        self._credentials = credentials
        self.rotator = rotator
        self._margin = margin_s
        self._cache_s = cache_s
        self._cached: Credential | None = None
        self._read_at = 0.0

    def __repr__(self) -> str:
        return f"StoredTokens({self.rotator.service}:{self.rotator.connection_id})"

    def load(self) -> Credential:
        cached = self._cached
        if (
            cached is not None
            and time.monotonic() - self._read_at < self._cache_s
            and not expires_within(cached, self._margin, datetime.now(UTC))
        ):
            return cached
        found = self._credentials.get(self.rotator.connection_id, self.rotator.service)
        if found is None or not found.access_token:
            raise not_connected(self.rotator.service, self.rotator.connection_id)
        if found.paused:
            self._cached = None
            raise AuthFailed(self.rotator.label, found.pause_reason or "connection paused")
        self._cached, self._read_at = found, time.monotonic()
        return found

    async def refresh(self, stale_access: str | None) -> Credential:
        try:
            fresh = await asyncio.to_thread(self.rotator.refresh, stale_access, self._margin)
        except AuthFailed:
            self._cached = None  # paused: the next call must see it, not a cached token
            raise
        self._cached, self._read_at = fresh, time.monotonic()
        return fresh

    def pause(self, reason: str) -> None:
        self._credentials.pause(self.rotator.connection_id, self.rotator.service, reason)
        self._cached = None


class XeroTokenSource:
    """`kommo_xero.xero.auth.TokenSource` over the encrypted store."""

    def __init__(self, tokens: StoredTokens) -> None:
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"XeroTokenSource({self.tokens!r})"

    @staticmethod
    def _token_set(credential: Credential) -> XeroTokenSet:
        assert credential.access_token is not None
        return XeroTokenSet(
            access_token=credential.access_token,
            refresh_token=credential.refresh_token,
            expires_at=credential.expires_at or datetime.now(UTC),
            scope=credential.scope,
        )

    async def current(self) -> XeroTokenSet:
        return self._token_set(self.tokens.load())

    async def refresh(self, stale: XeroTokenSet) -> XeroTokenSet:
        return self._token_set(await self.tokens.refresh(stale.access_token))


class KommoTokenSource:
    """`kommo_xero.kommo.auth.TokenSource` over the encrypted store."""

    def __init__(self, tokens: StoredTokens) -> None:
        self.tokens = tokens

    def __repr__(self) -> str:
        return f"KommoTokenSource({self.tokens!r})"

    @staticmethod
    def _token_set(credential: Credential) -> KommoTokenSet:
        assert credential.access_token is not None
        expires = credential.expires_at.timestamp() if credential.expires_at else time.time()
        return KommoTokenSet(
            access_token=credential.access_token,
            refresh_token=credential.refresh_token,
            expires_at=expires,
            scope=credential.scope or None,
        )

    async def current(self) -> KommoTokenSet:
        return self._token_set(self.tokens.load())

    async def refresh(self, stale: KommoTokenSet) -> KommoTokenSet:
        return self._token_set(await self.tokens.refresh(stale.access_token))


class PauseOnRefusal(httpx.Auth):
    """Wraps a refreshing auth flow: a 401 that survives the flow's own refresh means the
    access is revoked, so the connection is paused (work parks until a reconnect)."""

    def __init__(self, inner: httpx.Auth, on_refused: Callable[[], None]) -> None:
        self._inner = inner
        self._on_refused = on_refused

    def __repr__(self) -> str:
        return f"PauseOnRefusal({self._inner!r})"

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response]:
        raise RuntimeError("PauseOnRefusal works only with httpx.AsyncClient")

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        flow = self._inner.async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                break
        if response.status_code == 401:
            self._on_refused()
