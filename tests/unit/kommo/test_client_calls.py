"""What the client sends to Kommo and how it reads the answers."""

from __future__ import annotations

import json
from datetime import date

import httpx
import pytest
from tests.unit.kommo.fakes import BASE, FakeKommo, client_for, hal

from kommo_xero.kommo.models import (
    ComplexLead,
    ContactCreate,
    FieldValue,
    LeadCreate,
    LeadPatch,
    LinkCreate,
    NoteCreate,
)

pytestmark = pytest.mark.anyio


def echo_leads(request: httpx.Request) -> httpx.Response:
    items = json.loads(request.content)
    leads = [
        {
            "id": item.get("id", 1000 + i),
            "request_id": item.get("request_id", str(i)),
            "updated_at": 1754300000,
        }
        for i, item in enumerate(items)
    ]
    return hal({"_embedded": {"leads": leads}})


async def test_iter_leads_follows_next_links_until_missing() -> None:
    """Listing reads every page by following _links.next and stops when it is gone."""
    pages = {
        "1": {
            "_embedded": {"leads": [{"id": 1}, {"id": 2}]},
            "_links": {"next": {"href": f"{BASE}/api/v4/leads?page=2&limit=2"}},
        },
        "2": {"_embedded": {"leads": [{"id": 3}]}, "_links": {}},
    }
    fake = FakeKommo(
        routes={"GET /api/v4/leads": lambda r: hal(pages[r.url.params.get("page", "1")])}
    )
    async with client_for(fake) as kommo:
        ids = [lead.id async for lead in kommo.iter_leads(pipeline_id=7712003, status_id=5)]
    assert ids == [1, 2, 3]
    first = fake.seen[0].url.params
    assert (
        first["filter[statuses][0][pipeline_id]"],
        first["filter[statuses][0][status_id]"],
        first["limit"],
    ) == ("7712003", "5", "250")


async def test_empty_list_is_204() -> None:
    """A list that Kommo answers with 204 yields no leads."""
    fake = FakeKommo(routes={"GET /api/v4/leads": lambda _: httpx.Response(204)})
    async with client_for(fake) as kommo:
        assert await kommo.get_leads([1, 2]) == []


async def test_batch_patch_is_sent_in_chunks_of_50() -> None:
    """120 patches go out as PATCH requests of 50, 50 and 20, results in order."""
    fake = FakeKommo(routes={"PATCH /api/v4/leads": echo_leads})
    patches = [LeadPatch(id=i, fields=[FieldValue.text(11, f"INV-{i}")]) for i in range(120)]
    async with client_for(fake) as kommo:
        refs = await kommo.update_leads(patches)
    assert [len(body) for body in fake.bodies("PATCH /api/v4/leads")] == [50, 50, 20]
    assert list(range(120)) == [ref.id for ref in refs]
    assert fake.bodies("PATCH /api/v4/leads")[0][0] == {
        "id": 0,
        "custom_fields_values": [{"field_id": 11, "values": [{"value": "INV-0"}]}],
    }


async def test_create_leads_round_trips_request_ids() -> None:
    """Created leads come back with the request_id they were sent with."""
    fake = FakeKommo(routes={"POST /api/v4/leads": echo_leads})
    lead = LeadCreate(
        name="INV-0042 ACME",
        price=1200,
        pipeline_id=7,
        status_id=8,
        contact_id=5,
        tags=["xero"],
        request_id="xero-inv-0042",
    )
    async with client_for(fake) as kommo:
        refs = await kommo.create_leads([lead])
    assert refs[0].request_id == "xero-inv-0042"
    sent = fake.bodies("POST /api/v4/leads")[0][0]
    assert sent["_embedded"] == {
        "tags": [{"name": "xero"}],
        "contacts": [{"id": 5, "is_main": True}],
    }


async def test_complex_lead_embeds_new_contact_with_email_and_phone() -> None:
    """A complex lead sends its contact's EMAIL/PHONE by field code and reads the array ids."""
    answer = [{"id": 9, "contact_id": 10, "company_id": None, "request_id": ["1"], "merged": False}]
    fake = FakeKommo(routes={"POST /api/v4/leads/complex": lambda _: hal(answer)})
    complex_lead = ComplexLead(
        lead=LeadCreate(name="Deal", request_id="1"),
        contact=ContactCreate(name="Jane Roe", email="jane@example.com", phone="+1555"),
    )
    async with client_for(fake) as kommo:
        results = await kommo.create_complex_leads([complex_lead])
    assert (results[0].id, results[0].contact_id, results[0].request_id) == (9, 10, ["1"])
    contact = fake.bodies("POST /api/v4/leads/complex")[0][0]["_embedded"]["contacts"][0]
    assert contact["custom_fields_values"] == [
        {"field_code": "EMAIL", "values": [{"value": "jane@example.com", "enum_code": "WORK"}]},
        {"field_code": "PHONE", "values": [{"value": "+1555", "enum_code": "WORK"}]},
    ]


async def test_upload_splits_parts_and_follows_next_url() -> None:
    """A file bigger than max_part_size is posted in parts, each to the URL the drive gave."""
    drive = "https://drive-c.kommo.com"
    received: list[tuple[str, bytes]] = []

    def part(request: httpx.Request) -> httpx.Response:
        received.append((request.url.path, request.content))
        if request.url.path.endswith("/3"):
            return hal({"uuid": "f-1", "version_uuid": "v-1", "name": "INV.pdf", "size": 10})
        step = int(request.url.path.rsplit("/", 1)[1]) + 1
        return hal({"session_id": 1, "next_url": f"{drive}/upload/tok/{step}"})

    fake = FakeKommo(
        routes={
            "GET /api/v4/account": lambda _: hal({"id": 1, "drive_url": drive}),
            "POST /v1.0/sessions": lambda _: hal(
                {"max_part_size": 4, "session_id": 1, "upload_url": f"{drive}/upload/tok/1"}
            ),
            "POST /upload/tok/1": part,
            "POST /upload/tok/2": part,
            "POST /upload/tok/3": part,
        }
    )
    async with client_for(fake) as kommo:
        uploaded = await kommo.upload_file("INV.pdf", b"%PDF-1.4xx", "application/pdf")
    assert (uploaded.uuid, uploaded.version_uuid) == ("f-1", "v-1")
    assert [body for _, body in received] == [b"%PDF", b"-1.4", b"xx"]
    session = fake.bodies("POST /v1.0/sessions")[0]
    assert (session["file_size"], session["content_type"]) == (10, "application/pdf")
    assert all(r.headers["Authorization"] == "Bearer secret-token-123" for r in fake.seen)


async def test_notes_links_and_files_use_documented_shapes() -> None:
    """Notes, links and attachments are sent in the shapes the reference documents."""
    fake = FakeKommo(
        routes={
            "POST /api/v4/leads/notes": lambda _: hal({"_embedded": {"notes": [{"id": 46}]}}),
            "POST /api/v4/leads/5/link": lambda r: hal(
                {
                    "_embedded": {
                        "links": [
                            {"entity_id": 5, "entity_type": "leads", **item}
                            for item in json.loads(r.content)
                        ]
                    }
                }
            ),
            "PUT /api/v4/leads/5/files": lambda _: hal({}),
            "GET /api/v4/leads/5/files": lambda _: httpx.Response(204),
        }
    )
    async with client_for(fake) as kommo:
        note_ids = await kommo.add_lead_notes([NoteCreate.service(5, "Invoice INV-1 paid")])
        links = await kommo.link_to_lead(5, [LinkCreate.catalog_element(77, catalog_id=4521)])
        await kommo.attach_files_to_lead(5, ["f-1"])
        files = await kommo.list_lead_files(5)
    assert note_ids == [46]
    assert fake.bodies("POST /api/v4/leads/notes")[0] == [
        {
            "entity_id": 5,
            "note_type": "extended_service_message",
            "params": {"service": "Xero", "text": "Invoice INV-1 paid"},
        }
    ]
    assert (links[0].metadata, files) == ({"catalog_id": 4521, "quantity": 1}, [])
    assert fake.bodies("PUT /api/v4/leads/5/files")[0] == [{"file_uuid": "f-1"}]


async def test_date_builder_sends_unix_midnight_utc() -> None:
    """FieldValue.date turns a calendar date into Kommo's unix seconds at midnight UTC."""
    assert FieldValue.date(1, date(2025, 9, 1)).values == [{"value": 1756684800}]


async def test_events_filter_by_stage_entered() -> None:
    """Reconciliation asks for status changes into one stage since a time."""
    events = {
        "_embedded": {
            "events": [
                {
                    "id": "01j4",
                    "type": "lead_status_changed",
                    "entity_id": 22514871,
                    "entity_type": "lead",
                    "created_by": 1,
                    "created_at": 1754300112,
                    "value_after": [{"lead_status": {"id": 63459811, "pipeline_id": 7712003}}],
                    "value_before": [{"lead_status": {"id": 63459807, "pipeline_id": 7712003}}],
                }
            ]
        }
    }
    fake = FakeKommo(routes={"GET /api/v4/events": lambda _: hal(events)})
    async with client_for(fake) as kommo:
        found = [
            e
            async for e in kommo.iter_events(
                types=["lead_status_changed"],
                created_from=1754296500,
                pipeline_id=7712003,
                status_id=63459811,
            )
        ]
    assert [e.status_after for e in found] == [(7712003, 63459811)]
    params = fake.seen[0].url.params
    assert params["filter[value_after][leads_statuses][0][status_id]"] == "63459811"
    assert params["filter[created_at][from]"] == "1754296500"


async def test_webhook_subscription_round_trip() -> None:
    """Webhooks are added with settings, listed, and deleted by destination URL."""
    hook = {"id": 1, "destination": "https://h/x", "settings": ["status_lead"], "disabled": False}
    fake = FakeKommo(
        routes={
            "POST /api/v4/webhooks": lambda _: hal(hook),
            "GET /api/v4/webhooks": lambda _: hal({"_embedded": {"webhooks": [hook]}}),
            "DELETE /api/v4/webhooks": lambda _: httpx.Response(204),
        }
    )
    async with client_for(fake) as kommo:
        added = await kommo.add_webhook("https://h/x", ["status_lead"])
        listed = await kommo.list_webhooks()
        await kommo.delete_webhook("https://h/x")
    assert (added.settings, [w.destination for w in listed]) == (["status_lead"], ["https://h/x"])
    assert fake.bodies("DELETE /api/v4/webhooks") == [{"destination": "https://h/x"}]
