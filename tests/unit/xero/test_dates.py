"""Xero's date formats."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from kommo_xero.xero.dates import (
    format_if_modified_since,
    parse_iso_utc,
    parse_ms_datetime,
    parse_xero_date,
    parse_xero_datetime,
)


def test_ms_date_with_zero_offset_is_utc_instant() -> None:
    """`/Date(1784505600000+0000)/` is 2026-07-20 00:00 UTC, as in Xero's examples."""
    assert parse_ms_datetime("/Date(1784505600000+0000)/") == datetime(2026, 7, 20, tzinfo=UTC)


def test_ms_date_without_offset_keeps_milliseconds() -> None:
    """The envelope form without offset parses, milliseconds included."""
    parsed = parse_ms_datetime("/Date(1552327126117)/")
    assert parsed == datetime(2019, 3, 11, 17, 58, 46, 117000, tzinfo=UTC)


def test_negative_ms_date_is_before_1970() -> None:
    """Pre-1970 data comes as a negative count of milliseconds."""
    assert parse_xero_date("/Date(-80006400000+0000)/") == date(1967, 6, 20)


def test_offset_form_keeps_the_instant_and_reports_the_zone() -> None:
    """An offset expresses the same instant in another zone; it never shifts the instant."""
    parsed = parse_ms_datetime("/Date(1784505600000+1300)/")
    assert parsed == datetime(2026, 7, 20, tzinfo=UTC)
    assert parsed.utcoffset() == timedelta(hours=13)
    assert parsed.tzinfo == timezone(timedelta(hours=13))
    negative = parse_ms_datetime("/Date(1784505600000-0530)/")
    assert negative.utcoffset() == -timedelta(hours=5, minutes=30)
    assert negative.date() == date(2026, 7, 19)


@pytest.mark.parametrize("text", ["2026-07-20", "2026-07-20T00:00:00", "/Date(1784505600000)/"])
def test_calendar_dates_in_every_accepted_form(text: str) -> None:
    """Dates parse from ISO date, ISO date-time and MS-JSON forms alike."""
    assert parse_xero_date(text) == date(2026, 7, 20)


def test_iso_without_zone_is_utc_and_seven_fraction_digits_parse() -> None:
    """Webhook and connection timestamps lack a zone (UTC) and may carry 7 fraction digits."""
    assert parse_iso_utc("2019-12-07T18:46:19.5165400") == datetime(
        2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC
    )
    assert parse_xero_datetime("2026-07-20T03:35:42Z") == datetime(
        2026, 7, 20, 3, 35, 42, tzinfo=UTC
    )


def test_garbage_is_rejected() -> None:
    """Text that is no Xero date raises ValueError rather than yielding a wrong date."""
    with pytest.raises(ValueError):
        parse_ms_datetime("/Date(abc)/")


def test_if_modified_since_is_utc_without_zone() -> None:
    """If-Modified-Since goes out as UTC `yyyy-mm-ddThh:mm:ssZ`, converted from any zone."""
    moment = datetime(2026, 7, 20, 12, 30, 5, 999, tzinfo=timezone(timedelta(hours=2)))
    assert format_if_modified_since(moment) == "2026-07-20T10:30:05Z"
