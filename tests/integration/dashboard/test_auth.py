"""Sign-in, sessions, CSRF and lock-out of the dashboard."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from tests.integration.dashboard.conftest import (
    LOCKOUT_SECONDS,
    MAX_FAILURES,
    PASSWORD,
    FakeClock,
    build_app,
    csrf_from,
    sign_in,
)

from kommo_xero.bootstrap import Service
from kommo_xero.web.dashboard.auth import CSRF_COOKIE, SESSION_COOKIE

PAGES = [
    "/dashboard",
    "/dashboard/links",
    "/dashboard/links/1",
    "/dashboard/parked",
    "/dashboard/settings",
]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_pages_redirect_to_sign_in(client: TestClient, path: str) -> None:
    """A signed-out browser asking for a dashboard page is sent to the sign-in page."""
    answer = client.get(path)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/sign-in?next=")
    assert path in answer.headers["location"]


@pytest.mark.parametrize("path", ["/dashboard/api/changes", "/dashboard/api/summary"])
def test_signed_out_json_gets_401(client: TestClient, path: str) -> None:
    """JSON endpoints answer 401 instead of redirecting when nobody is signed in."""
    assert client.get(path).status_code == 401


def test_signed_out_posts_are_refused(client: TestClient) -> None:
    """Actions need a session too: a retry posted without one changes nothing."""
    token = csrf_from(client.get("/dashboard/sign-in").text)
    answer = client.post("/dashboard/parked/retry", data={"csrf_token": token, "all": "1"})
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/dashboard/sign-in")


def test_public_routes_need_no_sign_in(client: TestClient) -> None:
    """Health, metrics and the dashboard's static files stay public."""
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "kommo_xero_webhooks_received" in metrics.text
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert client.get("/dashboard/static/live.js").status_code == 200
    assert client.get("/dashboard/static/..%2Fauth.py").status_code == 404


def test_sign_in_sets_a_protected_session_cookie(client: TestClient) -> None:
    """The right password signs in with an HttpOnly, SameSite=Lax cookie, opening the pages."""
    answer = sign_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith(f"{SESSION_COOKIE}=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    for path in ["/dashboard", "/dashboard/links", "/dashboard/parked", "/dashboard/settings"]:
        assert client.get(path).status_code == 200, path
    assert client.get("/dashboard/api/changes").json()["stamp"]


def test_tampered_session_cookie_is_not_accepted(client: TestClient) -> None:
    """Editing the signed session cookie signs the browser out."""
    sign_in(client)
    value = client.cookies[SESSION_COOKIE]
    client.cookies.set(SESSION_COOKIE, "x" + value)
    assert client.get("/dashboard").status_code == 303


def test_sign_out_ends_the_session(client: TestClient) -> None:
    """After signing out, the pages ask for the password again."""
    sign_in(client)
    token = csrf_from(client.get("/dashboard").text)
    assert client.post("/dashboard/sign-out", data={"csrf_token": token}).status_code == 303
    assert client.get("/dashboard").status_code == 303


def test_session_expires(client: TestClient, clock: FakeClock) -> None:
    """A session older than its lifetime no longer opens the pages."""
    sign_in(client)
    clock.advance(13 * 3600)
    assert client.get("/dashboard").status_code == 303


def test_form_without_csrf_token_is_refused(client: TestClient) -> None:
    """A form posted without its CSRF token, or with a forged one, gets 403 and does nothing."""
    assert client.post("/dashboard/sign-in", data={"password": PASSWORD}).status_code == 403
    sign_in(client)
    assert client.post("/dashboard/parked/retry", data={"all": "1"}).status_code == 403
    forged = {"all": "1", "csrf_token": "forged-token"}
    assert client.post("/dashboard/parked/retry", data=forged).status_code == 403
    assert client.post("/dashboard/sign-out", data={}).status_code == 403
    assert client.get("/dashboard").status_code == 200  # still signed in


def test_csrf_token_is_bound_to_the_browser(client: TestClient, service: object) -> None:
    """A token taken from one browser does not work with another browser's cookie."""
    token = csrf_from(client.get("/dashboard/sign-in").text)
    client.cookies.set(CSRF_COOKIE, "another-browser-nonce")
    answer = client.post("/dashboard/sign-in", data={"csrf_token": token, "password": PASSWORD})
    assert answer.status_code == 403


def test_wrong_passwords_lock_the_account_for_a_while(client: TestClient, clock: FakeClock) -> None:
    """After N wrong passwords even the right one is refused until the lock-out ends."""
    for _ in range(MAX_FAILURES):
        wrong = sign_in(client, "not the password")
        assert wrong.status_code == 401
        assert "Wrong password" in wrong.text
    locked = sign_in(client)
    assert locked.status_code == 429
    assert "locked" in locked.text
    assert "locked" in client.get("/dashboard/sign-in").text
    clock.advance(LOCKOUT_SECONDS + 1)
    assert sign_in(client).status_code == 303


def test_the_lock_out_counts_wrong_passwords_at_every_serve_together(
    client: TestClient, service: Service, clock: FakeClock
) -> None:
    """Wrong passwords split over two `serve` processes on one database lock both."""
    with TestClient(build_app(service, clock), follow_redirects=False) as other:
        assert sign_in(client, "guess 1").status_code == 401
        for n in range(2, MAX_FAILURES + 1):
            assert sign_in(other, f"guess {n}").status_code == 401
        assert sign_in(client).status_code == 429
        assert sign_in(other).status_code == 429


def test_a_success_resets_the_failure_count(client: TestClient) -> None:
    """Wrong passwords interleaved with successful sign-ins never lock the account."""
    for _ in range(MAX_FAILURES * 2):
        for _ in range(MAX_FAILURES - 1):
            assert sign_in(client, "typo in the password").status_code == 401
        assert sign_in(client).status_code == 303
        client.cookies.delete(SESSION_COOKIE)


def test_sign_in_redirects_only_inside_the_dashboard(client: TestClient) -> None:
    """The `next` target after sign-in cannot send the browser to another site."""
    token = csrf_from(client.get("/dashboard/sign-in").text)
    answer = client.post(
        "/dashboard/sign-in",
        data={"csrf_token": token, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert answer.headers["location"] == "/dashboard"
