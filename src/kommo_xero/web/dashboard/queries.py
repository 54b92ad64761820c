"""Read-only queries behind the dashboard pages: paginated, and shaped to use the indexes.

Every list is bounded (LIMIT) and ordered by an indexed column within one connection
(`ix_links_updated`, `ix_links_status`, `ix_history_link`, `ix_history_lead`), so a page
costs the same with ten links or a hundred thousand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from kommo_xero.store import Store
from kommo_xero.store.tables import cursors, history, links, parked

# Filter values that name our own processing state rather than a Xero invoice status.
STATE_FILTERS = {"parked": "parked", "in_flight": "claimed"}
XERO_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED")
ORIGINS = {"deal": "Deal-made", "invoice": "Invoice-made"}
# History kinds that record an invoice status reaching the deal (flow B).
STATUS_UPDATE_KIND = "status%"


@dataclass(frozen=True)
class Page:
    rows: list[dict[str, Any]]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def links_page(
    store: Store,
    connection_id: str,
    *,
    search: str = "",
    status: str = "",
    origin: str = "",
    page: int = 1,
    page_size: int = 50,
) -> Page:
    conds = [links.c.connection_id == connection_id]
    if status in STATE_FILTERS:
        conds.append(links.c.state == STATE_FILTERS[status])
    elif status:
        conds.append(links.c.status == status)
    if origin in ORIGINS:
        conds.append(links.c.origin == origin)
    if search.strip():
        like = f"%{search.strip()}%"
        number = search.strip()
        conds.append(
            or_(
                links.c.deal_name.ilike(like),
                links.c.invoice_number.ilike(like),
                links.c.contact_name.ilike(like),
                links.c.kommo_lead_id == (int(number) if number.isdigit() else -1),
            )
        )
    where = and_(*conds)
    page = max(1, page)
    query = (
        select(links)
        .where(where)
        .order_by(links.c.updated_at.desc(), links.c.id.desc())
        .limit(page_size)
        .offset((page - 1) * page_size)
    )
    with store.tx() as conn:
        rows = [dict(r) for r in conn.execute(query).mappings()]
        total = int(conn.execute(select(func.count()).select_from(links).where(where)).scalar_one())
    return Page(rows, total, page, page_size)


def link(store: Store, link_id: int) -> dict[str, Any] | None:
    with store.tx() as conn:
        row = conn.execute(select(links).where(links.c.id == link_id)).mappings().first()
    return dict(row) if row else None


def timeline(store: Store, row: dict[str, Any], limit: int = 500) -> list[dict[str, Any]]:
    """Events of this link, plus those of its deal from before the link existed."""
    query = (
        select(history)
        .where(
            or_(
                history.c.link_id == row["id"],
                and_(
                    history.c.connection_id == row["connection_id"],
                    history.c.kommo_lead_id == row["kommo_lead_id"],
                    history.c.link_id.is_(None),
                ),
            )
        )
        .order_by(history.c.at, history.c.id)
        .limit(limit)
    )
    with store.tx() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def open_parked(
    store: Store, connection_id: str | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Open parked items, oldest first, each with the id of its deal's newest link."""
    query = (
        select(parked)
        .where(parked.c.open.is_(True))
        .order_by(parked.c.created_at, parked.c.id)
        .limit(limit)
    )
    if connection_id:
        query = query.where(parked.c.connection_id == connection_id)
    with store.tx() as conn:
        items = [dict(r) for r in conn.execute(query).mappings()]
        lead_ids = {int(i["subject"]) for i in items if str(i["subject"]).isdigit()}
        newest: dict[tuple[str, int], int] = {}
        if lead_ids:
            found = conn.execute(
                select(links.c.connection_id, links.c.kommo_lead_id, links.c.id)
                .where(links.c.kommo_lead_id.in_(lead_ids))
                .order_by(links.c.id)
            )
            newest = {(c, lead): link_id for c, lead, link_id in found}
    for item in items:
        subject = str(item["subject"])
        key = (item["connection_id"], int(subject)) if subject.isdigit() else None
        item["link_id"] = newest.get(key) if key else None
    return items


@dataclass(frozen=True)
class Counts:
    invoices_created: int
    deals_created: int
    status_updates: int
    parked: int
    in_flight: int


def counts(store: Store, connection_id: str) -> Counts:
    by_kind = (
        select(links.c.origin, links.c.state, func.count())
        .where(links.c.connection_id == connection_id)
        .group_by(links.c.origin, links.c.state)
    )
    invoiced = (
        select(func.count())
        .select_from(links)
        .where(
            links.c.connection_id == connection_id,
            links.c.origin == "deal",
            links.c.xero_invoice_id.is_not(None),
        )
    )
    updates = (
        select(func.count())
        .select_from(history)
        .where(history.c.connection_id == connection_id, history.c.kind.like(STATUS_UPDATE_KIND))
    )
    open_items = (
        select(func.count())
        .select_from(parked)
        .where(parked.c.connection_id == connection_id, parked.c.open.is_(True))
    )
    with store.tx() as conn:
        groups = list(conn.execute(by_kind))
        return Counts(
            invoices_created=int(conn.execute(invoiced).scalar_one()),
            deals_created=sum(int(n) for origin, _, n in groups if origin == "invoice"),
            status_updates=int(conn.execute(updates).scalar_one()),
            parked=int(conn.execute(open_items).scalar_one()),
            in_flight=sum(int(n) for _, state, n in groups if state == "claimed"),
        )


def in_flight(store: Store, connection_id: str, limit: int = 10) -> list[dict[str, Any]]:
    query = (
        select(links)
        .where(links.c.connection_id == connection_id, links.c.state == "claimed")
        .order_by(links.c.updated_at.desc())
        .limit(limit)
    )
    with store.tx() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def cursor_rows(store: Store, connection_id: str) -> list[dict[str, Any]]:
    query = select(cursors).where(cursors.c.connection_id == connection_id)
    with store.tx() as conn:
        return [dict(r) for r in conn.execute(query.order_by(cursors.c.name)).mappings()]


def change_stamp(store: Store) -> str:
    """Changes whenever anything a page shows changes; the live script polls it."""
    with store.tx() as conn:
        newest_link = conn.execute(select(func.max(links.c.updated_at))).scalar_one()
        newest_event = conn.execute(select(func.max(history.c.id))).scalar_one()
        parked_state = conn.execute(
            select(func.count(), func.max(parked.c.updated_at)).where(parked.c.open.is_(True))
        ).one()
    return f"{newest_link}|{newest_event}|{parked_state[0]}|{parked_state[1]}"
