"""The records the simulator keeps in memory (one Kommo account)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Stored custom field values: field id -> list of value dicts in API form
# ({"value": ..., "enum_id": ..., "enum_code": ...}); insertion order is the display order.
FieldValues = dict[int, list[dict[str, Any]]]


@dataclass
class Status:
    id: int
    name: str
    sort: int
    color: str
    type: int = 0
    is_editable: bool = True


@dataclass
class Pipeline:
    id: int
    name: str
    sort: int
    is_main: bool
    statuses: list[Status] = field(default_factory=list)


@dataclass
class Enum:
    id: int
    value: str
    sort: int
    code: str | None = None


@dataclass
class CustomField:
    id: int
    name: str
    type: str
    entity_type: str  # leads, contacts, companies, catalogs
    sort: int = 500
    code: str | None = None
    enums: list[Enum] = field(default_factory=list)
    is_predefined: bool = False
    is_deletable: bool = True
    is_api_only: bool = False
    catalog_id: int | None = None
    currency: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Lead:
    id: int
    name: str
    price: int | float
    status_id: int
    pipeline_id: int
    responsible_user_id: int
    created_by: int
    updated_by: int
    created_at: int
    updated_at: int
    closed_at: int | None = None
    loss_reason_id: int | None = None
    is_deleted: bool = False
    custom_fields: FieldValues = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    contacts: dict[int, bool] = field(default_factory=dict)  # contact id -> is_main
    company_id: int | None = None
    # element id -> {"catalog_id", "quantity", "price_id"?}
    catalog_elements: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Party:
    """A contact or a company (same shape in the API)."""

    id: int
    kind: str  # "contacts" or "companies"
    name: str
    responsible_user_id: int
    created_by: int
    updated_by: int
    created_at: int
    updated_at: int
    first_name: str = ""
    last_name: str = ""
    custom_fields: FieldValues = field(default_factory=dict)
    tags: list[dict[str, Any]] = field(default_factory=list)
    company_id: int | None = None  # contacts only: at most one company


@dataclass
class Note:
    id: int
    entity_type: str
    entity_id: int
    note_type: str
    params: dict[str, Any]
    created_by: int
    created_at: int
    updated_at: int


@dataclass
class DriveFile:
    uuid: str
    version_uuid: str
    name: str
    size: int
    content_type: str
    data: bytes
    created_at: int
    created_by: int


@dataclass
class UploadSession:
    id: int
    token: str
    file_name: str
    file_size: int
    content_type: str
    file_uuid: str | None
    received: bytearray = field(default_factory=bytearray)
    parts: int = 0


@dataclass
class Catalog:
    id: int
    name: str
    type: str
    created_at: int
    sort: int = 10
    can_show_in_cards: bool = False


@dataclass
class CatalogElement:
    id: int
    catalog_id: int
    name: str
    created_at: int
    updated_at: int
    created_by: int
    custom_fields: FieldValues = field(default_factory=dict)


@dataclass
class Event:
    id: str
    type: str
    entity_type: str  # lead, contact, company
    entity_id: int
    created_by: int
    created_at: int
    value_after: list[dict[str, Any]]
    value_before: list[dict[str, Any]]


@dataclass
class Webhook:
    id: int
    destination: str
    settings: list[str]
    sort: int
    created_at: int
    updated_at: int
    created_by: int
    disabled: bool = False
    invalid_at: list[float] = field(default_factory=list)  # sim-clock times of invalid answers
