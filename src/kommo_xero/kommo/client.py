"""`KommoClient`: the typed async client for Kommo's REST API v4.

Build one per account and reuse it; every call is paced by `account_key`, retried when worth
it, and fails with the transport's typed errors (`AuthFailed`, `NotFound`, `ValidationFailed`,
`RateLimited`, `TransientError`, `ApiError`).
"""

from __future__ import annotations

from kommo_xero.kommo._files import FilesApi
from kommo_xero.kommo._leads import LeadsApi
from kommo_xero.kommo._parties import PartiesApi
from kommo_xero.kommo._setup import SetupApi


class KommoClient(LeadsApi, PartiesApi, FilesApi, SetupApi):
    """`KommoClient(base_url, token, account_key="kommo:<account id>", pacer=...)`.

    `token` is a string (long-lived token → Bearer) or any `httpx.Auth`, such as
    `RefreshingAuth` for OAuth. Use it as an async context manager or call `close()`.
    """


__all__ = ["KommoClient"]
