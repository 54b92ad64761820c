"""Helpers shared by the Accounting routes: who is calling, envelopes, batches, paging."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse

from .formats import envelope, parse_timestamp, validation_exception
from .gate import IDENTITY_KEY, Identity
from .models import Org
from .state import XeroState
from .where import Predicate, WhereError, compile_where
from .writes import ItemError, WriteContext

T = TypeVar("T")
PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class BadRequest(Exception):
    """A request-level 400 (bad JSON, bad where clause) answered with Xero's error shape."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("Message", ""))
        self.body = body


def sim(request: Request) -> XeroState:
    state: XeroState = request.app.state.sim
    return state


def caller(request: Request) -> tuple[XeroState, Org, Identity]:
    state = sim(request)
    identity: Identity = request.scope[IDENTITY_KEY]
    return state, state.orgs[identity.tenant_id], identity


def ok(state: XeroState, key: str, items: list[dict[str, Any]], **extra: Any) -> JSONResponse:
    body = envelope(state.config.app_name, state.now(), key, items)
    body.update(extra)
    return JSONResponse(body)


def not_found() -> JSONResponse:
    body = {
        "Title": "Not Found",
        "Status": 404,
        "Detail": "The resource you're looking for cannot be found",
    }
    return JSONResponse(body, status_code=404)


async def elements(request: Request, key: str) -> list[dict[str, Any]]:
    """The items of a `{"Invoices": [...]}` body (a bare object is tolerated, as Xero does)."""
    try:
        payload = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError as exc:
        raise BadRequest(
            {"ErrorNumber": 14, "Type": "PostDataInvalidException", "Message": str(exc)}
        ) from exc
    items = payload.get(key) if isinstance(payload, dict) else None
    if items is None and isinstance(payload, dict) and payload and key not in payload:
        items = [payload]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise BadRequest(
            {
                "ErrorNumber": 14,
                "Type": "PostDataInvalidException",
                "Message": f"The request body must be an object with a {key} array.",
            }
        )
    return items


def run_batch(
    state: XeroState,
    org: Org,
    client_id: str | None,
    items: list[dict[str, Any]],
    write: Callable[[WriteContext, dict[str, Any]], T],
    render: Callable[[T], dict[str, Any]],
    *,
    summarize: bool,
) -> tuple[int, list[dict[str, Any]]]:
    """Apply each element; summarized (the default) is all-or-nothing with a 400 on any error."""
    results: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []

    class _Rollback(Exception):
        pass

    try:
        with state.writing(org, client_id, atomic=summarize) as ctx:
            for raw in items:
                try:
                    body = render(write(ctx, raw))
                    body["StatusAttributeString"] = "OK"
                    results.append(body)
                except ItemError as error:
                    echo = failed_element(raw, error.messages)
                    results.append(echo)
                    failed.append(echo)
            if summarize and failed:
                raise _Rollback
    except _Rollback:
        return 400, failed
    return 200, results


def failed_element(raw: dict[str, Any], messages: list[str]) -> dict[str, Any]:
    echo = dict(raw)
    echo["HasErrors"] = True
    echo["StatusAttributeString"] = "ERROR"
    echo["ValidationErrors"] = [{"Message": m} for m in messages]
    return echo


def batch_response(
    state: XeroState, key: str, status: int, results: list[dict[str, Any]]
) -> JSONResponse:
    if status == 400:
        return JSONResponse(validation_exception(results), status_code=400)
    return ok(state, key, results)


def summarize_flag(request: Request) -> bool:
    return request.query_params.get("summarizeErrors", "true").lower() != "false"


def csv_param(request: Request, name: str) -> list[str]:
    raw = request.query_params.get(name, "")
    return [part.strip() for part in raw.split(",") if part.strip()]


def where_filter(request: Request) -> Predicate | None:
    text = request.query_params.get("where")
    if not text:
        return None
    try:
        return compile_where(text)
    except WhereError as exc:
        raise BadRequest(
            {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
        ) from exc


def apply_where(rows: Iterable[tuple[T, dict[str, Any]]], predicate: Predicate | None) -> list[T]:
    try:
        return [item for item, fields in rows if predicate is None or predicate(fields)]
    except WhereError as exc:
        raise BadRequest(
            {"ErrorNumber": 16, "Type": "QueryParseException", "Message": str(exc)}
        ) from exc


def modified_since(request: Request) -> Any:
    value = request.headers.get("if-modified-since")
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError) as exc:
        raise BadRequest(
            {"ErrorNumber": 16, "Type": "QueryParseException", "Message": "Bad If-Modified-Since"}
        ) from exc


def paginate(request: Request, items: list[T]) -> tuple[list[T], dict[str, int] | None]:
    """`page` is 1-based; 100 per page unless pageSize (max 1000). No page → everything."""
    page_raw = request.query_params.get("page")
    if page_raw is None:
        return items, None
    try:
        page = max(1, int(page_raw))
        size = int(request.query_params.get("pageSize", PAGE_SIZE))
    except ValueError as exc:
        raise BadRequest(
            {"ErrorNumber": 16, "Type": "QueryParseException", "Message": "Bad page"}
        ) from exc
    size = max(1, min(size, MAX_PAGE_SIZE))
    start = (page - 1) * size
    count = len(items)
    pagination = {
        "page": page,
        "pageSize": size,
        "pageCount": (count + size - 1) // size,
        "itemCount": count,
    }
    return items[start : start + size], pagination


def order_by(request: Request, rows: list[T], fields: Callable[[T], dict[str, Any]]) -> list[T]:
    """`order=Field [ASC|DESC]`; missing values sort last."""
    text = request.query_params.get("order")
    if not text:
        return rows
    parts = text.strip().split()
    name = parts[0]
    descending = len(parts) > 1 and parts[1].upper() == "DESC"

    def sort_key(row: T) -> tuple[bool, Any]:
        value = fields(row).get(name)
        return (value is None, value.casefold() if isinstance(value, str) else value)

    present = [row for row in rows if fields(row).get(name) is not None]
    missing = [row for row in rows if fields(row).get(name) is None]
    return sorted(present, key=sort_key, reverse=descending) + missing
