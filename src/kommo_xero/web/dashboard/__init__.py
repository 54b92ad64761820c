"""The operations dashboard: server-rendered pages behind a sign-in, live by polling."""

from __future__ import annotations

from kommo_xero.web.dashboard.auth import DashboardConfig
from kommo_xero.web.dashboard.routes import dashboard_router, mount_static

__all__ = ["DashboardConfig", "dashboard_router", "mount_static"]
