"""A running Kommo simulator per test module, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from kommo_xero.kommo import KommoClient
from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.transport import RetryPolicy

TOKEN = "kommo-sandbox-token"
ACCOUNT_KEY = "kommo:30000001"
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def kommo_sim() -> Iterator[ServerHandle]:
    """The simulator with its seed account (rate limit off so tests never wait)."""
    with start_in_thread(create_app(KommoSimConfig(rate_limit_per_second=0))) as handle:
        yield handle


@pytest.fixture
async def kommo(kommo_sim: ServerHandle) -> AsyncIterator[KommoClient]:
    async with KommoClient(
        kommo_sim.base_url, TOKEN, account_key=ACCOUNT_KEY, retry=FAST_RETRY
    ) as client:
        yield client
