"""Find the Xero contact for a Kommo party: stored link, then email, then exact name; else create.

Lookups and creations are batched per tenant: one `where` query with OR-ed emails or names
answers many deals, and new contacts are created fifty per request.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from kommo_xero.domain.model import Party
from kommo_xero.transport import ValidationFailed
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.runtime import Runtime
from kommo_xero.xero.models import Contact, ContactCreate
from kommo_xero.xero.writes import where_equals

_In = TypeVar("_In")
_Out = TypeVar("_Out")

LOOKUP_CHUNK = 40  # names/emails per `where` query: about 2 KB of URL, well under limits


async def _find_many(rt: Runtime, field: str, values: Sequence[str]) -> dict[str, Contact]:
    found: dict[str, Contact] = {}
    unique = list(dict.fromkeys(v for v in values if v))
    for start in range(0, len(unique), LOOKUP_CHUNK):
        chunk = unique[start : start + LOOKUP_CHUNK]
        where = " OR ".join(where_equals(field, v) for v in chunk)
        async with rt.xero_gate():
            body = await rt.xero.send_json("GET", "/Contacts", params={"where": where, "page": "1"})
        for item in (body or {}).get("Contacts", []):
            contact = Contact.model_validate(item)
            if contact.contact_status not in (None, "ACTIVE"):
                continue
            key = (contact.email_address if field == "EmailAddress" else contact.name) or ""
            found.setdefault(key.casefold(), contact)
    return found


def _mapping_batcher(
    rt: Runtime, flush: Callable[[Sequence[_In]], Awaitable[Sequence[_Out | BaseException]]]
) -> Batcher[_In, _Out]:
    """A batcher with the connection's configured window and size. It waits for the
    organisation's Xero budget before cutting a batch: while calls are scarce, the deals that
    arrive during the wait share the call instead of spending one each."""
    mapping = rt.settings.mapping
    return Batcher(
        flush,
        window=mapping.batch_window_ms / 1000,
        max_size=mapping.batch_size,
        ready=rt.xero.wait_for_budget,
    )


def _lookup_batcher(rt: Runtime, field: str) -> Batcher[str, str | None]:
    async def flush(values: Sequence[str]) -> list[str | None]:
        found = await _find_many(rt, field, values)
        return [(c.contact_id if (c := found.get(v.casefold())) else None) for v in values]

    return rt.shared(f"contact_lookup_{field}", lambda: _mapping_batcher(rt, flush))


def _create_batcher(rt: Runtime) -> Batcher[Party, str]:
    async def flush(parties: Sequence[Party]) -> list[str | BaseException]:
        # Two deals of one new client in the same batch must not create it twice.
        distinct = list({p.name.casefold(): p for p in parties}.values())
        key = f"kx-contacts-{uuid.uuid4().hex}"
        async with rt.xero_gate():
            results = await rt.xero.create_contacts(
                [ContactCreate(name=p.name, email_address=p.email) for p in distinct],
                idempotency_key=key,
            )
        by_name: dict[str, str | BaseException] = {}
        for party, result in zip(distinct, results, strict=True):
            if result.ok and result.item and result.item.contact_id:
                by_name[party.name.casefold()] = result.item.contact_id
            else:
                by_name[party.name.casefold()] = ValidationFailed(
                    "xero", "; ".join(result.errors) or "contact refused", errors=result.errors
                )
        return [by_name[p.name.casefold()] for p in parties]

    return rt.shared("contact_create", lambda: _mapping_batcher(rt, flush))


async def resolve_contact(rt: Runtime, party: Party) -> str:
    """The Xero ContactID for `party`, recorded so the next deal of this client costs nothing."""
    conn = rt.connection_id
    stored = rt.store.xero_contact_for(conn, party.kind.value, party.kommo_id)
    if stored:
        return stored
    contact_id = None
    if party.email:
        contact_id = await _lookup_batcher(rt, "EmailAddress").submit(party.email)
    if contact_id is None:
        contact_id = await _lookup_batcher(rt, "Name").submit(party.name)
    if contact_id is None:
        try:
            contact_id = await _create_batcher(rt).submit(party)
        except ValidationFailed as exc:
            # The name became taken meanwhile (unique-name rule): use the existing contact.
            if not any("already assigned" in e for e in exc.errors):
                raise
            contact_id = await _lookup_batcher(rt, "Name").submit(party.name)
            if contact_id is None:
                raise
    rt.store.link_contact(conn, party.kind.value, party.kommo_id, contact_id, party.name)
    return contact_id
