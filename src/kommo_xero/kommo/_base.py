"""The request plumbing every part of the Kommo client shares: auth, pacing, retries, errors,
pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any, Self, TypeVar
from urllib.parse import urljoin

import httpx

from kommo_xero.kommo._errors import SERVICE, raise_for_kommo, retry_after_from_body
from kommo_xero.kommo.auth import BearerToken
from kommo_xero.transport import Pacer, RetryPolicy, send_with_retry

T = TypeVar("T")
# Kommo takes up to 250 per write but recommends 50 (504s on bigger batches).
WRITE_BATCH = 50
PAGE_LIMIT = 250


def chunked(items: Sequence[T], size: int) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _AuthedSender:
    """`send_with_retry` calls `client.send(request)`; this applies our auth to each send
    without touching a caller-supplied client's own settings (it may be shared)."""

    def __init__(self, http: httpx.AsyncClient, auth: httpx.Auth) -> None:
        self._http = http
        self._auth = auth

    async def send(self, request: httpx.Request) -> httpx.Response:
        return await self._http.send(request, auth=self._auth)


class KommoBase:
    """Sends one Kommo API call: paced per account, retried when worth it, errors typed."""

    def __init__(
        self,
        base_url: str,
        token: str | httpx.Auth,
        *,
        account_key: str,
        pacer: Pacer | None = None,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 20.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.account_key = account_key
        self._auth = BearerToken(token) if isinstance(token, str) else token
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=timeout)
        self._sender: Any = _AuthedSender(self._http, self._auth)
        self._pacer = pacer
        self._retry = retry
        self._timeout = timeout

    def _url(self, path_or_url: str) -> str:
        return (
            urljoin(self.base_url + "/", path_or_url.lstrip("/"))
            if "://" not in path_or_url
            else path_or_url
        )

    async def _send(
        self,
        method: str,
        path_or_url: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        replay_safe: bool = True,
    ) -> httpx.Response:
        url = self._url(path_or_url)

        def build() -> httpx.Request:
            return self._http.build_request(
                method,
                url,
                params=params,
                json=json,
                content=content,
                headers=headers,
                timeout=self._timeout,
            )

        response = await send_with_retry(
            self._sender,
            build,
            service=SERVICE,
            pace_key=self.account_key,
            pacer=self._pacer,
            policy=self._retry,
            retry_after_hint=retry_after_from_body,
            replay_safe=replay_safe,
        )
        raise_for_kommo(response)
        return response

    async def _json(self, method: str, path_or_url: str, **kwargs: Any) -> Any:
        """The decoded body, or None for 204 / an empty body (Kommo's "nothing here")."""
        response = await self._send(method, path_or_url, **kwargs)
        if response.status_code == 204 or not response.content.strip():
            return None
        return response.json()

    async def _embedded(self, method: str, path: str, key: str, **kwargs: Any) -> list[Any]:
        body = await self._json(method, path, **kwargs)
        return _embedded_list(body, key)

    async def _pages(
        self, path: str, key: str, params: dict[str, Any] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Every item of a paginated list, following `_links.next` until it is missing."""
        url: str | None = path
        query: dict[str, Any] | None = {"limit": PAGE_LIMIT, **(params or {})}
        while url is not None:
            body = await self._json("GET", url, params=query)
            if body is None:
                return
            for item in _embedded_list(body, key):
                yield item
            url = _next_href(body)
            query = None  # the next link already carries the whole query

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def close(self) -> None:
        await self.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def _embedded_list(body: Any, key: str) -> list[Any]:
    if not isinstance(body, dict):
        return []
    embedded = body.get("_embedded")
    items = embedded.get(key) if isinstance(embedded, dict) else None
    return items if isinstance(items, list) else []


def _next_href(body: dict[str, Any]) -> str | None:
    links = body.get("_links")
    nxt = links.get("next") if isinstance(links, dict) else None
    href = nxt.get("href") if isinstance(nxt, dict) else None
    return href if isinstance(href, str) and href else None
