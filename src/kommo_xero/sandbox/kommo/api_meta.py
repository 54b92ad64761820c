"""Account, pipelines and stages, custom fields, catalogs and their elements."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from kommo_xero.sandbox.kommo import customfields, render
from kommo_xero.sandbox.kommo.auth import require_user, sim
from kommo_xero.sandbox.kommo.filters import with_set
from kommo_xero.sandbox.kommo.models import CatalogElement, CustomField, Enum, Pipeline
from kommo_xero.sandbox.kommo.responses import (
    ApiProblem,
    base,
    hal,
    href,
    json_batch,
    no_content,
    paged,
    query,
)
from kommo_xero.sandbox.kommo.state import KommoState
from kommo_xero.sandbox.kommo.validation import (
    Error,
    ValidationFailed,
    choice_error,
    error,
    request_id_of,
)

router = APIRouter()


@router.get("/api/v4/account")
def account(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    config = state.config
    body: dict[str, Any] = {
        "id": config.account_id,
        "name": f"{config.subdomain.capitalize()} account",
        "subdomain": config.subdomain,
        "created_at": 1700000000,
        "created_by": config.user_id,
        "updated_at": 1700000000,
        "updated_by": config.user_id,
        "current_user_id": user,
        "country": "NZ",
        "currency": "NZD",
        "currency_symbol": "$",
        "customers_mode": "disabled",
        "is_unsorted_on": True,
        "is_loss_reason_enabled": True,
        "is_helpbot_enabled": False,
        "is_technical_account": False,
        "contact_name_display_order": 1,
        "_links": href(request, "/api/v4/account"),
    }
    if "drive_url" in with_set(query(request)):
        body["drive_url"] = f"{base(request)}/drive"
    return hal(body)


def _pipeline(state: KommoState, pipeline_id: int) -> Pipeline:
    pipeline = state.pipelines.get(pipeline_id)
    if pipeline is None:
        raise ApiProblem(404, "Not Found", "Pipeline not found")
    return pipeline


@router.get("/api/v4/leads/pipelines")
def pipelines(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        items = [render.pipeline(state, p, base(request)) for p in state.pipelines.values()]
    return hal(
        {
            "_total_items": len(items),
            "_links": href(request, "/api/v4/leads/pipelines"),
            "_embedded": {"pipelines": items},
        }
    )


@router.get("/api/v4/leads/pipelines/{pipeline_id:int}")
def pipeline(pipeline_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        return hal(render.pipeline(state, _pipeline(state, pipeline_id), base(request)))


@router.get("/api/v4/leads/pipelines/{pipeline_id:int}/statuses")
def statuses(pipeline_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    with state.lock:
        found = _pipeline(state, pipeline_id)
        items = [render.status(state, found, s, base(request)) for s in found.statuses]
    return hal(
        {
            "_total_items": len(items),
            "_links": href(request, f"/api/v4/leads/pipelines/{pipeline_id}/statuses"),
            "_embedded": {"statuses": items},
        }
    )


@router.get("/api/v4/leads/pipelines/{pipeline_id:int}/statuses/{status_id:int}")
def status(
    pipeline_id: int, status_id: int, request: Request, user: int = Depends(require_user)
) -> Response:
    state = sim(request)
    with state.lock:
        found = _pipeline(state, pipeline_id)
        for item in found.statuses:
            if item.id == status_id:
                return hal(render.status(state, found, item, base(request)))
    raise ApiProblem(404, "Not Found", "Status not found")


def _new_field(
    state: KommoState, item: Any, entity: str, catalog_id: int | None
) -> tuple[CustomField | None, list[Error]]:
    if not isinstance(item, dict):
        return None, [error("InvalidType", "", "This value should be of type object.")]
    errors: list[Error] = []
    if not isinstance(item.get("name"), str) or not item["name"].strip():
        errors.append(error("NotBlank", "name", "This value should not be blank."))
    if item.get("type") not in customfields.FIELD_TYPES:
        errors.append(choice_error("type"))
    enums_in = item.get("enums") or []
    if not isinstance(enums_in, list) or not all(
        isinstance(e, dict) and "value" in e for e in enums_in
    ):
        errors.append(error("InvalidType", "enums", "This value should be of type array."))
    if errors:
        return None, errors
    field = CustomField(
        id=state.next_id("field"),
        name=item["name"],
        type=item["type"],
        entity_type=entity,
        sort=int(item.get("sort", 500)),
        code=item.get("code"),
        catalog_id=catalog_id,
        is_api_only=bool(item.get("is_api_only", False)),
        currency=item.get("currency"),
        enums=[
            Enum(state.next_id("enum"), str(e["value"]), int(e.get("sort", i + 1)), e.get("code"))
            for i, e in enumerate(enums_in)
        ],
    )
    return field, []


def fields_router(entity: str) -> APIRouter:
    """Custom field routes for leads, contacts, companies or `catalogs/{id}`."""
    fields = APIRouter()
    prefix = "/api/v4/catalogs/{catalog_id:int}" if entity == "catalogs" else f"/api/v4/{entity}"

    def own(state: KommoState, catalog_id: int | None) -> dict[int, CustomField]:
        if catalog_id is not None and catalog_id not in state.catalogs:
            raise ApiProblem(404, "Not Found", "Catalog not found")
        return state.fields_for(entity, catalog_id)

    @fields.get(f"{prefix}/custom_fields")
    def list_fields(
        request: Request, catalog_id: int | None = None, user: int = Depends(require_user)
    ) -> Response:
        state = sim(request)
        with state.lock:
            items = [render.field(state, f, base(request)) for f in own(state, catalog_id).values()]
        return paged(request, "custom_fields", items, query(request), total=True)

    @fields.get(f"{prefix}/custom_fields/{{field_id:int}}")
    def get_field(
        field_id: int,
        request: Request,
        catalog_id: int | None = None,
        user: int = Depends(require_user),
    ) -> Response:
        state = sim(request)
        with state.lock:
            found = own(state, catalog_id).get(field_id)
            if found is None:
                raise ApiProblem(404, "Not Found", "Custom field not found")
            return hal(render.field(state, found, base(request)))

    @fields.post(f"{prefix}/custom_fields")
    async def create_fields(
        request: Request, catalog_id: int | None = None, user: int = Depends(require_user)
    ) -> Response:
        state = sim(request)
        items = await json_batch(request)
        with state.lock:
            own(state, catalog_id)
            made, failures = [], []
            for index, item in enumerate(items):
                field, errors = _new_field(state, item, entity, catalog_id)
                if errors:
                    failures.append((request_id_of(item, index), errors))
                made.append(field)
            if failures:
                raise ValidationFailed(failures)
            rendered = []
            for index, (item, field) in enumerate(zip(items, made, strict=True)):
                assert field is not None
                state.fields[field.id] = field
                rendered.append(
                    {
                        **render.field(state, field, base(request)),
                        "request_id": request_id_of(item, index),
                    }
                )
        return hal({"_total_items": len(rendered), "_embedded": {"custom_fields": rendered}})

    @fields.delete(f"{prefix}/custom_fields/{{field_id:int}}")
    def delete_field(
        field_id: int,
        request: Request,
        catalog_id: int | None = None,
        user: int = Depends(require_user),
    ) -> Response:
        state = sim(request)
        with state.lock:
            found = own(state, catalog_id).get(field_id)
            if found is None:
                raise ApiProblem(404, "Not Found", "Custom field not found")
            if not found.is_deletable:
                raise ApiProblem(403, "Forbidden", "Predefined field can not be deleted")
            del state.fields[field_id]
        return no_content()

    return fields


@router.get("/api/v4/catalogs")
def catalogs(request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    params = query(request)
    with state.lock:
        items = [
            render.catalog(state, c, base(request))
            for c in state.catalogs.values()
            if not params.get("type") or c.type == params["type"]
        ]
    return paged(request, "catalogs", items, params)


def _catalog_elements(state: KommoState, catalog_id: int) -> list[CatalogElement]:
    if catalog_id not in state.catalogs:
        raise ApiProblem(404, "Not Found", "Catalog not found")
    return [e for e in state.elements.values() if e.catalog_id == catalog_id]


@router.get("/api/v4/catalogs/{catalog_id:int}/elements")
def elements(catalog_id: int, request: Request, user: int = Depends(require_user)) -> Response:
    state = sim(request)
    params = query(request)
    text = str(params.get("query", "")).casefold()
    with state.lock:
        items = [
            render.element(state, e, base(request))
            for e in _catalog_elements(state, catalog_id)
            if text in e.name.casefold()
        ]
    return paged(request, "elements", items, params)


@router.get("/api/v4/catalogs/{catalog_id:int}/elements/{element_id:int}")
def element(
    catalog_id: int, element_id: int, request: Request, user: int = Depends(require_user)
) -> Response:
    state = sim(request)
    with state.lock:
        for item in _catalog_elements(state, catalog_id):
            if item.id == element_id:
                return hal(render.element(state, item, base(request)))
    return no_content()


@router.post("/api/v4/catalogs/{catalog_id:int}/elements")
async def create_elements(
    catalog_id: int, request: Request, user: int = Depends(require_user)
) -> Response:
    state = sim(request)
    items = await json_batch(request)
    with state.lock:
        _catalog_elements(state, catalog_id)
        fields = state.fields_for("catalogs", catalog_id)
        prepared, failures = [], []
        for index, item in enumerate(items):
            errors: list[Error] = []
            if not isinstance(item, dict) or not isinstance(item.get("name"), str):
                errors.append(error("NotBlank", "name", "This value should not be blank."))
                item = {}
            changes, field_errors = customfields.normalise(fields, item.get("custom_fields_values"))
            errors.extend(field_errors)
            if errors:
                failures.append((request_id_of(item, index), errors))
            prepared.append((item, changes))
        if failures:
            raise ValidationFailed(failures)
        rendered = []
        for index, (item, changes) in enumerate(prepared):
            now = state.now()
            made = CatalogElement(
                state.next_id("element"), catalog_id, item["name"], now, now, user
            )
            customfields.apply(made.custom_fields, changes)
            state.elements[made.id] = made
            rendered.append(
                {
                    **render.element(state, made, base(request)),
                    "request_id": request_id_of(item, index),
                }
            )
    return hal(
        {
            "_links": href(request, f"/api/v4/catalogs/{catalog_id}/elements"),
            "_embedded": {"elements": rendered},
        }
    )
