"""Settings: the documented example loads, env wins over the file, bad values name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from kommo_xero.config import ConfigError, load_settings

ROOT = Path(__file__).resolve().parents[3]


def test_example_file_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    """The example config loads once the secrets it points to the environment for are set."""
    monkeypatch.setenv("KOMMO_XERO_KOMMO__WEBHOOK_SECRET", "x" * 32)
    settings = load_settings(ROOT / "kommo-xero.example.toml")
    assert "Payment Approved" == settings.mapping.trigger_stage
    assert "https://yourcompany.kommo.com" == settings.kommo.base_url


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A KOMMO_XERO_* variable wins over the same key in the TOML file."""
    path = tmp_path / "k.toml"
    path.write_text('[mapping]\naccount_code = "200"\n')
    monkeypatch.setenv("KOMMO_XERO_MAPPING__ACCOUNT_CODE", "260")
    assert "260" == load_settings(path).mapping.account_code


def test_invalid_values_are_reported_with_their_keys(tmp_path: Path) -> None:
    """Every invalid key is named in the error, with what is wrong."""
    path = tmp_path / "k.toml"
    path.write_text('[mapping]\ndue_days = -3\ninvoice_status = "PAID"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert "mapping.due_days" in message
    assert "mapping.invoice_status" in message


def test_unknown_keys_are_refused(tmp_path: Path) -> None:
    """A misspelt section is an error, not silently ignored."""
    path = tmp_path / "k.toml"
    path.write_text('[mappings]\naccount_code = "200"\n')
    with pytest.raises(ConfigError, match="mappings"):
        load_settings(path)


def test_reference_template_placeholders_are_checked(tmp_path: Path) -> None:
    """A reference template with an unknown placeholder fails at start, naming it."""
    path = tmp_path / "k.toml"
    path.write_text('[mapping]\nreference_template = "Deal {deal_id}"\n')
    with pytest.raises(ConfigError, match="deal_id"):
        load_settings(path)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """Pointing at a file that does not exist says so."""
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_real_account_needs_its_own_webhook_secret(tmp_path: Path) -> None:
    """The public sandbox secret is refused for a real Kommo account, naming the key."""
    path = tmp_path / "k.toml"
    path.write_text('[kommo]\nbase_url = "https://acme.kommo.com"\n')
    with pytest.raises(ConfigError, match="kommo"):
        load_settings(path)
