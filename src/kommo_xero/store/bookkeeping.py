"""Small records the flows keep: contact links, Kommo effects, reconciliation cursors."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from kommo_xero.store.base import StoreBase, now
from kommo_xero.store.tables import contact_links, cursors, effects


class Bookkeeping(StoreBase):
    """The part of `Store` for contact links, effects and cursors (see repository.Store)."""

    # -- contact links -------------------------------------------------------------------

    def xero_contact_for(self, connection_id: str, kommo_type: str, kommo_id: int) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(contact_links.c.xero_contact_id).where(
                    contact_links.c.connection_id == connection_id,
                    contact_links.c.kommo_type == kommo_type,
                    contact_links.c.kommo_id == kommo_id,
                )
            ).scalar_one_or_none()

    def link_contact(
        self, connection_id: str, kommo_type: str, kommo_id: int, xero_contact_id: str, name: str
    ) -> None:
        with self.tx() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(contact_links).values(
                            connection_id=connection_id,
                            kommo_type=kommo_type,
                            kommo_id=kommo_id,
                            xero_contact_id=xero_contact_id,
                            name=name,
                        )
                    )
            except IntegrityError:
                conn.execute(
                    update(contact_links)
                    .where(
                        contact_links.c.connection_id == connection_id,
                        contact_links.c.kommo_type == kommo_type,
                        contact_links.c.kommo_id == kommo_id,
                    )
                    .values(xero_contact_id=xero_contact_id, name=name)
                )

    # -- effects (read-check-write for Kommo) --------------------------------------------

    def effect_state(self, key: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(effects.c.state).where(effects.c.key == key)
            ).scalar_one_or_none()

    def effect_result(self, key: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(effects.c.result).where(effects.c.key == key)
            ).scalar_one_or_none()

    def mark_effect(
        self, connection_id: str, key: str, state: str, result: str | None = None
    ) -> None:
        values: dict[str, Any] = {"state": state, "updated_at": now()}
        if result is not None:
            values["result"] = result
        with self.tx() as conn:
            updated = conn.execute(
                update(effects).where(effects.c.key == key).values(**values)
            ).rowcount
            if not updated:
                conn.execute(insert(effects).values(key=key, connection_id=connection_id, **values))

    # -- cursors -------------------------------------------------------------------------

    def cursor(self, connection_id: str, name: str) -> str | None:
        with self.tx() as conn:
            return conn.execute(
                select(cursors.c.value).where(
                    cursors.c.connection_id == connection_id, cursors.c.name == name
                )
            ).scalar_one_or_none()

    def set_cursor(self, connection_id: str, name: str, value: str) -> None:
        with self.tx() as conn:
            updated = conn.execute(
                update(cursors)
                .where(cursors.c.connection_id == connection_id, cursors.c.name == name)
                .values(value=value, updated_at=now())
            ).rowcount
            if not updated:
                conn.execute(
                    insert(cursors).values(
                        connection_id=connection_id, name=name, value=value, updated_at=now()
                    )
                )
