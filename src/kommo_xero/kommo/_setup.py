"""Account-level reads and setup: account, pipelines, lead fields, webhooks, events."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from typing import Any

from kommo_xero.kommo._base import KommoBase
from kommo_xero.kommo.models import (
    Account,
    CustomField,
    CustomFieldCreate,
    Event,
    Pipeline,
    Webhook,
)


class SetupApi(KommoBase):
    async def get_account(self, with_drive_url: bool = False) -> Account:
        params = {"with": "drive_url"} if with_drive_url else None
        return Account.model_validate(await self._json("GET", "/api/v4/account", params=params))

    async def list_pipelines(self) -> list[Pipeline]:
        """Lead pipelines with their stages (statuses) embedded."""
        items = await self._embedded("GET", "/api/v4/leads/pipelines", "pipelines")
        return [Pipeline.model_validate(item) for item in items]

    async def list_lead_fields(self) -> list[CustomField]:
        return [
            CustomField.model_validate(item)
            async for item in self._pages("/api/v4/leads/custom_fields", "custom_fields")
        ]

    async def create_lead_fields(self, fields: Sequence[CustomFieldCreate]) -> list[CustomField]:
        items = await self._embedded(
            "POST",
            "/api/v4/leads/custom_fields",
            "custom_fields",
            json=[field.to_api() for field in fields],
        )
        return [CustomField.model_validate(item) for item in items]

    async def delete_lead_field(self, field_id: int) -> None:
        await self._send("DELETE", f"/api/v4/leads/custom_fields/{field_id}")

    async def iter_events(
        self,
        *,
        types: Iterable[str],
        created_from: int | None = None,
        pipeline_id: int | None = None,
        status_id: int | None = None,
        entity: str | None = None,
    ) -> AsyncIterator[Event]:
        """Events (the reconciliation source for lost webhooks), oldest filters first.
        `pipeline_id` + `status_id` keep only leads that moved *into* that stage."""
        params: dict[str, Any] = {"filter[type]": ",".join(types)}
        if entity:
            params["filter[entity][]"] = [entity]
        if created_from is not None:
            params["filter[created_at][from]"] = str(created_from)
        if status_id is not None:
            if pipeline_id is None:
                raise ValueError("status_id needs pipeline_id")
            after = "filter[value_after][leads_statuses][0]"
            params[f"{after}[pipeline_id]"] = str(pipeline_id)
            params[f"{after}[status_id]"] = str(status_id)
        async for item in self._pages("/api/v4/events", "events", params):
            yield Event.model_validate(item)

    async def list_webhooks(self, destination: str | None = None) -> list[Webhook]:
        params = {"filter[destination]": destination} if destination else None
        items = await self._embedded("GET", "/api/v4/webhooks", "webhooks", params=params)
        return [Webhook.model_validate(item) for item in items]

    async def add_webhook(
        self, destination: str, settings: Sequence[str], *, sort: int | None = None
    ) -> Webhook:
        """Subscribe `destination` to event codes such as `status_lead`, `update_lead`."""
        body: dict[str, Any] = {"destination": destination, "settings": list(settings)}
        if sort is not None:
            body["sort"] = sort
        return Webhook.model_validate(await self._json("POST", "/api/v4/webhooks", json=body))

    async def delete_webhook(self, destination: str) -> None:
        """Unsubscribe by URL (Kommo deletes webhooks by destination, not by id)."""
        await self._send("DELETE", "/api/v4/webhooks", json={"destination": destination})
