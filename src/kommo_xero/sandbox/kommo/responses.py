"""Kommo's response conventions: hal+json, problem+json, 204 for empty, `_page` and `_links`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import phpform

HAL = "application/hal+json"
PROBLEM = "application/problem+json"
MAX_LIMIT = 250


class ApiProblem(Exception):
    """Raised anywhere in a route; the app turns it into a problem+json response."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.body: dict[str, Any] = {
            "title": title,
            "type": f"https://httpstatus.es/{status}",
            "status": status,
            "detail": detail,
            **extra,
        }


def hal(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=HAL)


def problem_response(status: int, body: dict[str, Any]) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=PROBLEM)


def no_content() -> Response:
    return Response(status_code=204)


def base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def href(request: Request, path: str) -> dict[str, dict[str, str]]:
    return {"self": {"href": f"{base(request)}{path}"}}


def query(request: Request) -> dict[str, Any]:
    """The query string with PHP brackets nested (`filter[id][]=1` -> {"filter": {"id": [...]}})."""
    return phpform.parse(request.query_params.multi_items())


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ApiProblem(400, "Bad Request", "Request data can not be empty")
    try:
        return json.loads(raw)
    except ValueError:
        raise ApiProblem(400, "Bad Request", "Request body is not valid JSON") from None


async def json_batch(request: Request, limit: int = MAX_LIMIT) -> list[Any]:
    """A JSON array body of at most `limit` items (Kommo: 250, complex create: 50)."""
    body = await json_body(request)
    if not isinstance(body, list):
        raise ApiProblem(400, "Bad Request", "Request data should be an array")
    if not body:
        raise ApiProblem(400, "Bad Request", "Request data can not be empty")
    if len(body) > limit:
        raise ApiProblem(422, "Unprocessable Entity", f"Limit {limit} per page")
    return body


def page_params(params: dict[str, Any]) -> tuple[int, int]:
    try:
        page = max(1, int(params.get("page", 1)))
        limit = int(params.get("limit", 50))
    except (TypeError, ValueError):
        raise ApiProblem(400, "Bad Request", "page and limit should be integers") from None
    if limit > MAX_LIMIT:
        raise ApiProblem(422, "Unprocessable Entity", f"Limit {MAX_LIMIT} per page")
    return page, max(1, limit)


def paged(
    request: Request, key: str, items: Sequence[Any], params: dict[str, Any], total: bool = False
) -> Response:
    """One page of `items` under `_embedded[key]`, or 204 when the page is empty."""
    page, limit = page_params(params)
    chunk = items[(page - 1) * limit : page * limit]
    if not chunk:
        return no_content()
    path = request.url.path
    other = [(k, v) for k, v in request.query_params.multi_items() if k not in ("page", "limit")]

    def link(number: int) -> dict[str, str]:
        qs = urlencode([*other, ("page", str(number)), ("limit", str(limit))])
        return {"href": f"{base(request)}{path}?{qs}"}

    links = {"self": link(page)}
    if page * limit < len(items):
        links["next"] = link(page + 1)
    links["first"] = link(1)
    if page > 1:
        links["prev"] = link(page - 1)
    body: dict[str, Any] = {"_page": page, "_links": links, "_embedded": {key: list(chunk)}}
    if total:
        body = {"_total_items": len(items), **body}
    return hal(body)
