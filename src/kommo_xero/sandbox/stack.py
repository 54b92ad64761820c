"""The whole sandbox on loopback: both simulators and the service, wired together.

Used by `kommo-xero demo`, by the integration tests and by the benchmarks, so that all
three exercise the same wiring a user gets.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel, SecretStr

from kommo_xero.config import (
    KommoSettings,
    MappingSettings,
    ServiceSettings,
    Settings,
    XeroSettings,
)
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.kommo import create_app as create_kommo_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.sandbox.xero import create_app as create_xero_app

SANDBOX_WEBHOOK_SECRET = "sandbox-webhook-secret"
KOMMO_SANDBOX_TOKEN = "kommo-sandbox-token"
XERO_SANDBOX_CLIENT_ID = "xero-sandbox-client"
XERO_SANDBOX_CLIENT_SECRET = "xero-sandbox-secret"
XERO_SANDBOX_WEBHOOK_KEY = "xero-sandbox-webhook-key"
KOMMO_HOOK_EVENTS = ["add_lead", "update_lead", "status_lead"]
SANDBOX_STAGES = {"paid_stage": "Paid", "voided_stage": "Invoice voided"}


def sandbox_settings(
    data_dir: Path,
    *,
    kommo_url: str,
    xero_url: str,
    service_port: int,
    database_url: str | None = None,
    mapping: dict[str, Any] | None = None,
    executor_id: str = "sandbox",
) -> Settings:
    """Settings that point the service at the simulators with the sandbox credentials."""
    return Settings(
        connection_name="sandbox",
        service=ServiceSettings(
            public_url=f"http://127.0.0.1:{service_port}",
            port=service_port,
            data_dir=data_dir,
            database_url=database_url,
            executor_id=executor_id,
        ),
        kommo=KommoSettings(
            base_url=kommo_url,
            token=SecretStr(KOMMO_SANDBOX_TOKEN),
            webhook_secret=SecretStr(SANDBOX_WEBHOOK_SECRET),
        ),
        xero=XeroSettings(
            base_url=xero_url,
            identity_url=xero_url,
            login_url=xero_url,
            client_id=XERO_SANDBOX_CLIENT_ID,
            client_secret=SecretStr(XERO_SANDBOX_CLIENT_SECRET),
            webhook_key=SecretStr(XERO_SANDBOX_WEBHOOK_KEY),
        ),
        # The sandbox pipeline has "Paid" and "Invoice voided" stages: flow B moves deals there.
        mapping=MappingSettings(**{**SANDBOX_STAGES, **(mapping or {})}),
    )


class _PatientTransport(httpx.HTTPTransport):
    """Waits out Kommo's 429s (the service may have just spent the second's budget)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for _ in range(20):
            response = super().handle_request(request)
            if response.status_code != 429:
                return response
            response.close()
            time.sleep(0.5)
        return response


def register_kommo_webhook(kommo_url: str, service_url: str) -> None:
    """Subscribe the service's webhook URL in Kommo, as `kommo-xero setup` does."""
    destination = f"{service_url}/webhooks/kommo/{SANDBOX_WEBHOOK_SECRET}"
    headers = {"Authorization": f"Bearer {KOMMO_SANDBOX_TOKEN}"}
    transport = _PatientTransport()
    with httpx.Client(
        base_url=kommo_url, headers=headers, timeout=10, transport=transport
    ) as client:
        existing = client.get("/api/v4/webhooks")
        if existing.status_code == 200:
            for hook in existing.json().get("_embedded", {}).get("webhooks", []):
                if hook.get("destination") == destination:
                    return
        client.post(
            "/api/v4/webhooks", json={"destination": destination, "settings": KOMMO_HOOK_EVENTS}
        ).raise_for_status()


def register_xero_webhook(xero_url: str, service_url: str) -> dict[str, Any]:
    """Subscribe the service in the Xero simulator; it runs Intent-to-Receive right away."""
    with httpx.Client(base_url=xero_url, timeout=30) as client:
        answer = client.post(
            "/_sim/webhooks",
            json={"url": f"{service_url}/webhooks/xero", "key": XERO_SANDBOX_WEBHOOK_KEY},
        )
        answer.raise_for_status()
        return dict(answer.json())


@dataclass
class Simulators:
    """Both simulators running, with control clients for their /_sim APIs."""

    kommo: ServerHandle
    xero: ServerHandle
    kommo_sim: httpx.Client = field(init=False)
    xero_sim: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.kommo_sim = httpx.Client(base_url=f"{self.kommo.base_url}/_sim", timeout=30)
        self.xero_sim = httpx.Client(base_url=f"{self.xero.base_url}/_sim", timeout=30)

    def stop(self) -> None:
        self.kommo_sim.close()
        self.xero_sim.close()
        self.kommo.stop()
        self.xero.stop()


def start_simulators(
    *,
    kommo_port: int = 0,
    xero_port: int = 0,
    kommo_config: KommoSimConfig | None = None,
    xero_config: XeroSimConfig | None = None,
) -> Simulators:
    kommo = start_in_thread(create_kommo_app(kommo_config or KommoSimConfig()), port=kommo_port)
    xero = start_in_thread(create_xero_app(xero_config or XeroSimConfig()), port=xero_port)
    return Simulators(kommo=kommo, xero=xero)


def start_service(
    settings: Settings, *, port: int, sandbox_urls: dict[str, str] | None = None
) -> ServerHandle:
    """Run the service (web + engine) in this process, on its own event loop thread.

    `sandbox_urls` ({"kommo": …, "xero": …}) turns on the dashboard's sandbox panel.
    """
    from kommo_xero.bootstrap import Service
    from kommo_xero.web.app import create_app

    service = Service(settings)
    service.sandbox_urls = sandbox_urls
    return start_in_thread(create_app(service), port=port)


def settings_toml(settings: Settings) -> str:
    """The settings as a TOML file for `kommo-xero serve --config` (secrets included)."""

    def value(item: Any) -> str:
        if isinstance(item, SecretStr):
            item = item.get_secret_value()
        if isinstance(item, bool):
            return "true" if item else "false"
        if isinstance(item, int | float):
            return str(item)
        if isinstance(item, list | tuple):
            return "[" + ", ".join(value(i) for i in item) + "]"
        return '"' + str(item).replace("\\", "\\\\").replace('"', '\\"') + '"'

    def table(header: str, model: Any) -> list[str]:
        lines = [f"\n{header}"]
        for name in type(model).model_fields:
            item = getattr(model, name)
            if item is not None and not isinstance(item, BaseModel):
                lines.append(f"{name} = {value(item)}")
        return lines

    lines = [f"connection_name = {value(settings.connection_name)}"]
    for section in ("service", "kommo", "xero", "mapping"):
        lines += table(f"[{section}]", getattr(settings, section))
    # Several connections: [[connections]] entries, each with its own kommo/xero/mapping.
    for connection in settings.connections:
        lines += table("[[connections]]", connection)
        for section in ("kommo", "xero", "mapping"):
            lines += table(f"[connections.{section}]", getattr(connection, section))
    return "\n".join(lines) + "\n"


def run_in_service(handle: ServerHandle, coroutine: Any, timeout: float = 60.0) -> Any:
    """Run `coroutine` on the event loop of a service started with `start_service`."""
    import asyncio

    loop = handle.server.servers[0].get_loop()
    return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)
