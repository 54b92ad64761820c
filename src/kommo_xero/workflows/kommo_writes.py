"""Writes to the deal in Kommo: fields, notes, the PDF. Batched, and never done twice.

Kommo has no idempotency key. Field updates are naturally idempotent (same values again);
notes and files are not, so each is recorded as an *effect*: "started" before the call,
"done" after. Finding "started" means a crash may have hidden a success, so Kommo is read
first instead of writing a second note or file.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from kommo_xero.kommo._payloads import (
    FieldValue,
    FieldWrite,
    LeadPatch,
    NoteCreate,
    merge_lead_patches,
)
from kommo_xero.workflows.batching import Batcher
from kommo_xero.workflows.runtime import Runtime


@asynccontextmanager
async def lead_write_lock(rt: Runtime, lead_id: int) -> AsyncIterator[None]:
    """Invoice-state writes for one deal go one at a time (flow A's write-back and flow B's
    status writes), so a check of the newest state and the write that follows are not split,
    in this process and, on PostgreSQL, across every process."""
    locks: dict[int, asyncio.Lock] = rt.extras.setdefault("status_locks", {})
    async with locks.setdefault(lead_id, asyncio.Lock()):
        if rt.mutex is None:
            yield
            return
        async with rt.mutex(f"lead-writes:{rt.connection_id}:{lead_id}").slot():
            yield


def _patch_batcher(rt: Runtime) -> Batcher[LeadPatch, None]:
    async def flush(patches: Sequence[LeadPatch]) -> list[None]:
        # One lead twice in a batch (a field write and a stage move, say) is sent as one
        # item: what Kommo does with a repeated id in one request is not documented.
        await rt.kommo.update_leads(merge_lead_patches(list(patches)))
        return [None] * len(patches)

    return rt.shared("lead_patcher", lambda: Batcher(flush, window=0.1, max_size=50))


def _note_batcher(rt: Runtime) -> Batcher[NoteCreate, None]:
    async def flush(notes: Sequence[NoteCreate]) -> list[None]:
        await rt.kommo.add_lead_notes(list(notes))
        return [None] * len(notes)

    return rt.shared("note_writer", lambda: Batcher(flush, window=0.1, max_size=50))


def invoice_fields(rt: Runtime, invoice: dict[str, Any], link_url: str | None) -> list[FieldWrite]:
    f = rt.fields
    writes = [
        FieldValue.text(f.invoice_number, invoice.get("number") or ""),
        FieldValue.number(f.amount_due, float(Decimal(invoice["amount_due"]))),
        FieldValue.number(f.amount_paid, float(Decimal(invoice["amount_paid"]))),
    ]
    enum_id = f.status_enums.get(invoice["label"])
    if enum_id is not None:
        writes.append(FieldValue.select(f.status, enum_id=enum_id))
    if link_url:
        writes.append(FieldValue.url(f.link, link_url))
    return writes


async def write_fields(rt: Runtime, lead_id: int, fields: list[FieldWrite]) -> None:
    await _patch_batcher(rt).submit(LeadPatch(id=lead_id, fields=fields))


async def add_note_once(rt: Runtime, key: str, lead_id: int, text: str) -> None:
    """Add a note to the deal unless this effect already happened."""
    state = rt.store.effect_state(key)
    if state == "done":
        return
    if state == "started":
        texts = await rt.kommo.lead_note_texts(lead_id)
        if text in texts:
            rt.store.mark_effect(rt.connection_id, key, "done")
            return
    rt.store.mark_effect(rt.connection_id, key, "started")
    await _note_batcher(rt).submit(NoteCreate.service(lead_id, text))
    rt.store.mark_effect(rt.connection_id, key, "done")


async def attach_file_once(
    rt: Runtime, key: str, lead_id: int, name: str, content: bytes, content_type: str
) -> None:
    """Upload `content` to Kommo's drive and attach it to the deal, once."""
    state = rt.store.effect_state(key)
    if state == "done":
        return
    # Once uploaded, the file's uuid is kept: attaching the same uuid again is harmless,
    # uploading again would leave a second copy on the deal.
    file_uuid = rt.store.effect_result(key) if state == "uploaded" else None
    if file_uuid is None:
        rt.store.mark_effect(rt.connection_id, key, "started")
        uploaded = await rt.kommo.upload_file(name, content, content_type)
        file_uuid = uploaded.uuid
        rt.store.mark_effect(rt.connection_id, key, "uploaded", result=file_uuid)
    await rt.kommo.attach_files_to_lead(lead_id, [file_uuid])
    rt.store.mark_effect(rt.connection_id, key, "done")


async def write_lead(rt: Runtime, patch: LeadPatch) -> None:
    """Any lead patch (fields and/or a stage move), through the same batched PATCH."""
    await _patch_batcher(rt).submit(patch)
