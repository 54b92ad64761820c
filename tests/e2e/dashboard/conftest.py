"""The sandbox (both simulators and the service with its dashboard) and a Chromium page."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from tests.integration.flows.conftest import Sandbox

from kommo_xero.bootstrap import Service
from kommo_xero.sandbox.kommo import KommoSimConfig
from kommo_xero.sandbox.server import free_port, start_in_thread
from kommo_xero.sandbox.stack import (
    Simulators,
    register_kommo_webhook,
    sandbox_settings,
    start_simulators,
)
from kommo_xero.sandbox.xero import XeroSimConfig
from kommo_xero.web.app import create_app
from kommo_xero.web.dashboard import DashboardConfig
from kommo_xero.web.dashboard.passwords import hash_password

PASSWORD = "sandbox admin password"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[3]
# Screenshots land in build/screenshots so a test run leaves the tree clean;
# `make screenshots` points this at docs/images to refresh the pictures in the docs.
IMAGES = ROOT / os.environ.get("KOMMO_XERO_SCREENSHOTS", "build/screenshots")


@pytest.fixture
def sims() -> Iterator[Simulators]:
    started = start_simulators(
        kommo_config=KommoSimConfig(webhook_time_scale=0.001),
        xero_config=XeroSimConfig(webhook_time_scale=0.001),
    )
    yield started
    started.stop()


def subscribe(sims: Simulators, service_url: str) -> None:
    """Subscribe the service in Kommo, waiting out a 429 left by the service's start-up calls."""
    for _ in range(40):
        try:
            register_kommo_webhook(sims.kommo.base_url, service_url)
            return
        except httpx.HTTPStatusError as exc:
            if exc.response.status_code != 429:
                raise
            time.sleep(0.25)
    raise AssertionError("Kommo kept answering 429 to the webhook subscription")


@pytest.fixture
def demo(tmp_path: Path, sims: Simulators) -> Iterator[Sandbox]:
    """The service as the demo runs it: dashboard mounted, sandbox panel on."""
    port = free_port()
    settings = sandbox_settings(
        tmp_path, kommo_url=sims.kommo.base_url, xero_url=sims.xero.base_url, service_port=port
    )
    service = Service(settings)
    service.sandbox_urls = {"kommo": sims.kommo.base_url, "xero": sims.xero.base_url}
    config = DashboardConfig(password_hash=hash_password(PASSWORD), poll_interval_ms=300)
    app = create_app(service, config)
    handle = start_in_thread(app, port=port)
    subscribe(sims, handle.base_url)
    yield Sandbox(sims, settings, handle, tmp_path)
    handle.stop()


@pytest.fixture
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def sign_in(page: Page, base_url: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/dashboard")
    page.fill("#password", password)
    page.click("button[type=submit]")


def shoot(page: Page, name: str) -> None:
    """Save a screenshot (build/screenshots/<name>.png; docs/images with `make screenshots`)."""
    IMAGES.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(IMAGES / f"{name}.png"), full_page=True)
