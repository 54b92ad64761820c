"""The forms: sign in and out, retry parked work, and the sandbox panel's buttons.

Every POST checks the CSRF token first, then answers with a redirect (post/redirect/get).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kommo_xero.web.dashboard import queries
from kommo_xero.web.dashboard.app_context import Dashboard, back_to
from kommo_xero.web.dashboard.auth import PREFIX, safe_next
from kommo_xero.web.dashboard.passwords import PASSWORD_HASH_ENV, verify_password
from kommo_xero.web.dashboard.sandbox_panel import PanelError, perform, sandbox_urls
from kommo_xero.workflows.retry import retry_parked

NO_PASSWORD = (
    "No admin password is set. Run `kommo-xero admin set-password` on the server, "
    f"or set {PASSWORD_HASH_ENV}."
)


def _minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def add_actions(router: APIRouter, board: Dashboard) -> None:
    auth = board.auth
    service = board.service
    page_auth = Depends(auth.require_page)

    def sign_in_page(
        request: Request, *, error: str = "", status: int = 200, target: str | None = None
    ) -> HTMLResponse:
        locked = auth.guard.seconds_locked()
        if locked and not error:
            error = f"Too many wrong passwords. Sign-in is locked for {_minutes(locked)}."
        if auth.password_hash() is None:
            error = NO_PASSWORD
        return board.page(
            request,
            "sign_in.html",
            status_code=status,
            active="",
            next=safe_next(target or request.query_params.get("next")),
            sign_in_error=error,
        )

    @router.get(f"{PREFIX}/sign-in", response_class=HTMLResponse)
    def sign_in_form(request: Request) -> Response:
        if auth.session(request) is not None:
            return RedirectResponse(safe_next(request.query_params.get("next")), 303)
        return sign_in_page(request)

    @router.post(f"{PREFIX}/sign-in", response_class=HTMLResponse)
    async def sign_in(request: Request) -> Response:
        form = await auth.checked_form(request)
        target = str(form.get("next") or "")
        locked = auth.guard.seconds_locked()
        if locked:
            # Checked before the password, so a locked account cannot be probed at all.
            return sign_in_page(
                request,
                error=f"Too many wrong passwords. Sign-in is locked for {_minutes(locked)}.",
                status=429,
                target=target,
            )
        stored = auth.password_hash()
        if stored is None:
            return sign_in_page(request, status=503, target=target)
        if not verify_password(str(form.get("password") or ""), stored):
            auth.guard.failed()
            return sign_in_page(request, error="Wrong password.", status=401, target=target)
        auth.guard.succeeded()
        response = RedirectResponse(safe_next(target), 303)
        auth.new_session(response)
        return response

    @router.post(f"{PREFIX}/sign-out")
    async def sign_out(request: Request) -> Response:
        await auth.checked_form(request)
        response = RedirectResponse(f"{PREFIX}/sign-in", 303)
        auth.end_session(response)
        return response

    @router.post(f"{PREFIX}/parked/retry", dependencies=[page_auth])
    async def retry(request: Request) -> Response:
        form = await auth.checked_form(request)
        chosen = {int(str(v)) for v in form.getlist("item_ids") if str(v).isdigit()}
        reason = str(form.get("reason_code") or "") or None
        retry_all = form.get("all") == "1"
        if not chosen and reason is None and not retry_all:
            return back_to(f"{PREFIX}/parked", err="Choose at least one item to retry.")
        items = queries.open_parked(service.store)
        by_connection: dict[str, list[int]] = {}
        for item in items:
            if retry_all or item["id"] in chosen or (reason and item["reason_code"] == reason):
                by_connection.setdefault(item["connection_id"], []).append(int(item["id"]))
        started: list[str] = []
        try:
            for connection_id, ids in by_connection.items():
                started += await retry_parked(connection_id, item_ids=ids)
        except LookupError as exc:
            return back_to(f"{PREFIX}/parked", err=f"Cannot retry now: {exc}.")
        if not started:
            return back_to(f"{PREFIX}/parked", err="Nothing to retry: the items are resolved.")
        count = len(started)
        return back_to(
            f"{PREFIX}/parked",
            msg=f"Retrying {count} item{'s' if count != 1 else ''}; this page updates by itself.",
        )

    @router.post(f"{PREFIX}/sandbox/{{action}}", dependencies=[page_auth])
    async def sandbox_action(request: Request, action: str) -> Response:
        form = await auth.checked_form(request)
        urls = sandbox_urls(service)
        if urls is None:
            return back_to(PREFIX, err="The sandbox panel exists only in the demo.")
        try:
            done = await perform(urls, action, form)
        except PanelError as exc:
            return back_to(f"{PREFIX}/sandbox", err=str(exc))
        return back_to(f"{PREFIX}/sandbox", msg=done)
