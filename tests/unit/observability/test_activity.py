"""This process's webhook counts are shared per connection and minute; a worker shares nothing."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from kommo_xero.observability import record_webhook
from kommo_xero.observability.activity import ActivityPublisher
from kommo_xero.observability.metrics import MinuteCount, recent_by_minute

pytestmark = pytest.mark.anyio


class Shared:
    """Stands in for the database table: keeps what was published."""

    def __init__(self) -> None:
        self.published: list[list[MinuteCount]] = []

    def publish(self, counts: Sequence[MinuteCount]) -> None:
        self.published.append(list(counts))


async def test_counts_of_the_connection_are_published_on_stop() -> None:
    """Webhooks recorded for a connection reach the shared table when the process stops."""
    shared = Shared()
    publisher = ActivityPublisher(shared.publish, every=3600)
    publisher.start()
    record_webhook("xero", "accepted", ["activity-test"])
    record_webhook("xero", "ignored", ["activity-test"])
    await publisher.stop()
    mine = [c for c in shared.published[-1] if c.connection_id == "activity-test"]
    assert [(c.source, c.count) for c in mine] == [("xero", 2)]


def test_a_webhook_with_no_connection_is_not_attributed() -> None:
    """A webhook no connection could claim (wrong URL, bad signature) counts for none."""
    before = sum(c.count for c in recent_by_minute())
    record_webhook("kommo", "unknown_url")
    assert sum(c.count for c in recent_by_minute()) == before
