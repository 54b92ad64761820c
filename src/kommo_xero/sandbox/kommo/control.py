"""The control API under /_sim: act as a person in the Kommo UI and inspect what happened.

Everything here goes through the same write paths as the REST API, so a person's change records
the same events and fires the same webhooks, attributed to `config.person_user_id`.
"""

from __future__ import annotations

import base64
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import Response

from kommo_xero.sandbox.kommo import customfields, render
from kommo_xero.sandbox.kommo.api_links import link_entity
from kommo_xero.sandbox.kommo.auth import sim
from kommo_xero.sandbox.kommo.lead_writes import LeadWrites
from kommo_xero.sandbox.kommo.models import Lead
from kommo_xero.sandbox.kommo.party_writes import PartyWrites
from kommo_xero.sandbox.kommo.responses import ApiProblem, base
from kommo_xero.sandbox.kommo.state import KommoState

router = APIRouter()


class PartyIn(BaseModel):
    name: str
    email: str | None = None
    phone: str | None = None


class ProductIn(BaseModel):
    element_id: int
    quantity: float = 1


class LeadIn(BaseModel):
    name: str
    price: float = 0
    currency: str | None = None
    description: str | None = None
    status_id: int | None = None
    status_name: str | None = None
    pipeline_id: int | None = None
    contact_id: int | None = None
    company_id: int | None = None
    products: list[ProductIn] = []
    custom_fields: dict[str, Any] = {}


class MoveIn(BaseModel):
    status_id: int | None = None
    status_name: str | None = None
    pipeline_id: int | None = None


class LeadPatchIn(BaseModel):
    name: str | None = None
    price: float | None = None
    custom_fields: dict[str, Any] = {}


def _price(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _field_payload(state: KommoState, named: dict[str, Any]) -> list[dict[str, Any]]:
    """`{"Currency": "NZD"}` as custom_fields_values, the way the UI sets fields by name."""
    fields = {f.name.casefold(): f for f in state.fields_for("leads").values()}
    payload = []
    for name, value in named.items():
        field = fields.get(name.casefold())
        if field is None:
            raise ApiProblem(400, "Bad Request", f"No lead field named {name!r}")
        items = value if isinstance(value, list) else [value]
        values = None if value is None else [{"value": v} for v in items]
        payload.append({"field_id": field.id, "values": values})
    return payload


def _stage(
    state: KommoState, pipeline_id: int | None, status_id: int | None, status_name: str | None
) -> dict[str, Any]:
    stage: dict[str, Any] = {}
    if pipeline_id is not None:
        stage["pipeline_id"] = pipeline_id
    if status_name is not None:
        pipeline = state.pipelines.get(pipeline_id) if pipeline_id else state.default_pipeline()
        found = next(
            (
                s
                for s in (pipeline.statuses if pipeline else [])
                if s.name.casefold() == status_name.casefold()
            ),
            None,
        )
        if found is None:
            raise ApiProblem(400, "Bad Request", f"No stage named {status_name!r}")
        stage["status_id"] = found.id
    elif status_id is not None:
        stage["status_id"] = status_id
    return stage


def _write_lead(state: KommoState, lead: Lead | None, item: dict[str, Any]) -> Lead:
    writes = LeadWrites(state, state.config.person_user_id)
    patch, errors = writes.prepare(item, lead)
    if errors:
        raise ApiProblem(400, "Bad Request", "Request validation failed", errors=errors)
    done = writes.create(patch) if lead is None else writes.update(lead, patch)
    writes.publish()
    return done


def _known_lead(state: KommoState, lead_id: int) -> Lead:
    lead = state.leads.get(lead_id)
    if lead is None or lead.is_deleted:
        raise ApiProblem(404, "Not Found", f"Lead {lead_id} not found")
    return lead


def _party(request: Request, kind: str, body: PartyIn) -> dict[str, Any]:
    state = sim(request)
    values = []
    if body.email:
        values.append(
            {"field_code": "EMAIL", "values": [{"value": body.email, "enum_code": "WORK"}]}
        )
    if body.phone:
        values.append(
            {"field_code": "PHONE", "values": [{"value": body.phone, "enum_code": "WORK"}]}
        )
    writes = PartyWrites(state, kind, state.config.person_user_id)
    with state.lock:
        patch, errors = writes.prepare({"name": body.name, "custom_fields_values": values}, None)
        if errors:
            raise ApiProblem(400, "Bad Request", "Request validation failed", errors=errors)
        party = writes.create(patch)
        writes.publish()
        return render.party(state, party, base(request), set())


@router.post("/contacts")
async def add_contact(body: PartyIn, request: Request) -> dict[str, Any]:
    return _party(request, "contacts", body)


@router.post("/companies")
async def add_company(body: PartyIn, request: Request) -> dict[str, Any]:
    return _party(request, "companies", body)


@router.post("/leads")
async def add_lead(body: LeadIn, request: Request) -> dict[str, Any]:
    """A sales manager creates a deal in the UI (fires add_lead)."""
    state = sim(request)
    with state.lock:
        named = dict(body.custom_fields)
        if body.currency:
            named.setdefault("Currency", body.currency)
        if body.description:
            named.setdefault("Service description", body.description)
        item: dict[str, Any] = {
            "name": body.name,
            "price": _price(body.price),
            "custom_fields_values": _field_payload(state, named),
            **_stage(state, body.pipeline_id, body.status_id, body.status_name),
        }
        embedded: dict[str, Any] = {}
        if body.contact_id is not None:
            embedded["contacts"] = [{"id": body.contact_id, "is_main": True}]
        if body.company_id is not None:
            embedded["companies"] = [{"id": body.company_id}]
        item["_embedded"] = embedded
        for product in body.products:
            if product.element_id not in state.elements:
                raise ApiProblem(400, "Bad Request", f"No catalog element {product.element_id}")
        lead = _write_lead(state, None, item)
        for product in body.products:
            link_entity(
                state,
                lead,
                "catalog_elements",
                product.element_id,
                {"quantity": _price(product.quantity)},
            )
        return render.lead(state, lead, base(request), {"contacts", "catalog_elements"})


@router.post("/leads/{lead_id}/move")
async def move_lead(lead_id: int, body: MoveIn, request: Request) -> dict[str, Any]:
    """Drag the deal to another stage (fires status_lead and update_lead)."""
    state = sim(request)
    with state.lock:
        lead = _known_lead(state, lead_id)
        stage = _stage(
            state, body.pipeline_id or lead.pipeline_id, body.status_id, body.status_name
        )
        if "status_id" not in stage:
            raise ApiProblem(400, "Bad Request", "status_id or status_name is required")
        lead = _write_lead(state, lead, stage)
        return render.lead(state, lead, base(request), {"contacts", "catalog_elements"})


@router.patch("/leads/{lead_id}")
async def edit_lead(lead_id: int, body: LeadPatchIn, request: Request) -> dict[str, Any]:
    """Edit name, price or fields on the deal card (fires update_lead)."""
    state = sim(request)
    with state.lock:
        lead = _known_lead(state, lead_id)
        item: dict[str, Any] = {"custom_fields_values": _field_payload(state, body.custom_fields)}
        if body.name is not None:
            item["name"] = body.name
        if body.price is not None:
            item["price"] = _price(body.price)
        lead = _write_lead(state, lead, item)
        return render.lead(state, lead, base(request), {"contacts", "catalog_elements"})


@router.delete("/leads/{lead_id}")
async def delete_lead(lead_id: int, request: Request) -> Response:
    """Delete the deal (fires delete_lead)."""
    state = sim(request)
    with state.lock:
        writes = LeadWrites(state, state.config.person_user_id)
        writes.delete(_known_lead(state, lead_id))
        writes.publish()
    return Response(status_code=204)


@router.get("/leads/{lead_id}")
def inspect_lead(lead_id: int, request: Request) -> dict[str, Any]:
    """The lead plus its notes, attached files and field values by name."""
    state = sim(request)
    with state.lock:
        lead = state.leads.get(lead_id)
        if lead is None:
            raise ApiProblem(404, "Not Found", f"Lead {lead_id} not found")
        files = []
        for file_uuid, attachment_id in state.lead_files.get(lead_id, {}).items():
            stored = state.files[file_uuid]
            files.append(
                {
                    "id": attachment_id,
                    "uuid": stored.uuid,
                    "name": stored.name,
                    "size": stored.size,
                    "content_type": stored.content_type,
                    "is_pdf": stored.data.startswith(b"%PDF"),
                    "first_bytes": base64.b64encode(stored.data[:64]).decode(),
                }
            )
        rendered = customfields.render(state.fields, lead.custom_fields) or []
        by_name = {
            f["field_name"]: [v.get("value") for v in f["values"]]
            if len(f["values"]) > 1
            else f["values"][0].get("value")
            for f in rendered
        }
        notes = [
            render.note(state, n, base(request))
            for n in state.notes.values()
            if n.entity_type == "leads" and n.entity_id == lead_id
        ]
        return {
            "lead": render.lead(state, lead, base(request), {"contacts", "catalog_elements"}),
            "notes": notes,
            "files": files,
            "fields": by_name,
        }


@router.get("/files/{file_uuid}")
def file_bytes(file_uuid: str, request: Request) -> Response:
    state = sim(request)
    with state.lock:
        stored = state.files.get(file_uuid)
    if stored is None:
        raise ApiProblem(404, "Not Found", "File not found")
    return Response(stored.data, media_type=stored.content_type)
