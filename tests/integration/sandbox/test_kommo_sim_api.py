"""The Kommo simulator's REST API, driven with plain httpx as a real client would."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kommo_xero.sandbox.kommo import KommoSimConfig, create_app
from kommo_xero.sandbox.server import start_in_thread

TOKEN = KommoSimConfig().long_lived_token
CURRENCY_FIELD, DUE_DATE_FIELD = 1118103, 1118105
PAYMENT_APPROVED, NEGOTIATION, PIPELINE = 63459811, 63459807, 7712003


@pytest.fixture
def kommo() -> Iterator[httpx.Client]:
    config = KommoSimConfig(rate_limit_per_second=0)
    with (
        start_in_thread(create_app(config)) as handle,
        httpx.Client(
            base_url=handle.base_url, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as client,
    ):
        yield client


def add_leads(kommo: httpx.Client, *items: dict[str, Any]) -> list[int]:
    response = kommo.post("/api/v4/leads", json=list(items))
    assert response.status_code == 200, response.text
    return [lead["id"] for lead in response.json()["_embedded"]["leads"]]


class TestConventions:
    def test_missing_token_is_401_problem(self, kommo: httpx.Client) -> None:
        """A request without a valid Bearer token gets 401 problem+json."""
        response = httpx.get(
            f"{kommo.base_url}/api/v4/leads", headers={"Authorization": "Bearer nope"}
        )
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["title"] == "Unauthorized"

    def test_success_is_hal_json_and_empty_list_is_204(self, kommo: httpx.Client) -> None:
        """Success bodies are hal+json; an empty list is 204 with no body."""
        assert (
            kommo.get("/api/v4/account").headers["content-type"].startswith("application/hal+json")
        )
        empty = kommo.get("/api/v4/leads")
        assert (empty.status_code, empty.content) == (204, b"")

    def test_drive_url_points_at_this_server(self, kommo: httpx.Client) -> None:
        """with=drive_url reports the drive under the base URL the client used."""
        body = kommo.get("/api/v4/account", params={"with": "drive_url"}).json()
        assert f"{kommo.base_url}/drive" == body["drive_url"]

    def test_unknown_lead_is_204_and_unknown_pipeline_404(self, kommo: httpx.Client) -> None:
        """An unknown lead id answers 204; an unknown pipeline the documented 404 body."""
        assert kommo.get("/api/v4/leads/1").status_code == 204
        response = kommo.get("/api/v4/leads/pipelines/0/statuses")
        assert response.status_code == 404
        expected = {
            "title": "Not Found",
            "type": "https://httpstatus.es/404",
            "status": 404,
            "detail": "Pipeline not found",
        }
        assert expected == response.json()


class TestLeads:
    def test_pagination_links_and_past_the_end(self, kommo: httpx.Client) -> None:
        """Pages carry _page and next links; past the last page comes 204."""
        add_leads(kommo, *({"name": f"Deal {i}"} for i in range(5)))
        first = kommo.get("/api/v4/leads", params={"limit": 2}).json()
        assert (first["_page"], len(first["_embedded"]["leads"])) == (1, 2)
        third = httpx.get(
            first["_links"]["next"]["href"].replace("page=2", "page=3"), headers=kommo.headers
        ).json()
        assert len(third["_embedded"]["leads"]) == 1
        assert "next" not in third["_links"]
        assert kommo.get("/api/v4/leads", params={"limit": 2, "page": 4}).status_code == 204

    def test_limits_over_250_are_422(self, kommo: httpx.Client) -> None:
        """A page limit or a batch over 250 is rejected with 422 "Limit 250 per page"."""
        assert kommo.get("/api/v4/leads", params={"limit": 251}).status_code == 422
        response = kommo.post("/api/v4/leads", json=[{"name": "x"}] * 251)
        assert response.status_code == 422
        assert response.json()["detail"] == "Limit 250 per page"
        assert len(add_leads(kommo, *[{"name": "x"}] * 250)) == 250

    def test_request_id_is_echoed(self, kommo: httpx.Client) -> None:
        """request_id comes back unchanged for every created lead."""
        response = kommo.post(
            "/api/v4/leads", json=[{"name": "a", "request_id": "xero-inv-42"}, {"name": "b"}]
        )
        assert [lead["request_id"] for lead in response.json()["_embedded"]["leads"]] == [
            "xero-inv-42",
            "1",
        ]

    def test_validation_errors_reject_the_whole_batch(self, kommo: httpx.Client) -> None:
        """A bad select value or unknown field gives validation-errors and creates nothing."""
        response = kommo.post(
            "/api/v4/leads",
            json=[
                {"name": "ok"},
                {
                    "name": "bad",
                    "request_id": "r2",
                    "custom_fields_values": [
                        {"field_id": CURRENCY_FIELD, "values": [{"value": "XXX"}]},
                        {"field_id": 999, "values": [{"value": "x"}]},
                    ],
                },
            ],
        )
        assert response.status_code == 400
        body = response.json()
        assert body["detail"] == "Request validation failed"
        [item] = body["validation-errors"]
        assert item["request_id"] == "r2"
        assert [e["code"] for e in item["errors"]] == ["NotSupportedChoice", "NotSupportedChoice"]
        assert item["errors"][1]["path"] == "custom_fields_values.1.field_id"
        assert kommo.get("/api/v4/leads").status_code == 204

    def test_custom_field_values_are_normalised(self, kommo: httpx.Client) -> None:
        """Selects accept text or enum_id, dates accept RFC3339, leads without values give null."""
        [with_values, bare] = add_leads(
            kommo,
            {
                "name": "a",
                "price": 1200.5,
                "custom_fields_values": [
                    {"field_id": CURRENCY_FIELD, "values": [{"value": "NZD"}]},
                    {
                        "field_id": DUE_DATE_FIELD,
                        "values": [{"value": "2025-09-01T00:00:00+00:00"}],
                    },
                ],
            },
            {"name": "b"},
        )
        lead = kommo.get(f"/api/v4/leads/{with_values}").json()
        values = {f["field_id"]: f["values"][0] for f in lead["custom_fields_values"]}
        assert values[CURRENCY_FIELD]["value"] == "NZD"
        assert isinstance(values[CURRENCY_FIELD]["enum_id"], int)
        assert values[DUE_DATE_FIELD]["value"] == 1756684800
        assert lead["price"] == 1200.5
        assert kommo.get(f"/api/v4/leads/{bare}").json()["custom_fields_values"] is None

    def test_patch_moves_stage_and_bumps_updated_at(
        self,
        kommo: httpx.Client,
    ) -> None:
        """PATCH changes the stage and updated_at never goes backwards."""
        [lead_id] = add_leads(kommo, {"name": "a", "updated_at": 1000})
        response = kommo.patch(f"/api/v4/leads/{lead_id}", json={"status_id": PAYMENT_APPROVED})
        assert response.json()["updated_at"] > 1000
        lead = kommo.get(f"/api/v4/leads/{lead_id}").json()
        assert (lead["status_id"], lead["pipeline_id"]) == (PAYMENT_APPROVED, PIPELINE)

    def test_field_only_item_keeps_a_stage_moved_earlier_in_the_batch(
        self, kommo: httpx.Client
    ) -> None:
        """A later item without status_id leaves the stage an earlier item moved the lead to."""
        [lead_id] = add_leads(kommo, {"name": "a", "status_id": PAYMENT_APPROVED})
        response = kommo.patch(
            "/api/v4/leads",
            json=[{"id": lead_id, "status_id": NEGOTIATION}, {"id": lead_id, "price": 7}],
        )
        assert response.status_code == 200, response.text
        lead = kommo.get(f"/api/v4/leads/{lead_id}").json()
        assert (lead["status_id"], lead["price"]) == (NEGOTIATION, 7)
        params = {"filter[type]": "lead_status_changed"}
        moves = kommo.get("/api/v4/events", params=params).json()["_embedded"]["events"]
        assert len([e for e in moves if e["entity_id"] == lead_id]) == 1

    def test_filter_by_stage(self, kommo: httpx.Client) -> None:
        """filter[statuses][0][...] returns only leads in that stage."""
        [_, approved] = add_leads(
            kommo, {"name": "a"}, {"name": "b", "status_id": PAYMENT_APPROVED}
        )
        params = {
            "filter[statuses][0][pipeline_id]": PIPELINE,
            "filter[statuses][0][status_id]": PAYMENT_APPROVED,
        }
        found = kommo.get("/api/v4/leads", params=params).json()["_embedded"]["leads"]
        assert [approved] == [lead["id"] for lead in found]

    def test_complex_create_links_contact_and_company(self, kommo: httpx.Client) -> None:
        """leads/complex returns request_id as a list and links the new contact to the lead."""
        response = kommo.post(
            "/api/v4/leads/complex",
            json=[
                {
                    "name": "INV-0042",
                    "price": 1200,
                    "request_id": "1",
                    "_embedded": {
                        "contacts": [
                            {
                                "first_name": "Jane",
                                "last_name": "Roe",
                                "custom_fields_values": [
                                    {
                                        "field_code": "EMAIL",
                                        "values": [
                                            {"value": "jane@example.com", "enum_code": "WORK"}
                                        ],
                                    }
                                ],
                            }
                        ],
                        "companies": [{"name": "ACME Ltd"}],
                    },
                }
            ],
        )
        [made] = response.json()
        assert (made["request_id"], made["merged"]) == (["1"], False)
        lead = kommo.get(f"/api/v4/leads/{made['id']}", params={"with": "contacts"}).json()
        assert [made["contact_id"]] == [c["id"] for c in lead["_embedded"]["contacts"]]
        assert [made["company_id"]] == [c["id"] for c in lead["_embedded"]["companies"]]
        assert kommo.post("/api/v4/leads/complex", json=[{"name": "x"}] * 51).status_code == 422

    def test_links_report_main_contact_and_products(self, kommo: httpx.Client) -> None:
        """Linked contacts come back with main_contact and products with quantity and catalog."""
        contact = kommo.post("/api/v4/contacts", json=[{"name": "Jane"}]).json()["_embedded"][
            "contacts"
        ][0]
        [lead_id] = add_leads(kommo, {"name": "a"})
        kommo.post(
            f"/api/v4/leads/{lead_id}/link",
            json=[
                {
                    "to_entity_id": contact["id"],
                    "to_entity_type": "contacts",
                    "metadata": {"is_main": True},
                },
                {
                    "to_entity_id": 525401,
                    "to_entity_type": "catalog_elements",
                    "metadata": {"catalog_id": 4519, "quantity": 2},
                },
            ],
        )
        links = kommo.get(f"/api/v4/leads/{lead_id}/links").json()["_embedded"]["links"]
        metadata = {link["to_entity_type"]: link["metadata"] for link in links}
        assert metadata["contacts"] == {"main_contact": True}
        assert metadata["catalog_elements"] == {"quantity": 2, "catalog_id": 4519}


class TestContactsAndEvents:
    def test_contact_search_is_case_insensitive_and_204_when_none(
        self, kommo: httpx.Client
    ) -> None:
        """query matches name, email or phone ignoring case; no match is 204."""
        kommo.post(
            "/api/v4/contacts",
            json=[
                {
                    "name": "Jane Roe",
                    "custom_fields_values": [
                        {"field_code": "EMAIL", "values": [{"value": "Jane@Example.com"}]},
                        {
                            "field_code": "PHONE",
                            "values": [{"value": "+15551234567", "enum_code": "MOB"}],
                        },
                    ],
                }
            ],
        )
        for text in ("jane@example.COM", "5551234", "ROE"):
            found = kommo.get("/api/v4/contacts", params={"query": text}).json()["_embedded"][
                "contacts"
            ]
            assert [c["name"] for c in found] == ["Jane Roe"]
        assert kommo.get("/api/v4/contacts", params={"query": "nobody"}).status_code == 204

    def test_events_filter_by_stage_entered(self, kommo: httpx.Client) -> None:
        """lead_status_changed events are found by the stage the lead moved into."""
        [lead_id, _] = add_leads(kommo, {"name": "a"}, {"name": "b"})
        kommo.patch("/api/v4/leads", json=[{"id": lead_id, "status_id": NEGOTIATION}])
        kommo.patch("/api/v4/leads", json=[{"id": lead_id, "status_id": PAYMENT_APPROVED}])
        params = {
            "filter[type]": "lead_status_changed",
            "filter[entity]": "lead",
            "filter[value_after][leads_statuses][0][pipeline_id]": PIPELINE,
            "filter[value_after][leads_statuses][0][status_id]": PAYMENT_APPROVED,
        }
        [event] = kommo.get("/api/v4/events", params=params).json()["_embedded"]["events"]
        assert lead_id == event["entity_id"]
        assert event["value_before"] == [
            {"lead_status": {"id": NEGOTIATION, "pipeline_id": PIPELINE}}
        ]
        params["filter[value_after][leads_statuses][0][status_id]"] = 142
        assert kommo.get("/api/v4/events", params=params).status_code == 204

    def test_custom_field_create_and_delete(self, kommo: httpx.Client) -> None:
        """An integration can create a select field, use it by enum_id and delete it."""
        created = kommo.post(
            "/api/v4/leads/custom_fields",
            json=[
                {
                    "name": "Xero invoice status",
                    "type": "select",
                    "enums": [{"value": "Draft", "sort": 1}, {"value": "Paid", "sort": 2}],
                }
            ],
        )
        field = created.json()["_embedded"]["custom_fields"][0]
        paid = field["enums"][1]["id"]
        add_leads(
            kommo,
            {
                "name": "a",
                "custom_fields_values": [{"field_id": field["id"], "values": [{"enum_id": paid}]}],
            },
        )
        assert kommo.delete(f"/api/v4/leads/custom_fields/{field['id']}").status_code == 204
        assert kommo.get(f"/api/v4/leads/custom_fields/{field['id']}").status_code == 404

    def test_an_answer_lost_after_processing_still_leaves_the_note(
        self, kommo: httpx.Client
    ) -> None:
        """An after_processing fault answers 500 with the note saved; a plain fault saves none."""
        [lead_id] = add_leads(kommo, {"name": "a"})
        note = [{"entity_id": lead_id, "note_type": "common", "params": {"text": "hello"}}]
        for after in (False, True):
            rule = {"route": "notes", "error_rate": 1, "times": 1, "after_processing": after}
            kommo.post("/_sim/faults", json=rule)
            assert kommo.post("/api/v4/leads/notes", json=note).status_code == 500
            kommo.delete("/_sim/faults")
        notes = kommo.get(f"/api/v4/leads/{lead_id}/notes").json()["_embedded"]["notes"]
        assert [n["params"]["text"] for n in notes] == ["hello"]

    def test_note_types_are_validated(self, kommo: httpx.Client) -> None:
        """Known note types are stored; an unknown type or missing params is a 400."""
        [lead_id] = add_leads(kommo, {"name": "a"})
        ok = kommo.post(
            "/api/v4/leads/notes",
            json=[
                {
                    "entity_id": lead_id,
                    "note_type": "extended_service_message",
                    "params": {"service": "Xero", "text": "Invoice created"},
                }
            ],
        )
        assert ok.status_code == 200
        bad = kommo.post(
            f"/api/v4/leads/{lead_id}/notes", json=[{"note_type": "invoice_paid", "params": {}}]
        )
        assert bad.json()["validation-errors"][0]["errors"][0]["path"] == "note_type"
        notes = kommo.get(f"/api/v4/leads/{lead_id}/notes").json()["_embedded"]["notes"]
        assert [n["note_type"] for n in notes] == ["extended_service_message"]


def test_file_upload_end_to_end(kommo: httpx.Client) -> None:
    """Session, two parts, attach: the PDF bytes reach the lead; after detaching, 204."""
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 600  # 153,609 bytes: two parts of at most 131072
    [lead_id] = add_leads(kommo, {"name": "a"})
    drive = kommo.get("/api/v4/account", params={"with": "drive_url"}).json()["drive_url"]
    session = kommo.post(
        f"{drive}/v1.0/sessions",
        json={
            "file_name": "INV-0042.pdf",
            "file_size": len(pdf),
            "content_type": "application/pdf",
        },
    ).json()
    part = session["max_part_size"]
    step = kommo.post(session["upload_url"], content=pdf[:part]).json()
    uploaded = kommo.post(step["next_url"], content=pdf[part:]).json()
    assert (len(pdf), "INV-0042.pdf") == (uploaded["size"], uploaded["name"])
    assert kommo.get(f"/api/v4/leads/{lead_id}/files").status_code == 204
    kommo.put(f"/api/v4/leads/{lead_id}/files", json=[{"file_uuid": uploaded["uuid"]}])
    files = kommo.get(f"/api/v4/leads/{lead_id}/files").json()["_embedded"]["files"]
    assert [uploaded["uuid"]] == [f["file_uuid"] for f in files]
    inspected = kommo.get(f"/_sim/leads/{lead_id}").json()["files"]
    assert [(True, len(pdf))] == [(f["is_pdf"], f["size"]) for f in inspected]
    assert pdf == kommo.get(f"/_sim/files/{uploaded['uuid']}").content
    detach = kommo.request(
        "DELETE", f"/api/v4/leads/{lead_id}/files", json=[{"file_uuid": uploaded["uuid"]}]
    )
    assert detach.status_code == 202
    assert kommo.get(f"/api/v4/leads/{lead_id}/files").status_code == 204
