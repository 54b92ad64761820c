"""Several connections in one settings file, and the single-connection form unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from kommo_xero.config import ConfigError, load_settings

TWO = """
[service]
database_url = "postgresql://kx@db/kx"

[[connections]]
name = "acme"
[connections.kommo]
base_url = "https://acme.kommo.com"
webhook_secret = "acme-secret-acme-secret-acme-secret"
[connections.xero]
tenant_id = "t-acme"
[connections.mapping]
trigger_stage = "Approved"

[[connections]]
name = "globex"
[connections.kommo]
base_url = "https://globex.kommo.com"
webhook_secret = "globex-secret-globex-secret-globex"
[connections.xero]
tenant_id = "t-globex"
"""


def test_each_connection_gets_its_own_sections_and_the_shared_service(tmp_path: Path) -> None:
    """[[connections]] become one settings per connection, sharing [service]."""
    path = tmp_path / "k.toml"
    path.write_text(TWO)
    each = load_settings(path).connection_settings()
    assert [s.connection_name for s in each] == ["acme", "globex"]
    assert [s.kommo.base_url for s in each] == [
        "https://acme.kommo.com",
        "https://globex.kommo.com",
    ]
    assert [s.xero.tenant_id for s in each] == ["t-acme", "t-globex"]
    assert [s.mapping.trigger_stage for s in each] == ["Approved", "Payment Approved"]
    assert {s.service.database_url for s in each} == {"postgresql://kx@db/kx"}


def test_without_connections_the_top_level_sections_are_the_one_connection(
    tmp_path: Path,
) -> None:
    """The single-connection form keeps working: it is the only connection."""
    path = tmp_path / "k.toml"
    path.write_text(
        'connection_name = "solo"\n[kommo]\nbase_url = "https://solo.kommo.com"\n'
        'webhook_secret = "solo-secret-solo-secret-solo-secret"\n'
    )
    settings = load_settings(path)
    [only] = settings.connection_settings()
    assert only.connection_name == "solo"
    assert settings.for_connection(None).kommo.base_url == "https://solo.kommo.com"


def test_a_connection_is_chosen_by_name_and_an_unknown_name_is_refused(tmp_path: Path) -> None:
    """--connection NAME picks that connection; a name not configured lists the known ones."""
    path = tmp_path / "k.toml"
    path.write_text(TWO)
    settings = load_settings(path)
    assert settings.for_connection("globex").xero.tenant_id == "t-globex"
    assert settings.for_connection(None).connection_name == "acme"
    with pytest.raises(ConfigError, match="acme, globex"):
        settings.for_connection("initech")


def test_two_connections_with_one_name_are_refused(tmp_path: Path) -> None:
    """Connection names must be unique (they key every row and queue partition)."""
    path = tmp_path / "k.toml"
    path.write_text(TWO.replace('name = "globex"', 'name = "acme"'))
    with pytest.raises(ConfigError, match="repeated: acme"):
        load_settings(path)


def test_two_connections_with_one_webhook_secret_are_refused(tmp_path: Path) -> None:
    """Kommo webhooks are routed by the secret in their URL, so each must be its own."""
    path = tmp_path / "k.toml"
    path.write_text(
        TWO.replace("globex-secret-globex-secret-globex", "acme-secret-acme-secret-acme-secret")
    )
    with pytest.raises(ConfigError, match="webhook_secret"):
        load_settings(path)


def test_connection_secrets_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A [[connections]] entry without secrets in the file takes them from its env vars."""
    path = tmp_path / "k.toml"
    path.write_text(TWO.replace('webhook_secret = "globex-secret-globex-secret-globex"\n', ""))
    monkeypatch.setenv(
        "KOMMO_XERO_CONNECTION_GLOBEX__KOMMO__WEBHOOK_SECRET", "globex-from-env-globex-from-env"
    )
    monkeypatch.setenv("KOMMO_XERO_CONNECTION_GLOBEX__XERO__CLIENT_SECRET", "xero-secret-globex")
    monkeypatch.setenv("KOMMO_XERO_CONNECTION_ACME__KOMMO__TOKEN", "acme-long-lived-token")
    acme, globex = load_settings(path).connection_settings()
    assert "globex-from-env-globex-from-env" == globex.kommo.webhook_secret.get_secret_value()
    assert globex.xero.client_secret is not None
    assert "xero-secret-globex" == globex.xero.client_secret.get_secret_value()
    assert acme.kommo.token is not None
    assert "acme-long-lived-token" == acme.kommo.token.get_secret_value()
    # The file's values stay where no variable is set.
    assert "acme-secret-acme-secret-acme-secret" == acme.kommo.webhook_secret.get_secret_value()
    assert acme.xero.client_secret is None


def test_a_missing_connection_secret_names_its_variable(tmp_path: Path) -> None:
    """Without the file value or the variable, the error says which variable to set."""
    path = tmp_path / "k.toml"
    path.write_text(TWO.replace('webhook_secret = "globex-secret-globex-secret-globex"\n', ""))
    with pytest.raises(ConfigError, match=r"connections\.1\.kommo.*KOMMO_XERO_CONNECTION_<NAME>__"):
        load_settings(path)
