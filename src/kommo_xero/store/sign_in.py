"""Wrong dashboard passwords, counted in the shared database (see tables.sign_in_failures)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from kommo_xero.store.tables import sign_in_failures

ACCOUNT = "admin"
_ROW = sign_in_failures.c.account == ACCOUNT


class SignInFailures:
    """The failure count and lock of the admin account, the same for every process."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def locked_until(self) -> float:
        with self.engine.begin() as conn:
            found = conn.execute(select(sign_in_failures.c.locked_until).where(_ROW)).scalar()
            return float(found or 0.0)

    def failed(self, now: float, max_failures: int, lockout_seconds: float) -> None:
        """Count one wrong password; the `max_failures`-th in a row locks until now + lockout."""
        self._ensure_row()
        with self.engine.begin() as conn:
            # Row-locked: two processes counting at once both count.
            query = select(sign_in_failures.c.failures).where(_ROW).with_for_update()
            failures = int(conn.execute(query).scalar_one()) + 1
            values: dict[str, Any] = {"failures": failures}
            if failures >= max_failures:
                values = {"failures": 0, "locked_until": now + lockout_seconds}
            conn.execute(update(sign_in_failures).where(_ROW).values(**values))

    def succeeded(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(sign_in_failures).where(_ROW).values(failures=0))

    def _ensure_row(self) -> None:
        try:
            with self.engine.begin() as conn:
                if conn.execute(select(sign_in_failures.c.account).where(_ROW)).first() is None:
                    conn.execute(
                        insert(sign_in_failures).values(
                            account=ACCOUNT, failures=0, locked_until=0.0
                        )
                    )
        except IntegrityError:
            pass  # another process made it first
