"""The integration's own tables. Every row is keyed by the connection from day one."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)

metadata = MetaData()

MONEY = Numeric(18, 2)

# A deal ↔ invoice link. A deal holds at most one *active* link (one not voided or deleted):
# the partial unique index is what makes "one invoice per deal" hold across processes.
links = Table(
    "links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(64), nullable=False),
    Column("kommo_lead_id", Integer, nullable=False),
    Column("xero_invoice_id", String(64), nullable=True),
    Column("invoice_number", String(255), nullable=True),
    Column("origin", String(16), nullable=False),  # "deal" or "invoice"
    Column("state", String(16), nullable=False),  # claimed | invoiced | parked | closed
    Column("active", Boolean, nullable=False, server_default=true()),
    Column("cause", String(255), nullable=False),  # workflow id that claimed the deal
    Column("deal_name", String(255), nullable=True),
    Column("contact_name", String(255), nullable=True),
    Column("xero_contact_id", String(64), nullable=True),
    Column("status", String(32), nullable=True),
    Column("status_label", String(32), nullable=True),
    Column("currency", String(8), nullable=True),
    Column("total", MONEY, nullable=True),
    Column("amount_due", MONEY, nullable=True),
    Column("amount_paid", MONEY, nullable=True),
    Column("online_url", Text, nullable=True),
    Column("pdf_attached", Boolean, nullable=False, server_default=false()),
    Column("batch_id", String(64), nullable=True),  # the invoice batch that carried its creation
    Column("xero_updated_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index(
        "uq_links_active_lead",
        "connection_id",
        "kommo_lead_id",
        unique=True,
        sqlite_where=text("active"),
        postgresql_where=text("active"),
    ),
    Index("ix_links_invoice", "connection_id", "xero_invoice_id", unique=True),
    Index("ix_links_updated", "connection_id", "updated_at"),
    Index("ix_links_status", "connection_id", "status"),
)

# Everything that happened to a link (or to a deal before it had one), for the timeline.
history = Table(
    "history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(64), nullable=False),
    Column("link_id", Integer, nullable=True),
    Column("kommo_lead_id", Integer, nullable=True),
    Column("xero_invoice_id", String(64), nullable=True),
    Column("kind", String(48), nullable=False),
    Column("message", Text, nullable=False),
    Column("detail", Text, nullable=True),  # JSON: API errors in full, ids, amounts
    Column("at", DateTime(timezone=True), nullable=False),
    Index("ix_history_lead", "connection_id", "kommo_lead_id", "at"),
    Index("ix_history_link", "link_id", "at"),
)

# Work that cannot go on until a person fixes something. Never deleted: resolved instead.
parked = Table(
    "parked",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(64), nullable=False),
    Column("flow", String(32), nullable=False),  # "deal_to_invoice", ...
    Column("subject", String(64), nullable=False),  # the lead id or invoice id
    Column("reason_code", String(48), nullable=False),
    Column("message", Text, nullable=False),
    Column("fix", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("1")),
    Column("open", Boolean, nullable=False, server_default=true()),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Index(
        "uq_parked_open",
        "connection_id",
        "flow",
        "subject",
        unique=True,
        sqlite_where=text("open"),
        postgresql_where=text("open"),
    ),
)

# Which Xero contact a Kommo contact or company became, so it is found again without a call.
contact_links = Table(
    "contact_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(64), nullable=False),
    Column("kommo_type", String(16), nullable=False),
    Column("kommo_id", Integer, nullable=False),
    Column("xero_contact_id", String(64), nullable=False),
    Column("name", String(255), nullable=True),
    UniqueConstraint("connection_id", "kommo_type", "kommo_id", name="uq_contact_links_kommo"),
)

# Invoice batches sent to Xero: the exact request is kept so a crashed batch is resent
# byte for byte with the same Idempotency-Key (Xero then replays its first answer).
invoice_batches = Table(
    "invoice_batches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("connection_id", String(64), nullable=False),
    Column("idempotency_key", String(128), nullable=False),
    Column("request_json", Text, nullable=False),
    Column("response_json", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True), nullable=True),
)

# Invoice requests waiting for their connection's next batch. Every process adds its own;
# whichever process holds the connection's batch slot sends everyone's in one call (so
# several processes still make one batch, not one each). A row goes when its batch opens.
invoice_orders = Table(
    "invoice_orders",
    metadata,
    Column("link_id", Integer, primary_key=True),
    Column("connection_id", String(64), nullable=False),
    Column("request_json", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_invoice_orders_connection", "connection_id", "created_at"),
)

# Wrong dashboard passwords, counted in the database so the lock-out holds across every
# `serve` behind a load balancer. One row per account (there is one: "admin").
sign_in_failures = Table(
    "sign_in_failures",
    metadata,
    Column("account", String(32), primary_key=True),
    Column("failures", Integer, nullable=False),
    Column("locked_until", Float, nullable=False),  # unix seconds; 0 when not locked
)

# Webhooks each process received, per connection, source and minute, for the last hour: the
# dashboard of any `serve` shows what all of them received.
webhook_minutes = Table(
    "webhook_minutes",
    metadata,
    Column("executor_id", String(64), primary_key=True),
    Column("connection_id", String(64), primary_key=True),
    Column("source", String(16), primary_key=True),
    Column("minute", Integer, primary_key=True),  # unix time // 60
    Column("count", Integer, nullable=False),
    Column("last_at", Float, nullable=False),
)

# Reconciliation cursors ("last Xero If-Modified-Since", "last Kommo event time").
cursors = Table(
    "cursors",
    metadata,
    Column("connection_id", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Kommo has no idempotency key, so each write to it is recorded here: "started" before the
# call and "done" after. A step that finds "started" knows a crash may have hidden a success
# and reads Kommo first instead of writing twice.
effects = Table(
    "effects",
    metadata,
    Column("key", String(255), primary_key=True),
    Column("connection_id", String(64), nullable=False),
    Column("state", String(16), nullable=False),
    Column("result", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Triggers accepted by the webhook receivers, written before the 2xx answer. A pump turns
# them into engine workflows in bulk, so the receiver's answer costs one small insert.
inbox = Table(
    "inbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connection_id", String(64), nullable=False),
    Column("flow", String(32), nullable=False),
    Column("cause", String(255), nullable=False),
    Column("subject", String(64), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("enqueued_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("cause", name="uq_inbox_cause"),
    Index("ix_inbox_pending", "enqueued_at", "id"),
)
