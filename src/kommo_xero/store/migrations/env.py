"""Alembic environment: runs the app-table migrations on the configured URL."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from kommo_xero.store import token_tables  # noqa: F401  (registers its tables on metadata)
from kommo_xero.store.tables import metadata

config = context.config


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url must be set"
    engine = create_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            version_table="kommo_xero_alembic_version",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations_online()
