"""Everything the simulated account holds, in memory, behind one lock."""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from kommo_xero.sandbox.kommo import seed
from kommo_xero.sandbox.kommo.config import KommoSimConfig
from kommo_xero.sandbox.kommo.models import (
    Catalog,
    CatalogElement,
    CustomField,
    DriveFile,
    Event,
    Lead,
    Note,
    Party,
    Pipeline,
    UploadSession,
    Webhook,
)
from kommo_xero.sandbox.kommo.tokens import TokenStore

_FIRST_IDS = {
    "lead": 22514900,
    "contacts": 37054100,
    "companies": 10971500,
    "note": 4600500,
    "field": 1118200,
    "enum": 908200,
    "tag": 51300,
    "element": 525500,
    "webhook": 11110001,
    "file": 7590970,
    "session": 26136001,
    "event": 1,
}


@dataclass
class Change:
    """One entity change as a webhook sees it: `leads[status][N]` under setting `status_lead`."""

    setting: str  # subscription code, e.g. "status_lead"
    entity_key: str  # top-level body key: "leads" or "contacts"
    action: str  # add, update, status, delete
    entity_id: int
    item: dict[str, Any] = field(default_factory=dict)


class KommoState:
    """The account's data; the API, the control API and tests all read and write it here."""

    def __init__(self, config: KommoSimConfig | None = None) -> None:
        self.config = config or KommoSimConfig()
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.tokens = TokenStore()
        self.webhooks: dict[int, Webhook] = {}
        self.outbox: deque[list[Change]] = deque()  # one list per request that changed things
        self.blocked = False
        # The account's base URL as clients reach it; set from incoming requests, used in
        # webhook bodies (account[_links][self]) and _links hrefs built outside a request.
        self.base_url = f"https://{self.config.subdomain}.kommo.com"
        self.rng = random.Random(self.config.seed)
        self._load_seed()

    def _load_seed(self) -> None:
        self._ids = dict(_FIRST_IDS)
        self.pipelines: dict[int, Pipeline] = {}
        self.fields: dict[int, CustomField] = {}
        self.catalogs: dict[int, Catalog] = {}
        self.elements: dict[int, CatalogElement] = {}
        self.leads: dict[int, Lead] = {}
        self.contacts: dict[int, Party] = {}
        self.companies: dict[int, Party] = {}
        self.notes: dict[int, Note] = {}
        self.files: dict[str, DriveFile] = {}
        self.sessions: dict[str, UploadSession] = {}
        self.lead_files: dict[int, dict[str, int]] = {}  # lead id -> file uuid -> attachment id
        self.events: list[Event] = []
        self.tags: dict[str, int] = {}  # tag name -> id
        seed.populate(self)

    def reset(self, keep_webhooks: bool = True) -> None:
        """Back to the seed data; tokens and the clock are left alone."""
        with self.lock:
            webhook_ids = self._ids["webhook"]
            self._load_seed()
            self._ids["webhook"] = webhook_ids
            self.outbox.clear()
            if not keep_webhooks:
                self.webhooks.clear()

    def now_float(self) -> float:
        return time.time() + self.clock_offset

    def now(self) -> int:
        return int(self.now_float())

    def next_id(self, kind: str) -> int:
        with self.lock:
            value = self._ids[kind]
            self._ids[kind] = value + 1
            return value

    def parties(self, kind: str) -> dict[int, Party]:
        return self.contacts if kind == "contacts" else self.companies

    def fields_for(self, entity_type: str, catalog_id: int | None = None) -> dict[int, CustomField]:
        return {
            f.id: f
            for f in self.fields.values()
            if f.entity_type == entity_type and f.catalog_id == catalog_id
        }

    def tag(self, name: str) -> dict[str, Any]:
        if name not in self.tags:
            self.tags[name] = self.next_id("tag")
        return {"id": self.tags[name], "name": name, "color": None}

    def default_pipeline(self) -> Pipeline:
        return next(p for p in self.pipelines.values() if p.is_main)

    def record_event(
        self,
        event_type: str,
        entity_type: str,
        entity_id: int,
        actor: int,
        after: list[dict[str, Any]] | None = None,
        before: list[dict[str, Any]] | None = None,
    ) -> None:
        number = self.next_id("event")
        self.events.append(
            Event(
                id=f"01{self.now():010x}{number:014x}",
                type=event_type,
                entity_type=entity_type,
                entity_id=entity_id,
                created_by=actor,
                created_at=self.now(),
                value_after=after or [],
                value_before=before or [],
            )
        )

    def publish(self, changes: list[Change]) -> None:
        """Queue changes for webhook delivery (the dispatcher task drains the outbox)."""
        if changes:
            self.outbox.append(changes)

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {
                "leads": len(self.leads),
                "contacts": len(self.contacts),
                "companies": len(self.companies),
                "notes": len(self.notes),
                "files": len(self.files),
                "custom_fields": len(self.fields),
                "events": len(self.events),
                "webhooks": len(self.webhooks),
                "catalog_elements": len(self.elements),
                "clock_offset": self.clock_offset,
                "blocked": self.blocked,
            }
