"""Tables for connections: encrypted credentials and pending OAuth consents.

They hang off the same `metadata` as the other app tables so one Alembic history covers
all of them. Token columns hold Fernet ciphertext only; nothing here is readable without
the secret key.
"""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, String, Table, Text, text

from kommo_xero.store.tables import metadata

# One row per (connection, service): how we authenticate to Kommo or Xero right now.
credentials = Table(
    "credentials",
    metadata,
    Column("connection_id", String(64), primary_key=True),
    Column("service", String(8), primary_key=True),  # "kommo" | "xero"
    Column("kind", String(24), nullable=False),  # oauth | long_lived | client_credentials
    Column("status", String(16), nullable=False),  # active | paused
    Column("access_token", Text, nullable=True),  # ciphertext
    Column("refresh_token", Text, nullable=True),  # ciphertext
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("scope", Text, nullable=True),
    Column("tenant_id", String(64), nullable=True),
    Column("tenant_name", String(255), nullable=True),
    Column("tenants", Text, nullable=True),  # JSON: organisations offered by the consent
    # When the current refresh token was issued: both services expire idle refresh tokens.
    Column("refreshed_at", DateTime(timezone=True), nullable=True),
    # Set when a refresh was sent but no answer came back: the old refresh token may have
    # been spent, and Xero only replays it for a grace period counted from here.
    Column("refresh_in_doubt_since", DateTime(timezone=True), nullable=True),
    Column("rotations", Integer, nullable=False, server_default=text("0")),
    Column("pause_reason", Text, nullable=True),
    Column("paused_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# A consent in progress. Only a hash of the `state` value is kept: the callback proves it
# holds the original, and a database reader cannot forge a callback.
oauth_states = Table(
    "oauth_states",
    metadata,
    Column("state_hash", String(64), primary_key=True),
    Column("connection_id", String(64), nullable=False),
    Column("service", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | choose_tenant | failed
    Column("scope", Text, nullable=True),
    Column("outcome", Text, nullable=True),  # what the person is told; never a secret
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Index("ix_oauth_states_connection", "connection_id", "service", "created_at"),
)
