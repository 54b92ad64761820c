"""Key handling, expiry warnings and the pure checks of setup/doctor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from kommo_xero.connections.checks import FAIL, OK, WARN
from kommo_xero.connections.checks_xero import check_currencies, check_scopes
from kommo_xero.connections.crypto import SECRET_KEY_ENV, SecretKeyError, load_secret_box
from kommo_xero.connections.records import ACTIVE, OAUTH, PAUSED, Credential
from kommo_xero.connections.status import expiry_alert

NOW = datetime(2026, 6, 1, tzinfo=UTC)


def _oauth(service: str, refreshed_days_ago: int, status: str = ACTIVE) -> Credential:
    return Credential(
        "c",
        service,
        OAUTH,
        status,
        "a",
        "r",
        NOW,
        refreshed_at=NOW - timedelta(days=refreshed_days_ago),
    )


def test_generated_key_is_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The key generated on first use decrypts what was encrypted, in a later process too."""
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    sealed = load_secret_box(tmp_path).encrypt("token-value")
    assert sealed is not None and "token-value" not in sealed
    assert load_secret_box(tmp_path).decrypt(sealed) == "token-value"


def test_env_key_rotation_keeps_old_tokens_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With NEW,OLD in the variable, tokens sealed with OLD still open."""
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    monkeypatch.setenv(SECRET_KEY_ENV, old)
    sealed = load_secret_box(tmp_path).encrypt("t")
    monkeypatch.setenv(SECRET_KEY_ENV, f"{new},{old}")
    assert load_secret_box(tmp_path).decrypt(sealed) == "t"
    monkeypatch.setenv(SECRET_KEY_ENV, new)
    with pytest.raises(SecretKeyError) as wrong:
        load_secret_box(tmp_path).decrypt(sealed)
    assert new not in str(wrong.value) and old not in str(wrong.value)


def test_malformed_env_key_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable that is not a Fernet key gets a message saying how to make one."""
    monkeypatch.setenv(SECRET_KEY_ENV, "not-a-key")
    with pytest.raises(SecretKeyError, match="generate one"):
        load_secret_box(tmp_path)


def test_xero_refresh_token_warns_two_weeks_before_60_days() -> None:
    """Xero: quiet at 45 days unused, a warning at 47, an error past 60."""
    assert expiry_alert(_oauth("xero", 45), NOW) is None
    warning = expiry_alert(_oauth("xero", 47), NOW)
    assert warning is not None and warning.level == "warning" and "60 days" in warning.message
    expired = expiry_alert(_oauth("xero", 61), NOW)
    assert expired is not None and expired.level == "error"


def test_kommo_refresh_token_lasts_three_months() -> None:
    """Kommo: no warning at 60 days unused, a warning at 80, an error past 90."""
    assert expiry_alert(_oauth("kommo", 60), NOW) is None
    warning = expiry_alert(_oauth("kommo", 80), NOW)
    assert warning is not None and warning.level == "warning"
    assert expiry_alert(_oauth("kommo", 91), NOW).level == "error"  # type: ignore[union-attr]


def test_paused_credential_reports_paused() -> None:
    """A paused credential says so."""
    assert _oauth("xero", 1, PAUSED).paused


def test_currency_check_tells_in_use_from_merely_offered() -> None:
    """A disabled currency in use fails; one only offered in Kommo is a warning."""
    assert check_currencies({"USD", "EUR"}, {"USD", "EUR"}, ["USD"]).status == OK
    failed = check_currencies({"USD"}, {"USD", "EUR"}, [])
    assert failed.status == FAIL and "EUR" in failed.detail
    warned = check_currencies({"USD"}, {"USD"}, ["USD", "NZD"])
    assert warned.status == WARN and "NZD" in warned.detail


def test_scope_check_accepts_granular_and_legacy_sets() -> None:
    """Granular and legacy grants both pass; a grant without invoices fails naming it."""
    granular = (
        "offline_access accounting.invoices accounting.payments.read accounting.contacts "
        "accounting.settings.read"
    )
    legacy = "offline_access accounting.transactions accounting.contacts accounting.settings"
    assert check_scopes(granular, oauth=True).status == OK
    assert check_scopes(legacy, oauth=True).status == OK
    lacking = check_scopes("offline_access accounting.contacts accounting.settings", oauth=True)
    assert lacking.status == FAIL and "invoices" in lacking.detail
    assert (
        "offline_access"
        in check_scopes(
            "accounting.transactions accounting.contacts accounting.settings", oauth=True
        ).detail
    )
