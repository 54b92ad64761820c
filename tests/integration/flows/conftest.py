"""A running sandbox (both simulators and the service) for flow tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.spec_middleware import SpecCheckedApp

from kommo_xero.config import Settings
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.kommo import create_app as create_kommo_app
from kommo_xero.sandbox.server import ServerHandle, free_port, start_in_thread
from kommo_xero.sandbox.stack import (
    Simulators,
    register_kommo_webhook,
    sandbox_settings,
    start_service,
)
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.sandbox.xero import create_app as create_xero_app
from kommo_xero.store import Store

TENANT = "c2cc9b6e-9458-4c7d-93cc-f02b81b0594f"
POSTGRES_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    name = f"kx_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def wait_until(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; fail with the last value otherwise."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


@dataclass
class Sandbox:
    sims: Simulators
    settings: Settings
    service: ServerHandle | None
    data_dir: Path
    database_url: str | None = None

    # -- acting as a person in Kommo ----------------------------------------------------

    def new_deal(
        self,
        name: str = "Website redesign",
        price: float = 4500,
        *,
        currency: str | None = "USD",
        client: str | None = "ACME Ltd",
        email: str | None = "ap@acme.example",
        description: str | None = "Website redesign - phase 1",
        products: list[dict[str, Any]] | None = None,
    ) -> int:
        contact_id = None
        if client is not None:
            contact = self.sims.kommo_sim.post("/contacts", json={"name": client, "email": email})
            contact.raise_for_status()
            contact_id = contact.json()["id"]
        body: dict[str, Any] = {
            "name": name,
            "price": price,
            "status_name": "New deal",
            "contact_id": contact_id,
            "products": products or [],
        }
        if currency:
            body["currency"] = currency
        if description:
            body["description"] = description
        lead = self.sims.kommo_sim.post("/leads", json=body)
        lead.raise_for_status()
        return int(lead.json()["id"])

    def approve(self, lead_id: int) -> None:
        moved = self.sims.kommo_sim.post(
            f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"}
        )
        moved.raise_for_status()

    def move(self, lead_id: int, stage: str) -> None:
        self.sims.kommo_sim.post(f"/leads/{lead_id}/move", json={"status_name": stage})

    def deal(self, lead_id: int) -> dict[str, Any]:
        answer = self.sims.kommo_sim.get(f"/leads/{lead_id}")
        answer.raise_for_status()
        return dict(answer.json())

    # -- looking into Xero --------------------------------------------------------------

    def invoices_for(self, lead_id: int) -> list[Any]:
        org = self.sims.xero.app.state.sim.orgs[TENANT]
        reference = f"Kommo deal {lead_id}"
        return [inv for inv in list(org.invoices.values()) if inv.reference == reference]

    def invoiced(self, lead_id: int) -> dict[str, Any] | None:
        """The deal once it shows its invoice number and the PDF is attached."""
        deal = self.deal(lead_id)
        has_number = bool(deal["fields"].get("Xero invoice number"))
        has_pdf = any(f["is_pdf"] for f in deal["files"])
        return deal if has_number and has_pdf else None

    def all_invoices(self) -> list[Any]:
        return list(self.sims.xero.app.state.sim.orgs[TENANT].invoices.values())

    def notes(self, lead_id: int) -> list[str]:
        return [str(n["params"].get("text", "")) for n in self.deal(lead_id)["notes"]]

    # -- the service and its database ---------------------------------------------------

    @property
    def store(self) -> Store:
        """The service's own store when it runs in this process, else one on its database."""
        if self.service is not None:
            return self.service.app.state.service.store  # type: ignore[no-any-return]
        from kommo_xero.store import make_engine

        return Store(make_engine(self.settings.service.resolved_database_url()))

    def webhook_url(self, secret: str | None = None) -> str:
        assert self.service is not None
        from kommo_xero.sandbox.stack import SANDBOX_WEBHOOK_SECRET

        return f"{self.service.base_url}/webhooks/kommo/{secret or SANDBOX_WEBHOOK_SECRET}"

    def post_webhook(self, body: bytes | str, secret: str | None = None) -> httpx.Response:
        """Deliver a raw Kommo webhook body the way Kommo does (form-encoded)."""
        return httpx.post(
            self.webhook_url(secret),
            content=body.encode() if isinstance(body, str) else body,
            headers={"content-type": "application/x-www-form-urlencoded"},
            timeout=10,
        )

    def link(self, lead_id: int) -> Any:
        return self.store.active_link(self.settings.connection_name, lead_id)

    def parked(self, lead_id: int) -> list[Any]:
        return [
            p
            for p in self.store.open_parked(self.settings.connection_name)
            if p["subject"] == str(lead_id)
        ]


def subscribe_webhook(sims: Simulators, service_url: str) -> None:
    """Subscribe the service in Kommo; the service's start-up may have used the second's quota."""
    for _ in range(20):
        try:
            register_kommo_webhook(sims.kommo.base_url, service_url)
            return
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 429:
                raise
            time.sleep(0.3)
    raise AssertionError("Kommo kept answering 429 to the webhook subscription")


def make_sandbox(
    tmp_path: Path,
    sims: Simulators,
    *,
    database_url: str | None = None,
    mapping: dict[str, Any] | None = None,
    xero_calls_per_minute: int | None = None,
    kommo_requests_per_second: int | None = None,
) -> Sandbox:
    port = free_port()
    settings = sandbox_settings(
        tmp_path,
        kommo_url=sims.kommo.base_url,
        xero_url=sims.xero.base_url,
        service_port=port,
        database_url=database_url,
        mapping=mapping,
    )
    if xero_calls_per_minute is not None:
        xero = settings.xero.model_copy(update={"calls_per_minute": xero_calls_per_minute})
        settings = settings.model_copy(update={"xero": xero})
    if kommo_requests_per_second is not None:
        kommo = settings.kommo.model_copy(update={"requests_per_second": kommo_requests_per_second})
        settings = settings.model_copy(update={"kommo": kommo})
    service = start_service(settings, port=port)
    subscribe_webhook(sims, service.base_url)
    return Sandbox(sims, settings, service, tmp_path, database_url)


@pytest.fixture
def xero_sim_config() -> XeroSimConfig:
    """The Xero simulator's settings (a module may override this fixture, e.g. its limits)."""
    return XeroSimConfig(webhook_time_scale=0.001)


@pytest.fixture
def kommo_sim_config() -> KommoSimConfig:
    """The Kommo simulator's settings (a module may override this fixture)."""
    return KommoSimConfig(webhook_time_scale=0.001)


@pytest.fixture
def sandbox_options() -> dict[str, Any]:
    """Extra `make_sandbox` arguments (a module may override this fixture)."""
    return {}


@pytest.fixture
def sims(kommo_sim_config: KommoSimConfig, xero_sim_config: XeroSimConfig) -> Iterator[Simulators]:
    """Both simulators; each Xero exchange of the test is checked against the spec at the end."""
    checked = SpecCheckedApp(create_xero_app(xero_sim_config), TENANT)
    started = Simulators(
        kommo=start_in_thread(create_kommo_app(kommo_sim_config)),
        xero=start_in_thread(checked),
    )
    yield started
    started.stop()
    checked.assert_all_valid()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None (a SQLite file in the test's directory) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield None
        return
    with postgres_database() as url:
        yield url


@pytest.fixture
def sandbox(
    tmp_path: Path, sims: Simulators, database_url: str | None, sandbox_options: dict[str, Any]
) -> Iterator[Sandbox]:
    box = make_sandbox(tmp_path, sims, database_url=database_url, **sandbox_options)
    yield box
    if box.service is not None:
        box.service.stop()
