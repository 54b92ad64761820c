"""Leads (deals): read, list, create, update, link, annotate."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from kommo_xero.kommo._base import WRITE_BATCH, KommoBase, chunked
from kommo_xero.kommo.models import (
    ComplexLead,
    ComplexResult,
    CreatedRef,
    Lead,
    LeadCreate,
    LeadPatch,
    Link,
    LinkCreate,
    NoteCreate,
    UpdatedRef,
)
from kommo_xero.transport import NotFound

DEFAULT_WITH = ("contacts", "catalog_elements")
# Ids per list request: keeps the query string short and fits one page of 250.
IDS_PER_REQUEST = 100


def _lead_filters(
    *,
    ids: Sequence[int] | None,
    pipeline_id: int | None,
    status_id: int | None,
    updated_from: int | None,
    query: str | None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if ids:
        params["filter[id][]"] = [str(i) for i in ids]
    if status_id is not None:
        if pipeline_id is None:
            # Stage ids such as 142/143 repeat in every pipeline, so Kommo wants the pair.
            raise ValueError("status_id needs pipeline_id")
        params["filter[statuses][0][pipeline_id]"] = str(pipeline_id)
        params["filter[statuses][0][status_id]"] = str(status_id)
    elif pipeline_id is not None:
        params["filter[pipeline_id][]"] = [str(pipeline_id)]
    if updated_from is not None:
        params["filter[updated_at][from]"] = str(updated_from)
    if query:
        params["query"] = query
    return params


class LeadsApi(KommoBase):
    async def get_lead(self, lead_id: int, *, with_: Iterable[str] = DEFAULT_WITH) -> Lead | None:
        """The lead, or None when Kommo has no such lead (it answers 204 or 404)."""
        try:
            body = await self._json("GET", f"/api/v4/leads/{lead_id}", params=_with_param(with_))
        except NotFound:
            return None
        return None if body is None else Lead.model_validate(body)

    async def iter_leads(
        self,
        *,
        ids: Sequence[int] | None = None,
        pipeline_id: int | None = None,
        status_id: int | None = None,
        updated_from: int | None = None,
        query: str | None = None,
        limit: int = 250,
        with_: Iterable[str] = DEFAULT_WITH,
    ) -> AsyncIterator[Lead]:
        """Every lead matching the filters, page after page (pages of `limit`, at most 250)."""
        params = _lead_filters(
            ids=ids,
            pipeline_id=pipeline_id,
            status_id=status_id,
            updated_from=updated_from,
            query=query,
        )
        params.update(_with_param(with_))
        params["limit"] = min(max(limit, 1), 250)
        async for item in self._pages("/api/v4/leads", "leads", params):
            yield Lead.model_validate(item)

    async def get_leads(self, ids: Sequence[int]) -> list[Lead]:
        """The leads with these ids that exist, in chunks; missing ids are simply absent."""
        found: list[Lead] = []
        for chunk in chunked(list(dict.fromkeys(ids)), IDS_PER_REQUEST):
            found.extend([lead async for lead in self.iter_leads(ids=chunk)])
        return found

    async def create_leads(self, leads: Sequence[LeadCreate]) -> list[CreatedRef]:
        """Create leads, 50 per request; each result carries the request_id it was sent with."""
        created: list[CreatedRef] = []
        for chunk in chunked(leads, WRITE_BATCH):
            items = await self._embedded(
                "POST",
                "/api/v4/leads",
                "leads",
                json=[lead.to_api() for lead in chunk],
                replay_safe=False,
            )
            created.extend(CreatedRef.model_validate(item) for item in items)
        return created

    async def create_complex_leads(self, leads: Sequence[ComplexLead]) -> list[ComplexResult]:
        """Create leads with a new contact and company each (Kommo allows 50 per request)."""
        results: list[ComplexResult] = []
        for chunk in chunked(leads, WRITE_BATCH):
            body = await self._json(
                "POST",
                "/api/v4/leads/complex",
                json=[lead.to_api() for lead in chunk],
                replay_safe=False,
            )
            results.extend(ComplexResult.model_validate(item) for item in body or [])
        return results

    async def update_leads(self, patches: Sequence[LeadPatch]) -> list[UpdatedRef]:
        """Batch PATCH, 50 leads per request."""
        updated: list[UpdatedRef] = []
        for chunk in chunked(patches, WRITE_BATCH):
            items = await self._embedded(
                "PATCH", "/api/v4/leads", "leads", json=[patch.to_api() for patch in chunk]
            )
            updated.extend(UpdatedRef.model_validate(item) for item in items)
        return updated

    async def update_lead(self, patch: LeadPatch) -> UpdatedRef:
        body = patch.to_api()
        lead_id = body.pop("id")
        answer = await self._json("PATCH", f"/api/v4/leads/{lead_id}", json=body)
        return UpdatedRef.model_validate(answer or {"id": lead_id})

    async def link_to_lead(self, lead_id: int, links: Sequence[LinkCreate]) -> list[Link]:
        """Link contacts, companies or catalog elements to the lead."""
        items = await self._embedded(
            "POST",
            f"/api/v4/leads/{lead_id}/link",
            "links",
            json=[link.to_api() for link in links],
        )
        return [Link.model_validate(item) for item in items]

    async def get_lead_links(self, lead_id: int) -> list[Link]:
        items = await self._embedded("GET", f"/api/v4/leads/{lead_id}/links", "links")
        return [Link.model_validate(item) for item in items]

    async def add_lead_notes(self, notes: Sequence[NoteCreate]) -> list[int]:
        """Add notes to leads (each note names its lead); returns the new note ids."""
        ids: list[int] = []
        for chunk in chunked(notes, WRITE_BATCH):
            items = await self._embedded(
                "POST",
                "/api/v4/leads/notes",
                "notes",
                json=[note.to_api() for note in chunk],
                replay_safe=False,
            )
            ids.extend(int(item["id"]) for item in items)
        return ids

    async def lead_note_texts(self, lead_id: int) -> list[str]:
        """The text of every note on the lead (204 → none), to check before writing again."""
        texts: list[str] = []
        async for item in self._pages(f"/api/v4/leads/{lead_id}/notes", "notes"):
            text = (item.get("params") or {}).get("text")
            if text:
                texts.append(str(text))
        return texts


def _with_param(with_: Iterable[str]) -> dict[str, Any]:
    joined = ",".join(with_)
    return {"with": joined} if joined else {}
