"""Metrics (Prometheus) and structured logs (structlog) for the service."""

from __future__ import annotations

from kommo_xero.observability.metrics import (
    metrics_router,
    observe_trigger_to_result,
    record_api_call,
    record_flow,
    record_webhook,
)

__all__ = [
    "metrics_router",
    "observe_trigger_to_result",
    "record_api_call",
    "record_flow",
    "record_webhook",
]
