"""Sign-in for the one admin: signed session cookie, CSRF tokens, lock-out after failures.

The session cookie is `payload.signature` (HMAC-SHA256 with a key kept 0600 in the data
dir). It names a fingerprint of the password hash, so setting a new password signs every
browser out. CSRF uses a random per-browser nonce cookie; forms carry HMAC(key, nonce),
which a page on another origin can neither read nor compute.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request, Response
from starlette.datastructures import FormData

from kommo_xero.store.sign_in import SignInFailures
from kommo_xero.web.dashboard.passwords import load_password_hash, write_secret_file

SESSION_COOKIE = "kx_session"
CSRF_COOKIE = "kx_csrf"
SESSION_KEY_ENV = "KOMMO_XERO_SESSION_KEY"
SESSION_KEY_FILE = "dashboard-session.key"
PREFIX = "/dashboard"


@dataclass
class DashboardConfig:
    """Knobs of the dashboard; the defaults suit production."""

    password_hash: str | None = None  # None: from the env or the data dir's file
    session_key: bytes | None = None  # None: from the env or a generated 0600 file
    max_failures: int = 5
    lockout_seconds: float = 900.0
    session_seconds: float = 12 * 3600.0
    secure_cookies: bool | None = None  # None: when the public URL is https
    poll_interval_ms: int = 2000
    page_size: int = 50
    clock: Callable[[], float] = time.time


@dataclass
class LoginGuard:
    """Counts wrong passwords; after `max_failures` in a row the account is locked a while.

    The count lives in the database, so with several `serve` processes behind a load
    balancer a guesser gets five tries in all, not five per process."""

    failures: SignInFailures
    max_failures: int
    lockout_seconds: float
    clock: Callable[[], float]

    def seconds_locked(self) -> float:
        return max(0.0, self.failures.locked_until() - self.clock())

    def failed(self) -> None:
        self.failures.failed(self.clock(), self.max_failures, self.lockout_seconds)

    def succeeded(self) -> None:
        self.failures.succeeded()


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_session_key(data_dir: Path) -> bytes:
    from_env = os.environ.get(SESSION_KEY_ENV, "").strip()
    if from_env:
        return from_env.encode()
    path = data_dir / SESSION_KEY_FILE
    if path.is_file():
        return _b64d(path.read_text().strip())
    key = secrets.token_bytes(32)
    write_secret_file(path, _b64e(key) + "\n")
    return key


class Auth:
    """Everything the routes need to know about who is signed in."""

    def __init__(
        self, config: DashboardConfig, data_dir: Path, public_url: str, failures: SignInFailures
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.key = config.session_key or load_session_key(data_dir)
        self.guard = LoginGuard(failures, config.max_failures, config.lockout_seconds, config.clock)
        secure = config.secure_cookies
        self.secure = public_url.startswith("https://") if secure is None else secure

    def password_hash(self) -> str | None:
        return self.config.password_hash or load_password_hash(self.data_dir)

    def _sign(self, payload: bytes) -> str:
        return _b64e(hmac.new(self.key, payload, hashlib.sha256).digest())

    def _fingerprint(self) -> str:
        return hashlib.sha256((self.password_hash() or "").encode()).hexdigest()[:16]

    # -- sessions -------------------------------------------------------------------------

    def new_session(self, response: Response) -> None:
        now = self.config.clock()
        body = {"sid": secrets.token_urlsafe(12), "exp": now + self.config.session_seconds}
        body["pw"] = self._fingerprint()
        payload = json.dumps(body, separators=(",", ":")).encode()
        value = f"{_b64e(payload)}.{self._sign(payload)}"
        response.set_cookie(
            SESSION_COOKIE,
            value,
            max_age=int(self.config.session_seconds),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def end_session(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/")

    def session(self, request: Request) -> dict[str, Any] | None:
        raw = request.cookies.get(SESSION_COOKIE, "")
        payload_text, _, signature = raw.partition(".")
        if not payload_text or not signature:
            return None
        try:
            payload = _b64d(payload_text)
            if not hmac.compare_digest(self._sign(payload), signature):
                return None
            body: dict[str, Any] = json.loads(payload)
        except (ValueError, TypeError):
            return None
        if body.get("exp", 0) < self.config.clock() or body.get("pw") != self._fingerprint():
            return None
        return body

    def require_page(self, request: Request) -> dict[str, Any]:
        """For HTML pages: a signed-out browser is sent to the sign-in page."""
        found = self.session(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise HTTPException(303, "sign in first", {"Location": sign_in_url(target)})
        return found

    def require_api(self, request: Request) -> dict[str, Any]:
        """For JSON endpoints: a signed-out caller gets 401."""
        found = self.session(request)
        if found is None:
            raise HTTPException(401, "sign in to the dashboard first")
        return found

    # -- CSRF -----------------------------------------------------------------------------

    def csrf_token(self, request: Request) -> str:
        """The token for forms on this page; makes the browser's nonce on first visit."""
        nonce = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
        if not nonce:
            nonce = secrets.token_urlsafe(24)
            request.state.new_csrf = nonce
        return self._csrf_for(nonce)

    def _csrf_for(self, nonce: str) -> str:
        return _b64e(hmac.new(self.key, f"csrf:{nonce}".encode(), hashlib.sha256).digest())

    def set_csrf_cookie(self, request: Request, response: Response) -> None:
        nonce = getattr(request.state, "new_csrf", None)
        if nonce:
            response.set_cookie(
                CSRF_COOKIE, nonce, httponly=True, samesite="lax", secure=self.secure, path="/"
            )

    async def checked_form(self, request: Request) -> FormData:
        """The posted form, after checking its CSRF token (403 otherwise)."""
        form = await request.form()
        nonce = request.cookies.get(CSRF_COOKIE, "")
        sent = str(form.get("csrf_token") or request.headers.get("x-csrf-token") or "")
        if not nonce or not sent or not hmac.compare_digest(self._csrf_for(nonce), sent):
            raise HTTPException(403, "The form's security token is missing or stale. Reload.")
        return form


def sign_in_url(next_path: str = PREFIX) -> str:
    from urllib.parse import quote

    return f"{PREFIX}/sign-in?next={quote(next_path, safe='/')}"


def safe_next(target: str | None) -> str:
    """Only paths inside the dashboard: never an open redirect to another site."""
    if target and target.startswith(PREFIX) and not target.startswith("//"):
        return target
    return PREFIX
