"""The drive (upload sessions, parts, file objects) and files attached to leads (reference §8).

The drive lives under `<base>/drive` on the same server; `drive_url` in the account says so,
and well-behaved clients use the URLs the server returns as they are.
"""

from __future__ import annotations

import mimetypes
import secrets
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.models import DriveFile, UploadSession
from kommo_xero.sandbox.kommo.responses import (
    ApiProblem,
    base,
    hal,
    href,
    json_batch,
    json_body,
    no_content,
)
from kommo_xero.sandbox.kommo.state import KommoState
from kommo_xero.sandbox.kommo.validation import ValidationFailed, choice_error

MAX_PART_SIZE = 131072
MAX_FILE_SIZE = 314572800

router = APIRouter()


def file_object(state: KommoState, item: DriveFile, root: str) -> dict[str, Any]:
    extension = item.name.rsplit(".", 1)[-1].lower() if "." in item.name else ""
    who = {"id": item.created_by, "type": "user"}
    download = f"{root}/drive/download/{item.uuid}"
    return {
        "uuid": item.uuid,
        "version_uuid": item.version_uuid,
        "name": item.name,
        "sanitized_name": item.name.replace(" ", "_"),
        "size": item.size,
        "type": "image" if item.content_type.startswith("image/") else "document",
        "source_id": None,
        "has_multiple_versions": False,
        "is_trashed": False,
        "created_at": item.created_at,
        "created_by": who,
        "updated_at": item.created_at,
        "updated_by": who,
        "deleted_at": None,
        "deleted_by": None,
        "metadata": {"extension": extension, "mime_type": item.content_type},
        "previews": [],
        "_links": {
            "download": {"href": download},
            "download_version": {"href": f"{download}?version_uuid={item.version_uuid}"},
            "self": {"href": f"{root}/drive/v1.0/files/{item.uuid}"},
        },
    }


@router.post("/drive/v1.0/sessions")
async def open_session(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("file_name"), str):
        raise ApiProblem(400, "Bad Request", "file_name is required")
    size = body.get("file_size")
    if not isinstance(size, int) or size <= 0 or size > MAX_FILE_SIZE:
        raise ApiProblem(400, "Bad Request", "file_size should be a positive integer")
    content_type = body.get("content_type") or (
        mimetypes.guess_type(body["file_name"])[0] or "application/octet-stream"
    )
    with state.lock:
        session = UploadSession(
            state.next_id("session"),
            secrets.token_urlsafe(24),
            body["file_name"],
            size,
            content_type,
            body.get("file_uuid"),
        )
        state.sessions[session.token] = session
    return hal(
        {
            "max_file_size": MAX_FILE_SIZE,
            "max_part_size": MAX_PART_SIZE,
            "session_id": session.id,
            "upload_url": f"{base(request)}/drive/v1.0/sessions/upload/{session.token}",
        }
    )


@router.post("/drive/v1.0/sessions/upload/{token}")
@router.post("/drive/v1.0/sessions/upload/{token}/{part:int}")
async def upload_part(token: str, request: Request, part: int = 0) -> Response:
    """One part of the file; the upload URL itself is the credential, as on the real drive."""
    state = sim(request)
    chunk = await request.body()
    with state.lock:
        session = state.sessions.get(token)
        if session is None or part != session.parts:
            raise ApiProblem(404, "Not Found", "Upload session not found")
        if not chunk or len(chunk) > MAX_PART_SIZE:
            raise ApiProblem(400, "Bad Request", f"A part must hold 1 to {MAX_PART_SIZE} bytes")
        if len(session.received) + len(chunk) > session.file_size:
            raise ApiProblem(400, "Bad Request", "More bytes than the declared file_size")
        session.received.extend(chunk)
        session.parts += 1
        if len(session.received) < session.file_size:
            next_url = f"{base(request)}/drive/v1.0/sessions/upload/{token}/{session.parts}"
            return hal({"session_id": session.id, "next_url": next_url})
        del state.sessions[token]
        stored = DriveFile(
            uuid=session.file_uuid or str(uuid.uuid4()),
            version_uuid=str(uuid.uuid4()),
            name=session.file_name,
            size=session.file_size,
            content_type=session.content_type,
            data=bytes(session.received),
            created_at=state.now(),
            created_by=state.config.user_id,
        )
        state.files[stored.uuid] = stored
        return hal(file_object(state, stored, base(request)))


@router.get("/drive/v1.0/files/{file_uuid}")
def get_file(file_uuid: str, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        found = state.files.get(file_uuid)
        if found is None:
            raise ApiProblem(404, "Not Found", "File not found")
        return hal(file_object(state, found, base(request)))


@router.get("/drive/download/{file_uuid}")
def download(file_uuid: str, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        found = state.files.get(file_uuid)
    if found is None:
        raise ApiProblem(404, "Not Found", "File not found")
    return Response(found.data, media_type=found.content_type)


def _lead_files(state: KommoState, lead_id: int) -> dict[str, int]:
    lead = state.leads.get(lead_id)
    if lead is None or lead.is_deleted:
        raise ApiProblem(404, "Not Found", f"Lead {lead_id} not found")
    return state.lead_files.setdefault(lead_id, {})


@router.put("/api/v4/leads/{lead_id:int}/files")
async def attach(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    items = await json_batch(request)
    with state.lock:
        attached = _lead_files(state, lead_id)
        failures = [
            (str(i), [choice_error("file_uuid")])
            for i, item in enumerate(items)
            if not isinstance(item, dict) or item.get("file_uuid") not in state.files
        ]
        if failures:
            raise ValidationFailed(failures)
        for item in items:
            attached.setdefault(item["file_uuid"], state.next_id("file"))
        body = [
            {"file_uuid": item["file_uuid"], "id": attached[item["file_uuid"]]} for item in items
        ]
    return hal(
        {"_links": href(request, f"/api/v4/leads/{lead_id}/files"), "_embedded": {"files": body}}
    )


@router.get("/api/v4/leads/{lead_id:int}/files")
def list_files(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        attached = _lead_files(state, lead_id)
        body = [{"file_uuid": u, "id": i} for u, i in attached.items()]
    if not body:
        return no_content()
    return hal(
        {"_links": href(request, f"/api/v4/leads/{lead_id}/files"), "_embedded": {"files": body}}
    )


@router.delete("/api/v4/leads/{lead_id:int}/files")
async def detach(lead_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    items = await json_batch(request)
    with state.lock:
        attached = _lead_files(state, lead_id)
        for item in items:
            if isinstance(item, dict):
                attached.pop(str(item.get("file_uuid")), None)
    return Response(status_code=202)
