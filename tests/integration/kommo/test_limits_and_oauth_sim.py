"""Rate limits, the IP block and OAuth against the Kommo simulator."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kommo_xero.kommo import KommoClient, KommoOAuth, RefreshingAuth, TokenSet
from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import start_in_thread
from kommo_xero.transport import AuthFailed, RateLimited, RetryPolicy

pytestmark = pytest.mark.anyio

TOKEN = "kommo-sandbox-token"
CONFIG = KommoSimConfig()
REDIRECT = "http://127.0.0.1:1/kommo/oauth/callback"


async def test_429_is_waited_out_and_every_call_succeeds() -> None:
    """Past the server's rate, calls get 429, wait retry_after from the body, then succeed."""
    config = KommoSimConfig(rate_limit_per_second=3, rate_limit_retry_after=1)
    with start_in_thread(create_app(config)) as sim:
        async with KommoClient(
            sim.base_url, TOKEN, account_key="kommo:rl", retry=RetryPolicy(attempts=6)
        ) as kommo:
            started = time.monotonic()
            accounts = await asyncio.gather(*(kommo.get_account() for _ in range(8)))
            elapsed = time.monotonic() - started
    assert {30000001} == {a.id for a in accounts}
    assert elapsed >= 0.9  # 8 calls at 3/s cannot all pass without waiting out a 429


async def test_429_beyond_patience_raises_rate_limited() -> None:
    """With no patience for waits, the simulator's 429 surfaces as RateLimited."""
    config = KommoSimConfig(rate_limit_per_second=2, rate_limit_retry_after=1)
    impatient = RetryPolicy(attempts=3, max_inline_wait=0.0)
    with start_in_thread(create_app(config)) as sim:
        async with KommoClient(
            sim.base_url, TOKEN, account_key="kommo:rl2", retry=impatient
        ) as kommo:
            with pytest.raises(RateLimited) as caught:
                await asyncio.gather(*(kommo.get_account() for _ in range(8)))
    assert caught.value.retry_after == 1


async def test_ip_block_says_to_contact_support() -> None:
    """After repeated 429s the simulator blocks with HTML 403; the error says what to do."""
    config = KommoSimConfig(rate_limit_per_second=1, block_after_429s=2)
    impatient = RetryPolicy(attempts=1, max_inline_wait=0.0)
    with start_in_thread(create_app(config)) as sim:
        async with KommoClient(
            sim.base_url, TOKEN, account_key="kommo:blk", retry=impatient
        ) as kommo:
            for _ in range(6):
                try:
                    await kommo.get_account()
                except RateLimited:
                    continue
                except AuthFailed as exc:
                    assert "contact Kommo support" in exc.message
                    return
    pytest.fail("the simulator never blocked the client")


@dataclass
class MemoryTokens:
    """A TokenSource kept in memory: refreshes through KommoOAuth and rotates the pair."""

    oauth: KommoOAuth
    tokens: TokenSet
    refreshes: int = 0

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh(self, stale: TokenSet) -> TokenSet:
        assert stale.refresh_token is not None
        self.tokens = await self.oauth.refresh(stale.refresh_token)
        self.refreshes += 1
        return self.tokens


async def test_oauth_code_exchange_refresh_and_rotation() -> None:
    """Consent → code → tokens that work; an expiring token is refreshed; old refresh dies."""
    with start_in_thread(create_app(KommoSimConfig())) as sim:
        oauth = KommoOAuth(
            sim.base_url,
            CONFIG.client_id,
            CONFIG.client_secret,
            REDIRECT,
            consent_url=f"{sim.base_url}/oauth",
        )
        async with httpx.AsyncClient() as browser:
            consent = await browser.get(f"{oauth.authorize_url('csrf-9')}&redirect_uri={REDIRECT}")
        query = parse_qs(urlsplit(consent.headers["location"]).query)
        assert query["state"] == ["csrf-9"]
        first = await oauth.exchange_code(query["code"][0])
        # Pretend the token is about to lapse so the auth flow refreshes before the call.
        source = MemoryTokens(oauth, first.model_copy(update={"expires_at": 0.0}))
        async with KommoClient(
            sim.base_url, RefreshingAuth(source), account_key="kommo:oauth"
        ) as kommo:
            account = await kommo.get_account()
            await kommo.get_account()  # the refreshed pair is used as is
        assert (account.id, source.refreshes) == (30000001, 1)
        await oauth.refresh(source.tokens.refresh_token or "")  # uses the new one: old revoked
        with pytest.raises(AuthFailed) as caught:
            await oauth.refresh(first.refresh_token or "")
        assert (first.refresh_token or "") not in caught.value.describe()
        await oauth.aclose()
