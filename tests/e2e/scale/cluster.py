"""A scaled-out deployment on loopback: simulators for two connections and `kommo-xero`
processes (one `serve`, N `worker`s) sharing one database, as an operator runs them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from kommo_xero.config import ConnectionSettings, KommoSettings, Settings, XeroSettings
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.kommo import create_app as create_kommo_app
from kommo_xero.sandbox.server import ServerHandle, start_in_thread
from kommo_xero.sandbox.stack import (
    KOMMO_HOOK_EVENTS,
    KOMMO_SANDBOX_TOKEN,
    XERO_SANDBOX_CLIENT_ID,
    XERO_SANDBOX_CLIENT_SECRET,
    sandbox_settings,
    settings_toml,
)
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.sandbox.xero import create_app as create_xero_app
from kommo_xero.sandbox.xero.config import default_tenant, uk_tenant

CLI = Path(sys.executable).with_name("kommo-xero")
CONNECTIONS = ("acme", "globex")


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.5) -> Any:
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last value: {value!r})")


@dataclass
class Tenant:
    """One connection's pair of simulators: a Kommo account and a Xero organisation."""

    name: str
    kommo: ServerHandle
    xero: ServerHandle
    tenant_id: str
    webhook_secret: str
    kommo_sim: httpx.Client = field(init=False)
    xero_sim: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.kommo_sim = httpx.Client(base_url=f"{self.kommo.base_url}/_sim", timeout=30)
        self.xero_sim = httpx.Client(base_url=f"{self.xero.base_url}/_sim", timeout=30)

    def connection(self) -> ConnectionSettings:
        return ConnectionSettings(
            name=self.name,
            kommo=KommoSettings(
                base_url=self.kommo.base_url,
                token=SecretStr(KOMMO_SANDBOX_TOKEN),
                webhook_secret=SecretStr(self.webhook_secret),
            ),
            xero=XeroSettings(
                base_url=self.xero.base_url,
                identity_url=self.xero.base_url,
                login_url=self.xero.base_url,
                client_id=XERO_SANDBOX_CLIENT_ID,
                client_secret=SecretStr(XERO_SANDBOX_CLIENT_SECRET),
                # Set per connection: it keys the pacing and the in-flight gate per organisation.
                tenant_id=self.tenant_id,
            ),
        )

    def subscribe(self, service_url: str) -> None:
        """Kommo sends this account's deal events to the connection's own webhook URL."""
        destination = f"{service_url}/webhooks/kommo/{self.webhook_secret}"
        with httpx.Client(
            base_url=self.kommo.base_url,
            headers={"Authorization": f"Bearer {KOMMO_SANDBOX_TOKEN}"},
            timeout=10,
        ) as client:
            client.post(
                "/api/v4/webhooks",
                json={"destination": destination, "settings": KOMMO_HOOK_EVENTS},
            ).raise_for_status()

    def new_deals(self, count: int, clients: int = 8) -> list[int]:
        """`count` deals in "New deal", spread over a few client contacts."""
        contacts = []
        for n in range(clients):
            made = self.kommo_sim.post(
                "/contacts", json={"name": f"{self.name} client {n}", "email": f"ap{n}@x.example"}
            )
            made.raise_for_status()
            contacts.append(made.json()["id"])
        leads = []
        for n in range(count):
            lead = self.kommo_sim.post(
                "/leads",
                json={
                    "name": f"{self.name} deal {n}",
                    "price": 100 + n,
                    "status_name": "New deal",
                    "contact_id": contacts[n % clients],
                    "description": f"Work package {n}",
                },
            )
            lead.raise_for_status()
            leads.append(int(lead.json()["id"]))
        return leads

    def approve(self, lead_id: int) -> None:
        self.kommo_sim.post(
            f"/leads/{lead_id}/move", json={"status_name": "Payment Approved"}
        ).raise_for_status()

    def deal(self, lead_id: int) -> dict[str, Any]:
        answer = self.kommo_sim.get(f"/leads/{lead_id}")
        answer.raise_for_status()
        return dict(answer.json())

    def invoices(self) -> list[Any]:
        org = self.xero.app.state.sim.orgs[self.tenant_id]
        return list(org.invoices.values())

    def counters(self) -> dict[str, Any]:
        answer = self.xero_sim.get("/counters")
        answer.raise_for_status()
        return dict(answer.json()["tenants"].get(self.tenant_id, {}))

    def stop(self) -> None:
        self.kommo_sim.close()
        self.xero_sim.close()
        self.kommo.stop()
        self.xero.stop()


def start_tenants(relaxed: bool = False) -> list[Tenant]:
    """Two connections: two Kommo accounts, two Xero organisations (US and UK), with the
    simulators' real limits (5 in flight, 60 a minute per organisation; Kommo 7/s), or none
    at all when `relaxed` (for benchmarks that look past the API limits)."""
    orgs = [default_tenant(), uk_tenant()]
    tenants = []
    for n, (name, org) in enumerate(zip(CONNECTIONS, orgs, strict=True)):
        # Real Kommo accounts have distinct ids (webhook causes and workflow ids carry them).
        kommo_config = KommoSimConfig(account_id=30000001 + n)
        if relaxed:
            kommo_config.rate_limit_per_second = 0
        kommo = start_in_thread(create_kommo_app(kommo_config))
        xero_config = XeroSimConfig(tenants=[org], enforce_limits=not relaxed)
        xero = start_in_thread(create_xero_app(xero_config))
        tenants.append(Tenant(name, kommo, xero, org.tenant_id, f"hook-{name}-secret"))
    return tenants


def cluster_settings(
    tenants: list[Tenant],
    data_dir: Path,
    database_url: str | None,
    port: int,
    relaxed: bool = False,
) -> Settings:
    base = sandbox_settings(
        data_dir,
        kommo_url=tenants[0].kommo.base_url,
        xero_url=tenants[0].xero.base_url,
        service_port=port,
        database_url=database_url,
    )
    service = base.service.model_copy(update={"reconcile_interval_s": 0})
    connections = [t.connection() for t in tenants]
    if relaxed:
        # The service's own pacing off too, or it would still hold the real limits.
        service = service.model_copy(update={"xero_concurrency": 50})
        connections = [
            c.model_copy(
                update={
                    "kommo": c.kommo.model_copy(update={"requests_per_second": 1000}),
                    "xero": c.xero.model_copy(
                        update={"calls_per_minute": 1_000_000, "calls_per_day": 10_000_000}
                    ),
                }
            )
            for c in connections
        ]
    return base.model_copy(update={"service": service, "connections": connections})


class Process:
    """One `kommo-xero serve` or `kommo-xero worker` child process."""

    def __init__(self, role: str, executor_id: str, config: Path, port: int, log: Path) -> None:
        self.role, self.executor_id, self.config, self.port, self.log = (
            role,
            executor_id,
            config,
            port,
            log,
        )
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(CLI), self.role, "--config", str(self.config)]
        command += ["--executor-id", self.executor_id]
        if self.role == "serve":
            command += ["--port", str(self.port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
        wait_until(self._ready, timeout=60, interval=0.2)

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"{self.executor_id} exited: {self.log.read_text()[-3000:]}")
        if self.role == "worker":
            return f"worker {self.executor_id} running" in self.log.read_text()
        try:
            url = f"http://127.0.0.1:{self.port}/readyz"
            return httpx.get(url, timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (from /proc; Linux only)."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()


def write_config(settings: Settings, path: Path) -> Path:
    path.write_text(settings_toml(settings))
    return path


def migrate(config: Path) -> None:
    subprocess.run([str(CLI), "migrate", "--config", str(config)], check=True, timeout=120)
