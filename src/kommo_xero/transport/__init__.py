"""HTTP plumbing shared by the Kommo and Xero adapters: typed errors, pacing, retries."""

from kommo_xero.transport.errors import (
    ApiError,
    AuthFailed,
    NotFound,
    RateLimited,
    TransientError,
    ValidationFailed,
)
from kommo_xero.transport.pacer import NoPacer, Pacer, RatePacer
from kommo_xero.transport.retry import RetryPolicy, send_with_retry

__all__ = [
    "ApiError",
    "AuthFailed",
    "NoPacer",
    "NotFound",
    "Pacer",
    "RateLimited",
    "RatePacer",
    "RetryPolicy",
    "TransientError",
    "ValidationFailed",
    "send_with_retry",
]
