"""invoice_orders: invoice requests waiting for their connection's next batch

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "invoice_orders",
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.String(length=64), nullable=False),
        sa.Column("request_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("link_id"),
    )
    op.create_index(
        "ix_invoice_orders_connection",
        "invoice_orders",
        ["connection_id", "created_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_invoice_orders_connection", table_name="invoice_orders")
    op.drop_table("invoice_orders")
