"""Recorded Kommo webhook bodies, rewritten to point at the sandbox account and its deals."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "kommo"
SANDBOX_ACCOUNT = 30000001
TRIGGER_STATUS = 63459811
SALES_PIPELINE = 7712003

# leads[status][0][id], contacts[add][1][id], ...
_ENTITY_ID = re.compile(r"^(leads|contacts)\[(\w+)\]\[(\d+)\]\[id\]$")
_ACCOUNT_ID = re.compile(r"^(account\[id\]|\w+\[\w+\]\[\d+\]\[account_id\])$")


def fixture_names() -> list[str]:
    return sorted(
        p.name for p in FIXTURES.glob("*.txt") if p.name.startswith(("webhook_", "parser_"))
    )


def read_body(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def lead_ids(body: str) -> list[int]:
    """The lead ids a body names, in order."""
    ids = []
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _ENTITY_ID.match(key)
        if match and match.group(1) == "leads":
            ids.append(int(value))
    return ids


def rewrite(
    body: str,
    *,
    account_id: int | None = SANDBOX_ACCOUNT,
    leads: dict[int, int] | None = None,
    status_id: int | None = None,
) -> str:
    """The same body (same key order) with the account, lead ids or stage replaced."""
    pairs = []
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _ENTITY_ID.match(key)
        if account_id is not None and _ACCOUNT_ID.match(key):
            value = str(account_id)
        elif match and match.group(1) == "leads" and leads and int(value) in leads:
            value = str(leads[int(value)])
        elif status_id is not None and re.match(r"^leads\[\w+\]\[\d+\]\[status_id\]$", key):
            value = str(status_id)
        pairs.append((key, value))
    return urlencode(pairs)
