"""Settings: a TOML file plus `KOMMO_XERO_*` environment variables (secrets belong in the env).

Environment variables override the file; nested keys use a double underscore, e.g.
`KOMMO_XERO_KOMMO__TOKEN` or `KOMMO_XERO_MAPPING__ACCOUNT_CODE`. `load_settings` turns a
validation failure into `ConfigError`, whose message names each bad key and what is wrong.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

CONFIG_ENV = "KOMMO_XERO_CONFIG"
SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"


class ConfigError(Exception):
    """The configuration is invalid; the message names the key(s) and the problem."""


class ServiceSettings(BaseModel):
    # A misspelt key is an error naming it, not a setting silently left at its default.
    model_config = {"extra": "forbid"}

    public_url: str = "http://127.0.0.1:8100"
    host: str = "127.0.0.1"
    port: int = 8100
    data_dir: Path = Path("data")
    # One database holds the engine's tables and ours: a SQLite file by default, or PostgreSQL.
    database_url: str | None = None
    executor_id: str = Field(default_factory=lambda: os.environ.get("DBOS__VMID", "local"))
    # Queue concurrency per Xero tenant: Xero allows 5 calls in flight per organisation.
    xero_concurrency: int = 5
    log_format: Literal["auto", "json", "console"] = "auto"
    # Reconciliation (Kommo events, Xero If-Modified-Since) runs this often; 0 turns it off.
    # Must divide a minute (1-30 s) or an hour (1-60 min) so that it fits a cron schedule.
    reconcile_interval_s: int = Field(default=300, ge=0, le=3600)
    # During a burst, invoice links and PDFs wait (up to this long each) while deals of the
    # same connection still wait for their invoice; 0 sends them at once.
    documents_yield_s: float = Field(default=120.0, ge=0, le=3600)

    @field_validator("reconcile_interval_s")
    @classmethod
    def _fits_a_cron(cls, value: int) -> int:
        fits = value == 0 or (value < 60 and 60 % value == 0)
        fits = fits or (value % 60 == 0 and 60 % (value // 60) == 0)
        if not fits:
            raise ValueError(
                "must be 0 (off), a divisor of 60 seconds (e.g. 10, 30) or a whole number of "
                "minutes dividing an hour (e.g. 60, 300, 900)"
            )
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kommo-xero.sqlite').as_posix()}"


class KommoSettings(BaseModel):
    model_config = {"extra": "forbid"}

    base_url: str = "http://127.0.0.1:8101"
    token: SecretStr | None = None  # long-lived token; OAuth tokens live in the token store
    client_id: str | None = None
    client_secret: SecretStr | None = None
    # Unguessable path segment of the webhook URL: /webhooks/kommo/{webhook_secret}. The
    # default is the sandbox's, public by design, and refused for a real Kommo account.
    webhook_secret: SecretStr = SecretStr(SANDBOX_WEBHOOK_SECRET)

    @model_validator(mode="after")
    def _real_accounts_need_their_own_secret(self) -> KommoSettings:
        local = self.base_url.startswith(("http://127.0.0.1", "http://localhost"))
        secret = self.webhook_secret.get_secret_value()
        if not local and (secret == SANDBOX_WEBHOOK_SECRET or len(secret) < 16):
            raise ValueError(
                "webhook_secret must be your own random value of 16+ characters for a real "
                "Kommo account (e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))')"
                "; set KOMMO_XERO_KOMMO__WEBHOOK_SECRET (for a [[connections]] entry: "
                "KOMMO_XERO_CONNECTION_<NAME>__KOMMO__WEBHOOK_SECRET)"
            )
        return self

    account_id: int | None = None  # filled from the API when missing
    # Kommo allows 7 a second; 5, evenly spaced, leaves room for network jitter (one gap of
    # 200 ms) so that the server never counts more than 7 in any second.
    requests_per_second: int = Field(default=5, ge=1, le=1000)


class XeroSettings(BaseModel):
    model_config = {"extra": "forbid"}

    base_url: str = "https://api.xero.com"
    identity_url: str = "https://identity.xero.com"
    login_url: str = "https://login.xero.com"
    auth: Literal["client_credentials", "oauth"] = "client_credentials"
    client_id: str | None = None
    client_secret: SecretStr | None = None
    tenant_id: str | None = None
    webhook_key: SecretStr | None = None
    calls_per_minute: int = Field(default=55, ge=1)
    calls_per_day: int = Field(default=4800, ge=1)
    # Calls that may leave back to back; after them, calls are spaced at the per-minute pace.
    # A lone deal's few calls go at once; in a burst, batches fill while calls are spaced
    # (decision 0008). Set it to calls_per_minute to allow the whole minute at once.
    burst_calls: int = Field(default=10, ge=1)

    @model_validator(mode="after")
    def _budgets_nest(self) -> XeroSettings:
        if self.calls_per_day > self.calls_per_minute * 1440:
            raise ValueError("calls_per_day cannot be more than calls_per_minute × 1440")
        return self


class MappingSettings(BaseModel):
    model_config = {"extra": "forbid"}

    trigger_pipeline: str = "Sales"  # name or numeric id
    trigger_stage: str = "Payment Approved"  # name or numeric id
    description_field: str = "Service description"
    currency_field: str | None = "Currency"
    due_date_field: str | None = "Due date"
    default_currency: str | None = None  # None: the Xero organisation's base currency
    account_code: str = "200"
    tax_type: str = "NONE"
    invoice_status: Literal["DRAFT", "AUTHORISED"] = "AUTHORISED"
    due_days: int = Field(default=14, ge=0, le=365)
    line_amount_types: Literal["Exclusive", "Inclusive", "NoTax"] = "Exclusive"
    reference_template: str = "Kommo deal {lead_id}"
    bill_to: Literal["main_contact", "company"] = "main_contact"
    attach_pdf: bool = True
    batch_window_ms: int = Field(default=150, ge=0, le=5000)
    batch_size: int = Field(default=50, ge=1, le=50)
    # During a burst, a connection's invoice batches leave at least this far apart (unless a
    # full batch waits), whichever process sends them; after a quiet spell a deal goes at once.
    batch_spacing_ms: int = Field(default=2000, ge=0, le=60_000)
    # Flow B: optional stage moves (name or id, in the trigger pipeline) when an invoice is
    # paid or voided in Xero. None leaves the deal where it is.
    paid_stage: str | None = None
    voided_stage: str | None = None
    # Flow C: where deals made from hand-made Xero invoices go (None: the pipeline's first
    # ordinary stage). Never the trigger stage, or the new deal would ask for a second invoice.
    invoice_deal_pipeline: str | None = None  # None: trigger_pipeline
    invoice_deal_stage: str | None = None
    # "approved": drafts make no deal until approved; "created": every new sales invoice does.
    create_deals_on: Literal["created", "approved"] = "approved"

    @field_validator("reference_template")
    @classmethod
    def _template_names_known_fields(cls, value: str) -> str:
        try:
            value.format(lead_id=1, lead_name="x", contact_name="x")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"unknown placeholder {exc}; use {{lead_id}}, {{lead_name}} or {{contact_name}}"
            ) from exc
        return value


class ConnectionSettings(BaseModel):
    """One Kommo account ↔ Xero organisation pair of a deployment with several."""

    model_config = {"extra": "forbid"}

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9_.-]+$")
    kommo: KommoSettings = KommoSettings()
    xero: XeroSettings = XeroSettings()
    mapping: MappingSettings = MappingSettings()


# Secrets of a [[connections]] entry may come from the environment instead of the file, as
# KOMMO_XERO_CONNECTION_<NAME>__<SECTION>__<KEY> (NAME upper-cased, other than A-Z/0-9 → _).
CONNECTION_SECRETS = (
    ("kommo", "token"),
    ("kommo", "client_secret"),
    ("kommo", "webhook_secret"),
    ("xero", "client_secret"),
    ("xero", "webhook_key"),
)


def connection_env_var(name: str, section: str, key: str) -> str:
    """The environment variable that holds `section.key` of connection `name`."""
    tag = re.sub(r"[^A-Z0-9]", "_", name.upper())
    return f"KOMMO_XERO_CONNECTION_{tag}__{section.upper()}__{key.upper()}"


def _connection_with_env_secrets(raw: Any) -> Any:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        return raw
    merged = dict(raw)
    for section, key in CONNECTION_SECRETS:
        value = os.environ.get(connection_env_var(raw["name"], section, key))
        if value is not None:
            merged[section] = {**dict(merged.get(section) or {}), key: value}
    return merged


class Settings(BaseSettings):
    """Everything the service needs; see docs/configuration.md and kommo-xero.example.toml."""

    model_config = SettingsConfigDict(
        env_prefix="KOMMO_XERO_", env_nested_delimiter="__", extra="forbid"
    )

    connection_name: str = "default"
    service: ServiceSettings = ServiceSettings()
    kommo: KommoSettings = KommoSettings()
    xero: XeroSettings = XeroSettings()
    mapping: MappingSettings = MappingSettings()
    # Several connections in one deployment ([[connections]] tables). When empty, the
    # top-level connection_name/kommo/xero/mapping are the one connection.
    connections: list[ConnectionSettings] = []

    @model_validator(mode="before")
    @classmethod
    def _connection_secrets_from_env(cls, data: Any) -> Any:
        # Before validation, so a secret given only in the environment satisfies the checks.
        if isinstance(data, dict) and isinstance(data.get("connections"), list):
            data = {
                **data,
                "connections": [_connection_with_env_secrets(c) for c in data["connections"]],
            }
        return data

    @field_validator("connections")
    @classmethod
    def _names_unique(cls, value: list[ConnectionSettings]) -> list[ConnectionSettings]:
        names = [c.name for c in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"connection names must be unique; repeated: {', '.join(repeated)}")
        # Kommo webhooks find their connection by the secret in the URL.
        secrets = [c.kommo.webhook_secret.get_secret_value() for c in value]
        if len(set(secrets)) != len(secrets):
            raise ValueError("each connection needs its own kommo.webhook_secret")
        return value

    def connection_settings(self) -> list[Settings]:
        """One Settings per connection, each shaped like a single-connection deployment
        (its own connection_name, kommo, xero, mapping; the shared service section)."""
        if not self.connections:
            return [self]
        return [
            self.model_copy(
                update={
                    "connection_name": c.name,
                    "kommo": c.kommo,
                    "xero": c.xero,
                    "mapping": c.mapping,
                    "connections": [],
                }
            )
            for c in self.connections
        ]

    def for_connection(self, name: str | None) -> Settings:
        """The settings of connection `name` (None: the only or first one)."""
        each = self.connection_settings()
        if name is None:
            return each[0]
        for one in each:
            if one.connection_name == name:
                return one
        known = ", ".join(s.connection_name for s in each)
        raise ConfigError(f"no connection named {name!r} (configured: {known})")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = os.environ.get(CONFIG_ENV)
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(path)))
        return tuple(sources)


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        key = ".".join(str(p) for p in error["loc"]) or "(top level)"
        lines.append(f"  {key}: {error['msg']}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from `path` (or $KOMMO_XERO_CONFIG) and the environment."""
    previous = os.environ.get(CONFIG_ENV)
    if path is not None:
        if not Path(path).is_file():
            raise ConfigError(f"config file {path} does not exist")
        os.environ[CONFIG_ENV] = str(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except (OSError, ValueError) as exc:  # unreadable or malformed TOML
        raise ConfigError(f"cannot read configuration: {exc}") from None
    finally:
        if path is not None:
            if previous is None:
                os.environ.pop(CONFIG_ENV, None)
            else:
                os.environ[CONFIG_ENV] = previous
