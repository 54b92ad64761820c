"""Xero's date formats, in and out.

Xero answers with Microsoft-JSON dates (`/Date(1784505600000+0000)/`, sometimes without the
offset, sometimes negative for pre-1970 data), ISO strings without a zone (webhooks,
connections) and takes plain `YYYY-MM-DD` for request dates.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

_MS_DATE = re.compile(r"^/Date\((?P<ms>-?\d+)(?P<offset>[+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_ms_datetime(value: str) -> datetime:
    """`/Date(ms[+hhmm])/` → aware datetime.

    The milliseconds count from the Unix epoch in UTC; the optional offset only says which
    zone to express that instant in (the .NET convention), so it never shifts the instant.
    """
    match = _MS_DATE.match(value.strip())
    if match is None:
        raise ValueError(f"not a Xero /Date(...)/ value: {value!r}")
    instant = _EPOCH + timedelta(milliseconds=int(match["ms"]))
    offset = match["offset"]
    if not offset or offset in ("+0000", "-0000"):
        return instant
    sign = 1 if offset[0] == "+" else -1
    delta = timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5]))
    return instant.astimezone(timezone(sign * delta))


def parse_iso_utc(value: str) -> datetime:
    """ISO-8601 text → aware datetime; text without a zone is UTC (Xero's convention)."""
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Python 3.11 accepts at most 6 fractional digits; Xero's identity API sends 7.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_xero_datetime(value: str | datetime) -> datetime:
    """Any timestamp Xero sends (MS-JSON or ISO) → aware datetime."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if value.strip().startswith("/Date("):
        return parse_ms_datetime(value)
    return parse_iso_utc(value)


def parse_xero_date(value: str | date) -> date:
    """A calendar date Xero sends (`/Date(ms+0000)/`, `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ss`)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip()
    if text.startswith("/Date("):
        return parse_ms_datetime(text).date()
    return date.fromisoformat(text[:10])


def format_request_date(day: date) -> str:
    """Request bodies take dates as `YYYY-MM-DD`."""
    return day.isoformat()


def format_if_modified_since(moment: datetime) -> str:
    """`If-Modified-Since` in UTC, `yyyy-mm-ddThh:mm:ssZ`.

    Xero's docs show a zone-less UTC value while the OpenAPI spec types the header as an
    RFC 3339 date-time; the explicit `Z` satisfies both readings.
    """
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
