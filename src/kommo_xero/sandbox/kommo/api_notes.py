"""Notes on leads, contacts and companies, with Kommo's note_type and params checks."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import render
from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.models import Note
from kommo_xero.sandbox.kommo.phpform import as_list
from kommo_xero.sandbox.kommo.responses import base, hal, href, json_batch, paged, query
from kommo_xero.sandbox.kommo.state import KommoState
from kommo_xero.sandbox.kommo.validation import (
    Error,
    ValidationFailed,
    choice_error,
    error,
    request_id_of,
)

# The note types Kommo documents, with the params each needs (reference §7).
NOTE_PARAMS: dict[str, tuple[str, ...]] = {
    "common": ("text",),
    "service_message": ("service", "text"),
    "extended_service_message": ("service", "text"),
    "attachment": ("file_uuid", "file_name"),
    "call_in": ("uniq", "duration", "source", "phone"),
    "call_out": ("uniq", "duration", "source", "phone"),
    "sms_in": ("text", "phone"),
    "sms_out": ("text", "phone"),
    "geolocation": ("text", "address", "longitude", "latitude"),
}
_EVENT_TYPES = {
    "common": "common_note_added",
    "attachment": "attachment_note_added",
    "service_message": "service_note_added",
    "extended_service_message": "service_note_added",
}
_ENTITY_NAMES = {"leads": "lead", "contacts": "contact", "companies": "company"}


def check_note(state: KommoState, item: Any, needs_entity: bool, kind: str) -> list[Error]:
    if not isinstance(item, dict):
        return [error("InvalidType", "", "This value should be of type object.")]
    errors: list[Error] = []
    if needs_entity:
        entity_id = item.get("entity_id")
        entities: dict[int, Any] = state.leads if kind == "leads" else state.parties(kind)
        if not isinstance(entity_id, int) or entity_id not in entities:
            errors.append(choice_error("entity_id"))
    note_type = item.get("note_type")
    if note_type not in NOTE_PARAMS:
        return [*errors, choice_error("note_type")]
    params = item.get("params")
    if not isinstance(params, dict):
        return [*errors, error("InvalidType", "params", "This value should be of type object.")]
    for key in NOTE_PARAMS[note_type]:
        if params.get(key) in (None, ""):
            errors.append(error("NotBlank", f"params.{key}", "This value should not be blank."))
    if (
        note_type == "attachment"
        and params.get("file_uuid")
        and params["file_uuid"] not in state.files
    ):
        errors.append(choice_error("params.file_uuid"))
    return errors


def add_note(
    state: KommoState, kind: str, entity_id: int, item: dict[str, Any], actor: int
) -> Note:
    """Store a checked note (shared with the control API) and record its event."""
    now = state.now()
    note = Note(
        state.next_id("note"),
        kind,
        entity_id,
        item["note_type"],
        dict(item["params"]),
        actor,
        now,
        now,
    )
    state.notes[note.id] = note
    event = _EVENT_TYPES.get(note.note_type, f"{note.note_type}_note_added")
    state.record_event(
        event, _ENTITY_NAMES[kind], entity_id, actor, after=[{"note": {"id": note.id}}]
    )
    return note


def notes_router(kind: str) -> APIRouter:
    router = APIRouter(prefix=f"/api/v4/{kind}")

    async def create(request: Request, user: int, entity_id: int | None) -> Response:
        state = sim(request)
        items = await json_batch(request)
        with state.lock:
            failures = []
            for index, item in enumerate(items):
                if entity_id is not None and isinstance(item, dict):
                    item["entity_id"] = entity_id
                errors = check_note(state, item, needs_entity=True, kind=kind)
                if errors:
                    failures.append((request_id_of(item, index), errors))
            if failures:
                raise ValidationFailed(failures)
            made = [add_note(state, kind, item["entity_id"], item, user) for item in items]
        results = [
            {
                "id": n.id,
                "entity_id": n.entity_id,
                "request_id": request_id_of(item, i),
                "_links": href(request, f"/api/v4/{kind}/{n.entity_id}/notes/{n.id}"),
            }
            for i, (item, n) in enumerate(zip(items, made, strict=True))
        ]
        return hal(
            {"_links": href(request, f"/api/v4/{kind}/notes"), "_embedded": {"notes": results}}
        )

    def listing(request: Request, entity_id: int | None) -> Response:
        state = sim(request)
        params = query(request)
        raw = params.get("filter")
        flt: dict[str, Any] = raw if isinstance(raw, dict) else {}
        types = set(as_list(flt.get("note_type")))
        with state.lock:
            found = [
                render.note(state, n, base(request))
                for n in state.notes.values()
                if n.entity_type == kind
                and (entity_id is None or n.entity_id == entity_id)
                and (not types or n.note_type in types)
            ]
        return paged(request, "notes", found, params)

    @router.post("/notes")
    async def create_notes(request: Request, user: int = Depends(require_user)) -> Response:
        return await create(request, user, None)

    @router.post("/{entity_id:int}/notes")
    async def create_entity_notes(
        entity_id: int, request: Request, user: int = Depends(require_user)
    ) -> Response:
        return await create(request, user, entity_id)

    @router.get("/notes")
    def list_notes(request: Request, user: int = Depends(require_user)) -> Response:
        return listing(request, None)

    @router.get("/{entity_id:int}/notes")
    def list_entity_notes(
        entity_id: int, request: Request, user: int = Depends(require_user)
    ) -> Response:
        return listing(request, entity_id)

    return router
