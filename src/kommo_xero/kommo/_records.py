"""Typed views of account-level records: pipelines, fields, files, links, lists, events."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import Field, field_validator

from kommo_xero.kommo._fields import _Model, _WithFields


class Account(_Model):
    id: int
    name: str = ""
    subdomain: str = ""
    currency: str | None = None
    drive_url: str | None = None


class Status(_Model):
    id: int
    name: str
    sort: int = 0
    pipeline_id: int | None = None
    type: int = 0
    color: str | None = None


class _PipelineEmbedded(_Model):
    statuses: list[Status] = Field(default_factory=list)


class Pipeline(_Model):
    id: int
    name: str
    sort: int = 0
    is_main: bool = False
    is_archive: bool = False
    embedded: _PipelineEmbedded = Field(default_factory=_PipelineEmbedded, alias="_embedded")

    @property
    def statuses(self) -> list[Status]:
        return self.embedded.statuses

    def status_named(self, name: str) -> Status | None:
        wanted = name.strip().casefold()
        return next((s for s in self.statuses if s.name.strip().casefold() == wanted), None)


def find_stage(pipelines: list[Pipeline], stage: str, pipeline: str | None = None) -> Status | None:
    """The stage called `stage` (case-insensitive), in `pipeline` if given, else in the main
    pipeline first and then the others."""
    if pipeline is not None:
        wanted = pipeline.strip().casefold()
        candidates = [p for p in pipelines if p.name.strip().casefold() == wanted]
    else:
        candidates = sorted(pipelines, key=lambda p: not p.is_main)
    for candidate in candidates:
        found = candidate.status_named(stage)
        if found is not None:
            return found
    return None


class Enum(_Model):
    id: int
    value: str
    sort: int = 0


class CustomField(_Model):
    id: int
    name: str
    type: str
    code: str | None = None
    sort: int = 0
    is_api_only: bool = False
    entity_type: str | None = None
    enums: list[Enum] = Field(default_factory=list)

    @field_validator("enums", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    def enum_id(self, text: str) -> int | None:
        """The id of the option whose text is `text` (case-insensitive)."""
        wanted = text.casefold()
        return next((e.id for e in self.enums if e.value.casefold() == wanted), None)


class UploadedFile(_Model):
    uuid: str
    version_uuid: str | None = None
    name: str = ""
    size: int | None = None
    type: str | None = None


class LeadFile(_Model):
    file_uuid: str
    id: int | None = None


class Link(_Model):
    entity_id: int | None = None
    entity_type: str | None = None
    to_entity_id: int
    to_entity_type: str
    metadata: dict[str, Any] | None = None


class Catalog(_Model):
    id: int
    name: str
    type: str = "regular"
    can_show_in_cards: bool = False


class CatalogElement(_WithFields):
    id: int
    catalog_id: int | None = None
    name: str = ""

    @property
    def price(self) -> Decimal | None:
        """The element's PRICE field as a Decimal, None when missing or unreadable."""
        value = self.field_value("PRICE")
        try:
            return None if value in (None, "") else Decimal(str(value))
        except InvalidOperation:
            return None

    @property
    def sku(self) -> str | None:
        return self.field_text("SKU")


class Event(_Model):
    id: str
    type: str
    entity_id: int
    entity_type: str
    created_by: int = 0
    created_at: int
    value_after: list[dict[str, Any]] = Field(default_factory=list)
    value_before: list[dict[str, Any]] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _id_as_text(cls, value: Any) -> Any:
        return str(value)

    @field_validator("value_after", "value_before", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def status_after(self) -> tuple[int, int] | None:
        """(pipeline_id, status_id) the lead moved into, for lead_status_changed events."""
        for item in self.value_after:
            status = item.get("lead_status")
            if isinstance(status, dict) and "id" in status:
                return int(status.get("pipeline_id") or 0), int(status["id"])
        return None


class Webhook(_Model):
    id: int | None = None
    destination: str
    settings: list[str] = Field(default_factory=list)
    sort: int | None = None
    disabled: bool = False
    created_at: int | None = None
