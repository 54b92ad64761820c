"""OAuth helpers: consent URL, code and refresh exchange, refresh-and-replay auth flow."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from tests.unit.kommo.fakes import BASE, FakeKommo, client_for, hal, problem

from kommo_xero.kommo import KommoOAuth, RefreshingAuth, TokenSet
from kommo_xero.transport import AuthFailed

pytestmark = pytest.mark.anyio

CLIENT_SECRET = "client-secret-xyz"


def oauth(fake: FakeKommo, **kwargs: str) -> KommoOAuth:
    http = httpx.AsyncClient(transport=httpx.MockTransport(fake))
    return KommoOAuth(
        BASE, "client-1", CLIENT_SECRET, "https://me/cb", http=http, clock=lambda: 1000.0, **kwargs
    )


def token_answer(request: httpx.Request) -> httpx.Response:
    grant = json.loads(request.content)["grant_type"]
    return hal(
        {
            "token_type": "Bearer",
            "expires_in": 86400,
            "server_time": 1,
            "access_token": f"access-{grant}",
            "refresh_token": f"refresh-{grant}",
        }
    )


@dataclass
class FakeTokenSource:
    """Hands out tokens and records each refresh it was asked for."""

    tokens: TokenSet
    refreshed: list[str] = field(default_factory=list)

    async def current(self) -> TokenSet:
        return self.tokens

    async def refresh(self, stale: TokenSet) -> TokenSet:
        self.refreshed.append(stale.access_token)
        self.tokens = TokenSet(
            access_token=f"fresh-{len(self.refreshed)}",
            refresh_token="r2",
            expires_at=stale.expires_at + 86400,
        )
        return self.tokens


def test_authorize_url_points_at_consent_page_with_state() -> None:
    """The consent URL carries client_id, state and post_message mode; the host can change."""
    url = oauth(FakeKommo(), consent_url="http://127.0.0.1:9/oauth").authorize_url("csrf-1")
    parts = urlsplit(url)
    assert (f"{parts.scheme}://{parts.netloc}{parts.path}", parse_qs(parts.query)) == (
        "http://127.0.0.1:9/oauth",
        {"client_id": ["client-1"], "state": ["csrf-1"], "mode": ["post_message"]},
    )


async def test_exchange_code_and_refresh_post_json_grants() -> None:
    """Both grants POST JSON to /oauth2/access_token and give tokens expiring in 24 h."""
    fake = FakeKommo(routes={"POST /oauth2/access_token": token_answer})
    flow = oauth(fake)
    first = await flow.exchange_code("code-1")
    second = await flow.refresh("refresh-authorization_code")
    assert (first.access_token, first.expires_at) == ("access-authorization_code", 1000.0 + 86400)
    assert second.refresh_token == "refresh-refresh_token"
    sent = fake.bodies("POST /oauth2/access_token")
    assert sent[1] == {
        "client_id": "client-1",
        "client_secret": CLIENT_SECRET,
        "grant_type": "refresh_token",
        "refresh_token": "refresh-authorization_code",
        "redirect_uri": "https://me/cb",
    }


async def test_revoked_refresh_token_never_leaks(caplog: pytest.LogCaptureFixture) -> None:
    """A refused refresh raises AuthFailed; no secret shows in the error, its body or logs."""
    caplog.set_level(logging.DEBUG)
    leaky = problem(401, hint="Token has been revoked: used-refresh-1", title="Bad request")
    fake = FakeKommo(routes={"POST /oauth2/access_token": lambda _: leaky})
    with pytest.raises(AuthFailed) as caught:
        await oauth(fake).refresh("used-refresh-1")
    shown = " ".join(
        [caught.value.describe(), repr(caught.value), str(caught.value.body), caplog.text]
    )
    assert "revoked" in shown
    assert "used-refresh-1" not in shown and CLIENT_SECRET not in shown


def test_token_reprs_hide_values() -> None:
    """Printing a TokenSet or an OAuth helper never shows a token or the secret."""
    tokens = TokenSet(access_token="acc-secret", refresh_token="ref-secret", expires_at=1.0)
    shown = repr(tokens) + str(tokens) + repr(oauth(FakeKommo()))
    assert "acc-secret" not in shown and "ref-secret" not in shown
    assert CLIENT_SECRET not in shown


async def test_refreshing_auth_refreshes_on_401_once_and_replays() -> None:
    """A 401 triggers one refresh and the same request is replayed with the new token."""

    def lead(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer fresh-1":
            return hal({"id": 7, "name": "Deal"})
        return problem(401, detail="expired")

    source = FakeTokenSource(TokenSet(access_token="old", expires_at=10**10))
    fake = FakeKommo(routes={"GET /api/v4/leads/7": lead})
    async with client_for(fake, token=RefreshingAuth(source)) as kommo:
        found = await kommo.get_lead(7)
    assert found is not None and found.name == "Deal"
    assert (source.refreshed, len(fake.seen)) == (["old"], 2)


async def test_refreshing_auth_gives_up_after_one_refresh() -> None:
    """If the refreshed token is refused too, the call fails with AuthFailed (no loop)."""
    source = FakeTokenSource(TokenSet(access_token="old", expires_at=10**10))
    fake = FakeKommo(routes={"GET /api/v4/leads/7": lambda _: problem(401, detail="revoked")})
    async with client_for(fake, token=RefreshingAuth(source)) as kommo:
        with pytest.raises(AuthFailed):
            await kommo.get_lead(7)
    assert len(source.refreshed) == 1


async def test_refreshing_auth_refreshes_ahead_of_expiry() -> None:
    """A token within the leeway of expiry is refreshed before the request leaves."""
    source = FakeTokenSource(TokenSet(access_token="old", expires_at=1060.0))
    fake = FakeKommo(routes={"GET /api/v4/leads/7": lambda _: hal({"id": 7})})
    auth = RefreshingAuth(source, leeway=120, clock=lambda: 1000.0)
    async with client_for(fake, token=auth) as kommo:
        await kommo.get_lead(7)
    assert [r.headers["Authorization"] for r in fake.seen] == ["Bearer fresh-1"]
