"""/Contacts: list with where/searchTerm/IDs/paging, read one, PUT create, POST update (§3)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from .api_common import (
    apply_where,
    batch_response,
    caller,
    csv_param,
    elements,
    modified_since,
    not_found,
    ok,
    order_by,
    paginate,
    run_batch,
    summarize_flag,
    where_filter,
)
from .contact_ops import write_contact
from .models import Contact
from .render import contact_json

router = APIRouter()


def contact_fields(contact: Contact) -> dict[str, Any]:
    return {
        "ContactID": contact.contact_id,
        "Name": contact.name,
        "EmailAddress": contact.email,
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "ContactNumber": contact.contact_number,
        "AccountNumber": contact.account_number,
        "ContactStatus": contact.status,
        "IsCustomer": contact.is_customer,
        "IsSupplier": contact.is_supplier,
        "UpdatedDateUTC": contact.updated,
    }


@router.get("/Contacts")
async def list_contacts(request: Request) -> Response:
    state, org, _ = caller(request)
    ids = {i.lower() for i in csv_param(request, "IDs")}
    since = modified_since(request)
    archived = request.query_params.get("includeArchived", "").lower() == "true"
    term = request.query_params.get("searchTerm", "").casefold()
    rows = [
        c
        for c in org.contacts.values()
        if (not ids or c.contact_id in ids)
        and (since is None or c.updated > since)
        and (archived or c.status != "ARCHIVED")
        and (
            not term
            or any(
                term in value.casefold()
                for value in (c.name, c.first_name, c.last_name, c.contact_number, c.email)
            )
        )
    ]
    rows = apply_where(((c, contact_fields(c)) for c in rows), where_filter(request))
    rows = order_by(request, rows, contact_fields)
    page, pagination = paginate(request, rows)
    summary = request.query_params.get("summaryOnly", "").lower() == "true"
    extra = {"pagination": pagination} if pagination is not None else {}
    return ok(state, "Contacts", [contact_json(c, summary=summary) for c in page], **extra)


@router.get("/Contacts/{contact_key}")
async def get_contact(request: Request, contact_key: str) -> Response:
    state, org, _ = caller(request)
    contact = org.contacts.get(contact_key.lower()) or org.contact_by_number(contact_key)
    if contact is None:
        return not_found()
    return ok(state, "Contacts", [contact_json(contact)])


async def _write(request: Request, *, allow_update: bool, path_id: str | None = None) -> Response:
    state, org, who = caller(request)
    items = await elements(request, "Contacts")
    status, results = run_batch(
        state,
        org,
        who.client_id,
        items,
        lambda ctx, raw: write_contact(ctx, raw, allow_update=allow_update, path_id=path_id),
        contact_json,
        summarize=summarize_flag(request) if path_id is None else True,
    )
    return batch_response(state, "Contacts", status, results)


@router.put("/Contacts")
async def create_contacts(request: Request) -> Response:
    return await _write(request, allow_update=False)


@router.post("/Contacts")
async def update_or_create_contacts(request: Request) -> Response:
    return await _write(request, allow_update=True)


@router.post("/Contacts/{contact_id}")
async def update_contact(request: Request, contact_id: str) -> Response:
    _, org, _ = caller(request)
    if contact_id.lower() not in org.contacts:
        return not_found()
    return await _write(request, allow_update=True, path_id=contact_id)
