"""Contacts and companies: list with search, get, batch create and update."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import filters, render
from kommo_xero.sandbox.kommo.auth import require_user, sim
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


def party_router(kind: str) -> APIRouter:
    """The same routes for `contacts` and `companies`."""
    router = APIRouter(prefix=f"/api/v4/{kind}")

    @router.get("")
    def list_parties(request: Request, user: int = Depends(require_user)) -> Response:
        state = sim(request)
        params = query(request)
        with state.lock:
            chosen = filters.apply(state.parties(kind).values(), params, is_lead=False)
            with_ = filters.with_set(params)
            rendered = [render.party(state, p, base(request), with_) for p in chosen]
        return paged(request, kind, rendered, params)

    @router.get("/{party_id:int}")
    def get_party(party_id: int, request: Request, user: int = Depends(require_user)) -> Response:
        state = sim(request)
        with state.lock:
            party = state.parties(kind).get(party_id)
            if party is None:
                return no_content()
            return hal(render.party(state, party, base(request), filters.with_set(query(request))))

    @router.post("")
    async def create(request: Request, user: int = Depends(require_user)) -> Response:
        state = sim(request)
        items = await json_batch(request)
        writes = PartyWrites(state, kind, user)
        with state.lock:
            made = [
                writes.create(patch) for _, patch in writes.prepare_batch(items, with_ids=False)
            ]
            writes.publish()
        results = [
            {
                "id": p.id,
                "request_id": request_id_of(item, i),
                "_links": href(request, f"/api/v4/{kind}/{p.id}"),
            }
            for i, (item, p) in enumerate(zip(items, made, strict=True))
        ]
        return hal({"_links": href(request, f"/api/v4/{kind}"), "_embedded": {kind: results}})

    @router.patch("")
    async def update_many(request: Request, user: int = Depends(require_user)) -> Response:
        state = sim(request)
        items = await json_batch(request)
        writes = PartyWrites(state, kind, user)
        with state.lock:
            prepared = writes.prepare_batch(items, with_ids=True)
            done = [writes.update(p, patch) for p, patch in prepared if p is not None]
            writes.publish()
        results = [
            {
                "id": p.id,
                "updated_at": p.updated_at,
                "request_id": request_id_of(item, i),
                "_links": href(request, f"/api/v4/{kind}/{p.id}"),
            }
            for i, (item, p) in enumerate(zip(items, done, strict=True))
        ]
        return hal({"_links": href(request, f"/api/v4/{kind}"), "_embedded": {kind: results}})

    @router.patch("/{party_id:int}")
    async def update_one(
        party_id: int, request: Request, user: int = Depends(require_user)
    ) -> Response:
        state = sim(request)
        item = await json_body(request)
        if not isinstance(item, dict):
            raise ApiProblem(400, "Bad Request", "Request data should be an object")
        writes = PartyWrites(state, kind, user)
        with state.lock:
            party = state.parties(kind).get(party_id)
            if party is None:
                raise ApiProblem(404, "Not Found", f"Entity {party_id} not found")
            patch, errors = writes.prepare(item, party)
            if errors:
                raise ValidationFailed([(request_id_of(item, 0), errors)])
            writes.update(party, patch)
            writes.publish()
            return hal(
                {
                    "id": party.id,
                    "updated_at": party.updated_at,
                    "_links": href(request, f"/api/v4/{kind}/{party.id}"),
                }
            )

    return router
