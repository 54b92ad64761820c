"""Webhook delivery of the Kommo simulator: wire format, headers, retries, disabling, faults."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread

FIXTURES = Path(__file__).parents[2] / "fixtures" / "kommo"
TOKEN = KommoSimConfig().long_lived_token
ALL_SETTINGS = [
    "add_lead",
    "update_lead",
    "status_lead",
    "delete_lead",
    "add_contact",
    "update_contact",
    "add_company",
    "update_company",
]


@dataclass
class Receiver:
    """A webhook endpoint that records raw deliveries and answers the statuses it is given."""

    answers: list[int] = field(default_factory=list)  # consumed in order, then 200
    hits: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        self.hits.append((dict(request.headers), await request.body()))
        return Response(status_code=self.answers.pop(0) if self.answers else 200)

    def bodies(self, prefix: str = "") -> list[list[tuple[str, str]]]:
        pairs = [
            parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=True)
            for _, body in self.hits
        ]
        return [p for p in pairs if any(k.startswith(prefix) for k, _ in p)]


@dataclass
class Rig:
    kommo: httpx.Client
    receiver: Receiver
    url: str

    def subscribe(self, settings: list[str] | None = None) -> None:
        body = {"destination": self.url, "settings": settings or ALL_SETTINGS, "sort": 10}
        assert self.kommo.post("/api/v4/webhooks", json=body).status_code == 200

    def deliveries(self) -> list[dict[str, Any]]:
        return list(self.kommo.get("/_sim/webhook-deliveries").json())


def wait_for(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def make_rig() -> Iterator[Callable[..., Rig]]:
    handles: list[ServerHandle] = []
    clients: list[httpx.Client] = []

    def build(**config: Any) -> Rig:
        receiver = Receiver()
        hook_app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
        hook = start_in_thread(hook_app)
        sim_config = KommoSimConfig(rate_limit_per_second=0, webhook_time_scale=0.0001, **config)
        sim = start_in_thread(create_app(sim_config))
        handles.extend([hook, sim])
        client = httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN}"})
        clients.append(client)
        return Rig(client, receiver, f"{hook.base_url}/hook")

    yield build
    for client in clients:
        client.close()
    for handle in handles:
        handle.stop()


def shape(pairs: list[tuple[str, str]]) -> set[str]:
    """The bracket shape of a body: keys with ids inside linked_leads_id made generic."""
    return {re.sub(r"\[linked_leads_id\]\[\d+\]", "[linked_leads_id][N]", k) for k, _ in pairs}


def fixture_pairs(name: str) -> list[tuple[str, str]]:
    raw = (FIXTURES / f"webhook_{name}.txt").read_text().strip()
    return parse_qsl(raw, keep_blank_values=True, strict_parsing=True)


def test_status_change_posts_form_body_with_kommo_headers(make_rig: Callable[..., Rig]) -> None:
    """A person moving a deal sends leads[status] and leads[update] as separate form POSTs."""
    rig = make_rig()
    rig.subscribe(["status_lead", "update_lead"])
    lead = rig.kommo.post("/_sim/leads", json={"name": "Website – ACME", "price": 4500}).json()
    rig.kommo.post(f"/_sim/leads/{lead['id']}/move", json={"status_name": "Payment Approved"})
    wait_for(lambda: len(rig.receiver.hits) == 2)
    headers, raw = rig.receiver.hits[0]
    assert headers["content-type"] == "application/x-www-form-urlencoded"
    assert headers["user-agent"] == "amoCRM-Webhooks/3.0"
    assert re.fullmatch(r"[0-9a-f-]{36}", headers["x-amocrm-requestid"])
    assert headers["accept-encoding"] == "gzip"
    assert b"[" not in raw and raw.startswith(b"account%5Bsubdomain%5D=sandbox&account%5Bid%5D=")
    status, update = (dict(p) for p in rig.receiver.bodies())
    assert str(lead["id"]) == status["leads[status][0][id]"]
    assert ("63459811", str(lead["status_id"])) == (
        status["leads[status][0][status_id]"],
        status["leads[status][0][old_status_id]"],
    )
    assert "leads[update][0][id]" in update
    assert status["leads[status][0][modified_user_id]"] == "10584721"


def test_api_writes_echo_back_as_webhooks(make_rig: Callable[..., Rig]) -> None:
    """A PATCH through the API fires update_lead, attributed to the API user."""
    rig = make_rig()
    rig.subscribe(["update_lead"])
    lead = rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1}).json()
    rig.kommo.patch(f"/api/v4/leads/{lead['id']}", json={"price": 2})
    wait_for(lambda: len(rig.receiver.hits) == 1)
    body = dict(rig.receiver.bodies()[0])
    assert (
        body["leads[update][0][price]"],
        body["leads[update][0][modified_user_id]"],
    ) == ("2", "10584713")


def test_failed_delivery_is_retried(make_rig: Callable[..., Rig]) -> None:
    """A 500 answer is retried (5 min later, time-scaled) and the log shows both attempts."""
    rig = make_rig()
    rig.subscribe(["add_lead"])
    rig.receiver.answers = [500]
    rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1})
    wait_for(lambda: len(rig.receiver.hits) == 2)
    assert rig.receiver.hits[0][1] == rig.receiver.hits[1][1]
    log = rig.deliveries()
    assert [(d["attempt"], d["status"], d["ok"]) for d in log] == [(1, 500, False), (2, 200, True)]
    assert log[0]["kind"] == "add_lead"


def test_non_2xx_answer_counts_as_invalid(make_rig: Callable[..., Rig]) -> None:
    """A receiver answering outside 100-299 gets an invalid delivery recorded."""
    rig = make_rig()
    rig.url = rig.url.replace("/hook", "/missing")
    rig.subscribe(["add_lead"])
    rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1})
    wait_for(lambda: len(rig.deliveries()) >= 1)
    assert (rig.deliveries()[0]["status"], rig.deliveries()[0]["ok"]) == (404, False)


def test_hook_is_disabled_after_too_many_invalid_answers(make_rig: Callable[..., Rig]) -> None:
    """More invalid answers than the threshold within the window disables the hook."""
    rig = make_rig(webhook_disable_after=3)
    rig.subscribe(["add_lead"])
    rig.receiver.answers = [500] * 100
    for index in range(4):
        rig.kommo.post("/_sim/leads", json={"name": f"a{index}", "price": 1})
    wait_for(
        lambda: rig.kommo.get("/api/v4/webhooks").json()["_embedded"]["webhooks"][0]["disabled"]
    )
    sent = len(rig.receiver.hits)
    rig.kommo.post("/_sim/leads", json={"name": "after", "price": 1})
    time.sleep(0.1)
    assert sent == len(rig.receiver.hits)


def test_drop_fault_loses_deliveries(make_rig: Callable[..., Rig]) -> None:
    """With drop_rate 1 nothing arrives, the log marks the delivery dropped, and events remain."""
    rig = make_rig()
    rig.subscribe(["add_lead"])
    rig.kommo.post("/_sim/webhook-faults", json={"drop_rate": 1.0})
    lead = rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1}).json()
    wait_for(lambda: len(rig.deliveries()) == 1)
    assert rig.deliveries()[0]["dropped"] and not rig.receiver.hits
    events = rig.kommo.get("/api/v4/events", params={"filter[type]": "lead_added"}).json()
    assert [lead["id"]] == [e["entity_id"] for e in events["_embedded"]["events"]]


def test_duplicate_fault_sends_twice(make_rig: Callable[..., Rig]) -> None:
    """With duplicate_rate 1 each delivery arrives twice with distinct request ids."""
    rig = make_rig()
    rig.subscribe(["add_lead"])
    rig.kommo.post("/_sim/webhook-faults", json={"duplicate_rate": 1.0})
    rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1})
    wait_for(lambda: len(rig.receiver.hits) == 2)
    first, second = rig.receiver.hits
    assert first[1] == second[1]
    assert first[0]["x-amocrm-requestid"] != second[0]["x-amocrm-requestid"]


def test_reorder_fault_holds_until_flush(make_rig: Callable[..., Rig]) -> None:
    """With reorder on, deliveries wait and are all sent on flush."""
    rig = make_rig()
    rig.subscribe(["add_lead"])
    rig.kommo.post("/_sim/webhook-faults", json={"reorder": True, "reorder_hold": 100})
    for index in range(3):
        rig.kommo.post("/_sim/leads", json={"name": f"a{index}", "price": 1})
    wait_for(lambda: rig.kommo.get("/_sim/state").json()["webhook_queue"]["held"] == 3)
    assert not rig.receiver.hits
    rig.kommo.post("/_sim/webhooks/flush", json={})
    wait_for(lambda: len(rig.receiver.hits) == 3)


def _status(rig: Rig, lead_ids: list[int]) -> None:
    rig.kommo.patch("/api/v4/leads", json=[{"id": i, "status_id": 63459811} for i in lead_ids])


SCENARIOS: dict[str, Callable[[Rig], None]] = {}


def scenario(name: str) -> Callable[[Callable[[Rig], None]], Callable[[Rig], None]]:
    def register(func: Callable[[Rig], None]) -> Callable[[Rig], None]:
        SCENARIOS[name] = func
        return func

    return register


@scenario("lead_status")
def _lead_status(rig: Rig) -> None:
    rig.kommo.post(
        "/api/v4/leads/custom_fields",
        json=[
            {
                "name": "Xero invoice status",
                "type": "select",
                "enums": [{"value": "Awaiting payment"}],
            }
        ],
    ).json()
    lead = rig.kommo.post(
        "/_sim/leads",
        json={
            "name": "a",
            "price": 1,
            "status_name": "Negotiation",
            "custom_fields": {"Xero invoice status": "Awaiting payment", "Due date": 1756684800},
        },
    ).json()
    rig.kommo.patch(f"/api/v4/leads/{lead['id']}", json={"_embedded": {"tags": [{"name": "xero"}]}})
    rig.kommo.post(f"/_sim/leads/{lead['id']}/move", json={"status_name": "Payment Approved"})


@scenario("lead_add")
def _lead_add(rig: Rig) -> None:
    rig.kommo.post("/api/v4/leads", json=[{"name": "INV-0042 ACME Ltd", "price": 1200}])


@scenario("lead_add_account_last")
def _lead_add_account_last(rig: Rig) -> None:
    rig.kommo.post("/_sim/webhook-faults", json={"account_last": True})
    _lead_add(rig)


@scenario("lead_update")
def _lead_update(rig: Rig) -> None:
    made = rig.kommo.post(
        "/api/v4/leads/custom_fields",
        json=[{"name": "Поле1", "type": "text"}, {"name": "Поле2", "type": "text"}],
    ).json()
    ids = [f["id"] for f in made["_embedded"]["custom_fields"]]
    lead = rig.kommo.post("/api/v4/leads", json=[{"name": "Test", "price": 9919}]).json()
    lead_id = lead["_embedded"]["leads"][0]["id"]
    rig.kommo.patch(
        f"/api/v4/leads/{lead_id}",
        json={
            "custom_fields_values": [
                {"field_id": ids[0], "values": [{"value": "1"}]},
                {"field_id": ids[1], "values": [{"value": "2"}]},
            ]
        },
    )


@scenario("lead_update_radiobutton_date")
def _radiobutton_date(rig: Rig) -> None:
    made = rig.kommo.post(
        "/api/v4/leads/custom_fields",
        json=[
            {"name": "Priority", "type": "radiobutton", "enums": [{"value": "1"}, {"value": "2"}]}
        ],
    ).json()
    field_id = made["_embedded"]["custom_fields"][0]["id"]
    lead = rig.kommo.post("/_sim/leads", json={"name": "Website redesign", "price": 1000}).json()
    rig.kommo.patch(
        f"/api/v4/leads/{lead['id']}",
        json={
            "custom_fields_values": [
                {"field_id": field_id, "values": [{"value": "2"}]},
                {"field_id": 1118105, "values": [{"value": 1725915600}]},
            ]
        },
    )


@scenario("lead_status_empty_name")
def _empty_name(rig: Rig) -> None:
    lead = rig.kommo.post("/_sim/leads", json={"name": "", "price": 1000}).json()
    _status(rig, [lead["id"]])


@scenario("lead_status_two_leads")
def _two_leads(rig: Rig) -> None:
    first = rig.kommo.post("/_sim/leads", json={"name": "First deal", "price": 1000}).json()
    second = rig.kommo.post("/_sim/leads", json={"name": "Second deal", "price": 1000}).json()
    _status(rig, [first["id"], second["id"]])


@scenario("lead_delete")
def _delete(rig: Rig) -> None:
    lead = rig.kommo.post("/_sim/leads", json={"name": "a", "price": 1}).json()
    rig.kommo.delete(f"/_sim/leads/{lead['id']}")


@scenario("contact_add")
def _contact_add(rig: Rig) -> None:
    rig.kommo.post(
        "/_sim/contacts",
        json={"name": "Jane Roe", "phone": "+15551234567", "email": "jane@example.com"},
    )


@scenario("company_add")
def _company_add(rig: Rig) -> None:
    rig.kommo.post("/_sim/companies", json={"name": "ACME Ltd", "email": "accounts@acme.example"})


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_bodies_match_fixture_structure(make_rig: Callable[..., Rig], name: str) -> None:
    """The simulator's body for each documented variant has the fixture's exact key set."""
    rig = make_rig()
    expected = fixture_pairs(name)
    entity_key = next(k for k, _ in expected if not k.startswith("account"))
    prefix = entity_key.split("[0]")[0]
    rig.subscribe()
    SCENARIOS[name](rig)
    wait_for(lambda: len(rig.receiver.bodies(prefix)) >= 1)
    actual = rig.receiver.bodies(prefix)[-1]
    assert shape(expected) == shape(actual)
    assert len(expected) == len(actual)
    account_first = actual[0][0].startswith("account")
    assert expected[0][0].startswith("account") == account_first
