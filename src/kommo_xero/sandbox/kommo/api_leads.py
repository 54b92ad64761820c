"""Leads: list, get, batch create and update, complex create."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import filters, render
from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.lead_writes import LeadWrites
from kommo_xero.sandbox.kommo.party_writes import PartyWrites
from kommo_xero.sandbox.kommo.responses import (
    ApiProblem,
    base,
    hal,
    href,
    json_batch,
    json_body,
    no_content,
    paged,
    query,
)
from kommo_xero.sandbox.kommo.validation import ValidationFailed, request_id_of

router = APIRouter(prefix="/api/v4/leads")
COMPLEX_LIMIT = 50


@router.get("")
def list_leads(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    params = query(request)
    with_ = filters.with_set(params)
    with state.lock:
        deleted_only = "only_deleted" in with_
        candidates = [lead for lead in state.leads.values() if lead.is_deleted == deleted_only]
        chosen = filters.apply(candidates, params, is_lead=True)
        rendered = [render.lead(state, lead, base(request), with_) for lead in chosen]
    return paged(request, "leads", rendered, params)


@router.get("/{lead_id:int}")
def get_lead(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        lead = state.leads.get(lead_id)
        if lead is None or lead.is_deleted:
            return no_content()  # Kommo answers 204 for an id it does not know (see docs)
        return hal(render.lead(state, lead, base(request), filters.with_set(query(request))))


def _write_result(
    request: Request, lead_id: int, updated_at: int, request_id: str
) -> dict[str, Any]:
    return {
        "id": lead_id,
        "updated_at": updated_at,
        "request_id": request_id,
        "_links": href(request, f"/api/v4/leads/{lead_id}"),
    }


@router.post("")
async def create_leads(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    items = await json_batch(request)
    writes = LeadWrites(state, user)
    with state.lock:
        prepared = writes.prepare_batch(items, with_ids=False)
        made = [writes.create(patch) for _, patch in prepared]
        writes.publish()
    results = [
        {
            "id": lead.id,
            "request_id": request_id_of(item, index),
            "_links": href(request, f"/api/v4/leads/{lead.id}"),
        }
        for index, (item, lead) in enumerate(zip(items, made, strict=True))
    ]
    return hal({"_links": href(request, "/api/v4/leads"), "_embedded": {"leads": results}})


@router.patch("")
async def update_leads(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    items = await json_batch(request)
    writes = LeadWrites(state, user)
    with state.lock:
        prepared = writes.prepare_batch(items, with_ids=True)
        done = [writes.update(lead, patch) for lead, patch in prepared if lead is not None]
        writes.publish()
    results = [
        _write_result(request, lead.id, lead.updated_at, request_id_of(item, index))
        for index, (item, lead) in enumerate(zip(items, done, strict=True))
    ]
    return hal({"_links": href(request, "/api/v4/leads"), "_embedded": {"leads": results}})


@router.patch("/{lead_id:int}")
async def update_lead(
    lead_id: int, request: Request, user: int = Depends(require_user)
) -> Response:
    state = sim(request)
    item = await json_body(request)
    if not isinstance(item, dict):
        raise ApiProblem(400, "Bad Request", "Request data should be an object")
    writes = LeadWrites(state, user)
    with state.lock:
        lead = state.leads.get(lead_id)
        if lead is None or lead.is_deleted:
            raise ApiProblem(404, "Not Found", f"Lead {lead_id} not found")
        patch, errors = writes.prepare(item, lead)
        if errors:
            raise ValidationFailed([(request_id_of(item, 0), errors)])
        writes.update(lead, patch)
        writes.publish()
        return hal(_write_result(request, lead.id, lead.updated_at, request_id_of(item, 0)))


@router.post("/complex")
async def create_complex(request: Request, user: int = Depends(require_user)) -> Response:
    """Leads with one new (or existing) contact and company each, linked together."""
    state = sim(request)
    items = await json_batch(request, limit=COMPLEX_LIMIT)
    lead_writes = LeadWrites(state, user)
    contact_writes = PartyWrites(state, "contacts", user)
    company_writes = PartyWrites(state, "companies", user)
    results = []
    with state.lock:
        plans = []
        for index, item in enumerate(items):
            embedded = item.get("_embedded", {}) if isinstance(item, dict) else {}
            contacts = embedded.get("contacts") or [] if isinstance(embedded, dict) else []
            companies = embedded.get("companies") or [] if isinstance(embedded, dict) else []
            if len(contacts) > 1 or len(companies) > 1:
                raise ValidationFailed(
                    [
                        (
                            request_id_of(item, index),
                            [
                                {
                                    "code": "TooMany",
                                    "path": "_embedded",
                                    "detail": "Only one contact and one company per lead",
                                }
                            ],
                        )
                    ]
                )
            lead_item = {k: v for k, v in item.items() if k != "_embedded"}
            lead_item["_embedded"] = {k: v for k, v in embedded.items() if k == "tags"}
            plans.append((item, lead_item, contacts[:1], companies[:1]))
        lead_writes.prepare_batch([plan[1] for plan in plans], with_ids=False)
        for index, (item, lead_item, contacts, companies) in enumerate(plans):
            company = _existing_or_new(company_writes, companies)
            contact = _existing_or_new(contact_writes, contacts)
            if contact is not None and company is not None:
                contact.company_id = company.id
            ((_, patch),) = lead_writes.prepare_batch([lead_item], with_ids=False)
            if contact is not None:
                patch.contacts = {contact.id: True}
            patch.company_id = company.id if company is not None else None
            lead = lead_writes.create(patch)
            results.append(
                {
                    "id": lead.id,
                    "contact_id": contact.id if contact else None,
                    "company_id": company.id if company else None,
                    "request_id": [request_id_of(item, index)],
                    "merged": False,
                }
            )
        company_writes.publish()
        contact_writes.publish()
        lead_writes.publish()
    return hal(results)


def _existing_or_new(writes: PartyWrites, entries: list[Any]) -> Any:
    if not entries:
        return None
    entry = entries[0]
    if isinstance(entry, dict) and isinstance(entry.get("id"), int):
        found = writes.state.parties(writes.kind).get(entry["id"])
        if found is None:
            raise ValidationFailed(
                [
                    (
                        "0",
                        [
                            {
                                "code": "NotSupportedChoice",
                                "path": "_embedded",
                                "detail": "The value you selected is not a valid choice.",
                            }
                        ],
                    )
                ]
            )
        return found
    ((_, patch),) = writes.prepare_batch([entry], with_ids=False)
    return writes.create(patch)
