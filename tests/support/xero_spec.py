"""Validate HTTP exchanges with the Xero simulator against Xero's official OpenAPI spec.

Every suite that talks to the Xero simulator (its own tests, the integration's client tests)
records its exchanges with `SpecRecorder` and checks them here, so the simulator and our client
stay honest against the same document Xero publishes.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import yaml
from openapi_core import OpenAPI
from openapi_core.configurations import Config
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_PATH = Path("/work/shared/reference/xero_accounting.yaml")
_SPEC_CANDIDATES = (
    Path(__file__).resolve().parents[3] / "shared" / "reference" / "xero_accounting.yaml",
    SPEC_PATH,
)
XERO_HOST = "https://api.xero.com"
ACCOUNTING_PREFIX = "/api.xro/2.0"


def _spec_file() -> Path:
    for candidate in _SPEC_CANDIDATES:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(f"xero_accounting.yaml not found in {_SPEC_CANDIDATES}")


@functools.cache
def xero_openapi() -> OpenAPI:
    """The Accounting spec, loaded once per process (the C loader makes it ~0.3 s)."""
    with _spec_file().open("rb") as handle:
        spec_dict = yaml.load(handle, Loader=yaml.CSafeLoader)
    # Xero's file fails strict spec validation (string defaults on booleans); skip that step.
    return OpenAPI.from_dict(spec_dict, config=Config(spec_validator_cls=None))


@functools.cache
def _declared_statuses() -> dict[tuple[str, str], set[str]]:
    """(method, path template) -> response codes the spec declares."""
    with _spec_file().open("rb") as handle:
        spec_dict = yaml.load(handle, Loader=yaml.CSafeLoader)
    declared: dict[tuple[str, str], set[str]] = {}
    for template, item in spec_dict["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and "responses" in operation:
                declared[(method, template)] = set(operation["responses"])
    return declared


class _SpecRequest:
    """openapi-core's request protocol over an httpx request moved to Xero's host."""

    def __init__(self, request: httpx.Request) -> None:
        url = urlsplit(str(request.url))
        self.path = url.path
        self.host_url = XERO_HOST
        self.method = request.method.lower()
        query = parse_qs(url.query, keep_blank_values=True)
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(list(request.headers.items())),
            cookie=ImmutableMultiDict(),
        )
        self.content_type = request.headers.get("content-type", "")
        content = request.content
        self.body: bytes | None = content if content else None

    @property
    def full_url_pattern(self) -> str:
        return self.host_url + self.path


@dataclass
class _SpecResponse:
    status_code: int
    headers: Headers
    content_type: str
    data: bytes | None


def _is_accounting(request: httpx.Request) -> bool:
    return request.url.path.startswith(ACCOUNTING_PREFIX + "/")


def _template_for(path: str) -> str | None:
    """Find the spec path template matching a concrete accounting path."""
    parts = path[len(ACCOUNTING_PREFIX) :].strip("/").split("/")
    best: str | None = None
    for _method, template in _declared_statuses():
        t_parts = template.strip("/").split("/")
        if len(t_parts) != len(parts):
            continue
        if all(
            t == p or (t.startswith("{") and t.endswith("}"))
            for t, p in zip(t_parts, parts, strict=True)
        ):
            literal = sum(1 for t in t_parts if not t.startswith("{"))
            if best is None or literal > sum(
                1 for t in best.strip("/").split("/") if not t.startswith("{")
            ):
                best = template
    return best


def validate_exchange(request: httpx.Request, response: httpx.Response) -> None:
    """Check one Accounting exchange against the spec; raise AssertionError saying what broke.

    Responses whose status code the spec does not declare for the operation (401, 403, 404, 429,
    503: the spec documents only 200/400/204) are checked for the request side only.
    """
    if not _is_accounting(request):
        return
    api = xero_openapi()
    spec_request = _SpecRequest(request)
    where = f"{request.method} {request.url.path}?{request.url.query.decode()}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the spec's OAuth2 scheme is not checked
            api.validate_request(spec_request)
    except Exception as exc:  # openapi-core raises a family of errors; all mean "invalid"
        raise AssertionError(f"request {where} breaks the spec: {_explain(exc)}") from exc
    template = _template_for(request.url.path)
    declared = _declared_statuses().get((request.method.lower(), template or ""), set())
    if str(response.status_code) not in declared:
        return
    media = response.headers.get("content-type", "").split(";")[0].strip()
    if media == "application/pdf" and not request.url.path.endswith("/pdf"):
        # Xero serves a PDF of any document asked for with Accept: application/pdf; the spec
        # only declares it on the /pdf paths, so only check that it really is a PDF.
        assert response.content.startswith(b"%PDF-"), f"{where} sent a PDF type but no PDF"
        return
    spec_response = _SpecResponse(
        status_code=response.status_code,
        headers=Headers(list(response.headers.items())),
        content_type=response.headers.get("content-type", "").split(";")[0].strip(),
        data=response.content,
    )
    try:
        api.validate_response(spec_request, spec_response)
    except Exception as exc:
        raise AssertionError(
            f"response {response.status_code} to {where} breaks the spec: {_explain(exc)}"
        ) from exc


def _explain(exc: BaseException) -> str:
    """openapi-core hides the useful schema errors in __cause__ / schema_errors."""
    lines = [f"{type(exc).__name__}: {exc}"]
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        for schema_error in getattr(current, "schema_errors", ()) or ():
            path = "/".join(str(p) for p in getattr(schema_error, "absolute_path", ()))
            lines.append(
                f"  at {path or '<root>'}: {getattr(schema_error, 'message', schema_error)}"
            )
        current = current.__cause__ or current.__context__
        if current is not None:
            lines.append(f"  caused by {type(current).__name__}: {current}")
    return "\n".join(lines)


class SpecRecorder:
    """Records exchanges through httpx event hooks; `assert_all_valid()` checks them all."""

    def __init__(self) -> None:
        self.exchanges: list[tuple[httpx.Request, httpx.Response]] = []

    def sync_hooks(self) -> dict[str, list[Callable[..., Any]]]:
        def on_response(response: httpx.Response) -> None:
            response.read()
            self.exchanges.append((response.request, response))

        return {"response": [on_response]}

    def async_hooks(self) -> dict[str, list[Callable[..., Awaitable[None]]]]:
        async def on_response(response: httpx.Response) -> None:
            await response.aread()
            self.exchanges.append((response.request, response))

        return {"response": [on_response]}

    @property
    def accounting_exchanges(self) -> list[tuple[httpx.Request, httpx.Response]]:
        return [(rq, rs) for rq, rs in self.exchanges if _is_accounting(rq)]

    def assert_all_valid(self) -> None:
        failures = []
        for request, response in self.accounting_exchanges:
            try:
                validate_exchange(request, response)
            except AssertionError as exc:
                failures.append(str(exc))
        if failures:
            raise AssertionError(
                f"{len(failures)} exchange(s) break the Xero spec:\n" + "\n".join(failures)
            )


def consent_token(
    base_url: str,
    client_id: str = "xero-sandbox-client",
    client_secret: str = "xero-sandbox-secret",
    scope: str = "openid offline_access accounting.transactions",
) -> dict[str, Any]:
    """Walk the simulator's OAuth code flow like a browser plus a backend would; return tokens."""
    redirect = "http://127.0.0.1:9/callback"
    with httpx.Client(base_url=base_url) as client:
        consent = client.get(
            "/identity/connect/authorize",
            params={
                "response_type": "code",
                "client_id": client_id,
                "redirect_uri": redirect,
                "scope": scope,
                "state": "s1",
            },
        )
        assert consent.status_code == 302, consent.text
        query = parse_qs(urlsplit(consent.headers["location"]).query)
        token = client.post(
            "/connect/token",
            data={
                "grant_type": "authorization_code",
                "code": query["code"][0],
                "redirect_uri": redirect,
            },
            auth=(client_id, client_secret),
        )
        assert token.status_code == 200, token.text
        body: dict[str, Any] = token.json()
        return body


def accounting_client(
    base_url: str, access_token: str, tenant_id: str, recorder: SpecRecorder
) -> httpx.Client:
    """An httpx client set up as a well-behaved Xero client, recording for spec checks."""
    return httpx.Client(
        base_url=f"{base_url}{ACCOUNTING_PREFIX}",
        headers={
            "Authorization": f"Bearer {access_token}",
            "xero-tenant-id": tenant_id,
            "Accept": "application/json",
        },
        event_hooks=recorder.sync_hooks(),
        timeout=10,
    )
