"""Token rotation: one refresh per rotation across processes; a lost answer recovered."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import update
from tests.integration.connections.conftest import Env, consent_xero, start_env
from tests.integration.flows.conftest import postgres_database

from kommo_xero.connections.records import XERO
from kommo_xero.connections.wiring import open_credentials, xero_token_source
from kommo_xero.store.token_tables import credentials as credentials_table
from kommo_xero.transport import AuthFailed, TransientError

WORKER = Path(__file__).with_name("rotation_worker.py")
ROOT = Path(__file__).parents[3]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def short_env(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Env]:
    """Access tokens live 63 s, so with the 60 s refresh margin they are due after 3 s.

    Runs on the SQLite file (one machine) and on PostgreSQL (row locks across machines)."""
    monkeypatch.delenv("KOMMO_XERO_SECRET_KEY", raising=False)
    started = start_env(tmp_path, access_token_ttl=63, enforce_limits=False)
    if request.param == "sqlite":
        yield started
    else:
        with postgres_database() as url:
            started.database_url = url
            yield started
    started.sims.stop()


def _counters(env: Env) -> dict[str, object]:
    return dict(env.sims.xero_sim.get("/counters").json())


@pytest.mark.anyio
async def test_many_processes_refresh_once_per_rotation(short_env: Env) -> None:
    """Three processes x six concurrent callers over two rotations: one refresh each time."""
    budget = {"calls_per_minute": 20000, "calls_per_day": 1000000}
    config = short_env.write_config(xero_auth="oauth", **budget)  # type: ignore[arg-type]
    settings = short_env.settings(xero_auth="oauth", **budget)
    credentials = open_credentials(settings)
    assert (await consent_xero(settings, credentials)).status == "done"

    start_at = time.time() + 3.0
    workers = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(config), str(start_at), "6.5", "6"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            text=True,
        )
        for _ in range(3)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))

    assert [e for r in results for e in r["errors"]] == []
    assert all(r["ok"] > 0 for r in results)
    stored = credentials.get("sandbox", XERO)
    assert stored is not None and not stored.paused
    counters = _counters(short_env)
    assert stored.rotations >= 2
    assert stored.rotations == counters["refresh_calls"]
    uses = counters["refresh_uses"]
    assert isinstance(uses, dict)
    assert set(uses.values()) == {1}  # no refresh token was ever spent twice


class LosingTransport(httpx.AsyncBaseTransport):
    """Delivers refresh requests to the simulator but loses the first `lose` answers."""

    def __init__(self, lose: int) -> None:
        self.lose = lose
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._inner.handle_async_request(request)
        await response.aread()
        if b"grant_type=refresh_token" in request.content and self.lose > 0:
            self.lose -= 1
            raise httpx.ReadError("connection reset while reading the answer", request=request)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


@pytest.mark.anyio
async def test_lost_refresh_answer_recovered_within_grace(env: Env) -> None:
    """The answer to a refresh is lost; replaying the old token in time gets the new pair."""
    settings = env.settings(xero_auth="oauth")
    credentials = open_credentials(settings)
    await consent_xero(settings, credentials)
    transport = LosingTransport(lose=1)
    source = xero_token_source(
        settings, credentials, http_factory=lambda: httpx.AsyncClient(transport=transport)
    )
    before = await source.current()

    after = await source.refresh(before)

    assert after.access_token != before.access_token
    counters = _counters(env)
    assert counters["refresh_calls"] == 2
    assert list(dict(counters["refresh_uses"]).values()) == [2]  # type: ignore[call-overload]
    stored = credentials.get("sandbox", XERO)
    assert stored is not None and stored.refresh_in_doubt_since is None
    again = await source.refresh(after)  # the recovered refresh token is the live one
    assert again.access_token != after.access_token
    answer = httpx.get(
        f"{env.sims.xero.base_url}/api.xro/2.0/Currencies",
        headers={
            "Authorization": f"Bearer {again.access_token}",
            "xero-tenant-id": stored.tenant_id or "",
            "Accept": "application/json",
        },
    )
    assert answer.status_code == 200


@pytest.mark.anyio
async def test_lost_refresh_answer_after_grace_pauses_connection(env: Env) -> None:
    """Past Xero's 30-minute grace the lost refresh cannot be replayed: the connection pauses
    with an alert that says why, and stops calling the token endpoint."""
    settings = env.settings(xero_auth="oauth")
    credentials = open_credentials(settings)
    await consent_xero(settings, credentials)
    transport = LosingTransport(lose=1)
    source = xero_token_source(
        settings,
        credentials,
        http_factory=lambda: httpx.AsyncClient(transport=transport),
        lost_answer_retries=0,
    )
    stale = await source.current()
    with pytest.raises(TransientError):
        await source.refresh(stale)
    stored = credentials.get("sandbox", XERO)
    assert stored is not None and stored.refresh_in_doubt_since is not None
    # 31 minutes pass: on Xero's clock, and on the doubt we recorded.
    env.sims.xero_sim.post("/clock/advance", json={"seconds": 31 * 60}).raise_for_status()
    with credentials.store.tx() as conn:
        conn.execute(
            update(credentials_table).values(
                refresh_in_doubt_since=stored.refresh_in_doubt_since - timedelta(minutes=31)
            )
        )

    with pytest.raises(AuthFailed) as refused:
        await source.refresh(stale)

    assert "grace period" in str(refused.value)
    paused = credentials.get("sandbox", XERO)
    assert paused is not None and paused.paused
    calls = _counters(env)["refresh_calls"]
    with pytest.raises(AuthFailed):
        await source.current()
    assert calls == _counters(env)["refresh_calls"]
