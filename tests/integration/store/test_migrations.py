"""The Alembic migrations build exactly the tables the code declares."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from kommo_xero.store.db import migrate
from kommo_xero.store.tables import metadata


def test_a_migrated_database_matches_the_declared_tables(tmp_path: Path) -> None:
    """`kommo-xero migrate` on an empty database leaves nothing for autogenerate to add."""
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    migrate(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    # Alembic's own version table is the only table the declarations do not list.
    assert [d for d in differences if d[1].name != "kommo_xero_alembic_version"] == []
