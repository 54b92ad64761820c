"""A dashboard on a real (not started) service and SQLite store, behind a TestClient."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import insert

from kommo_xero.bootstrap import Service
from kommo_xero.observability import metrics_router
from kommo_xero.sandbox.stack import sandbox_settings
from kommo_xero.store.tables import history, links, parked
from kommo_xero.web.dashboard import DashboardConfig, dashboard_router
from kommo_xero.web.dashboard.passwords import hash_password
from kommo_xero.web.health import health_router

PASSWORD = "correct horse battery"
MAX_FAILURES = 3
LOCKOUT_SECONDS = 60.0
CONNECTION = "sandbox"


@dataclass
class FakeClock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def service(tmp_path: Path) -> Service:
    settings = sandbox_settings(
        tmp_path, kommo_url="http://127.0.0.1:9", xero_url="http://127.0.0.1:9", service_port=8100
    )
    return Service(settings)


def build_app(service: Service, clock: FakeClock) -> FastAPI:
    app = FastAPI()
    config = DashboardConfig(
        password_hash=hash_password(PASSWORD),
        max_failures=MAX_FAILURES,
        lockout_seconds=LOCKOUT_SECONDS,
        clock=clock,
    )
    app.include_router(dashboard_router(service, config))
    app.include_router(metrics_router())
    app.include_router(health_router(service))
    return app


@pytest.fixture
def client(service: Service, clock: FakeClock) -> Iterator[TestClient]:
    with TestClient(build_app(service, clock), follow_redirects=False) as test_client:
        yield test_client


def csrf_from(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, password: str = PASSWORD) -> Any:
    token = csrf_from(client.get("/dashboard/sign-in").text)
    return client.post(
        "/dashboard/sign-in",
        data={"csrf_token": token, "password": password, "next": "/dashboard"},
    )


@pytest.fixture
def signed_in(client: TestClient) -> TestClient:
    answer = sign_in(client)
    assert answer.status_code == 303
    return client


def add_link(service: Service, number: int, **values: Any) -> int:
    at = datetime(2026, 7, 1, tzinfo=UTC) + timedelta(minutes=number)
    row = {
        "connection_id": CONNECTION,
        "kommo_lead_id": 10_000 + number,
        "xero_invoice_id": f"00000000-0000-0000-0000-{number:012d}",
        "invoice_number": f"INV-{number:04d}",
        "origin": "deal",
        "state": "invoiced",
        "active": True,
        "cause": f"cause-{number}",
        "deal_name": f"Deal number {number}",
        "contact_name": "ACME Ltd",
        "status": "AUTHORISED",
        "status_label": "Awaiting payment",
        "currency": "USD",
        "total": Decimal("100.00") + number,
        "amount_due": Decimal("100.00") + number,
        "amount_paid": Decimal(0),
        "online_url": f"http://xero.example/online/{number}",
        "created_at": at,
        "updated_at": at,
        **values,
    }
    with service.store.tx() as conn:
        return int(conn.execute(insert(links).values(**row)).inserted_primary_key[0])


def add_parked(service: Service, lead_id: int, code: str, message: str, fix: str) -> None:
    now = datetime.now(UTC)
    with service.store.tx() as conn:
        conn.execute(
            insert(parked).values(
                connection_id=CONNECTION,
                flow="deal_to_invoice",
                subject=str(lead_id),
                reason_code=code,
                message=message,
                fix=fix,
                attempts=1,
                open=True,
                created_at=now,
                updated_at=now,
            )
        )


def add_event(
    service: Service, link_id: int, lead_id: int, kind: str, message: str, detail: str | None = None
) -> None:
    with service.store.tx() as conn:
        conn.execute(
            insert(history).values(
                connection_id=CONNECTION,
                link_id=link_id,
                kommo_lead_id=lead_id,
                kind=kind,
                message=message,
                detail=detail,
                at=datetime.now(UTC),
            )
        )
