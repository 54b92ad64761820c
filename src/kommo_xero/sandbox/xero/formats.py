"""Xero's wire formats: MS-JSON dates, money with 2 dp, the response envelope."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")


def to_ms(moment: datetime) -> int:
    return int((moment - EPOCH) / timedelta(milliseconds=1))


def ms_date(day: date) -> str:
    """`/Date(ms+0000)/` for a calendar date at 00:00 UTC (Date, DueDate, FullyPaidOnDate)."""
    return f"/Date({to_ms(datetime(day.year, day.month, day.day, tzinfo=UTC))}+0000)/"


def ms_datetime(moment: datetime) -> str:
    """`/Date(ms+0000)/` with millisecond precision (UpdatedDateUTC)."""
    return f"/Date({to_ms(moment)}+0000)/"


def envelope_stamp(moment: datetime) -> str:
    """The envelope's DateTimeUTC carries no offset suffix."""
    return f"/Date({to_ms(moment)})/"


def date_string(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def utc_string(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_date(value: Any) -> date | None:
    """Accept what clients send: YYYY-MM-DD, an ISO date-time, /Date(ms)/, /Date(ms+hhmm)/."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    match = _MS_DATE.match(value.strip())
    if match:
        moment = EPOCH + timedelta(milliseconds=int(match.group(1)))
        return moment.date()
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).date()
    except ValueError:
        raise ValueError(f"not a date: {value!r}") from None


def parse_timestamp(value: str) -> datetime:
    """If-Modified-Since: ISO with or without zone (no zone = UTC), or an HTTP date."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        from email.utils import parsedate_to_datetime

        moment = parsedate_to_datetime(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def to_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a number: {value!r}") from None


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def num(value: Decimal, places: Decimal = CENT) -> float:
    """JSON number for an amount; Decimal internally so sums never drift."""
    return float(value.quantize(places, rounding=ROUND_HALF_UP))


def new_id() -> str:
    return str(uuid.uuid4())


def envelope(provider: str, now: datetime, key: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "Id": new_id(),
        "Status": "OK",
        "ProviderName": provider,
        "DateTimeUTC": envelope_stamp(now),
        key: items,
    }


def validation_exception(elements: list[dict[str, Any]]) -> dict[str, Any]:
    """The 400 body Xero sends when any element of a summarised write fails (§8.1)."""
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": elements,
    }


def problem(status: int, title: str, detail: str) -> dict[str, Any]:
    """ProblemDetails body of identity-level 401/403 answers (§8.2)."""
    return {
        "Type": None,
        "Title": title,
        "Status": status,
        "Detail": detail,
        "Instance": new_id(),
        "Extensions": {},
    }
