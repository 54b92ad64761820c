"""Control API for the account as a whole: state, reset, clock, tokens, block, webhook faults."""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from kommo_xero.sandbox.kommo.auth import sim
from kommo_xero.sandbox.kommo.dispatcher import WebhookDispatcher, WebhookFaults

router = APIRouter()


def dispatcher(request: Request) -> WebhookDispatcher:
    found: WebhookDispatcher = request.app.state.dispatcher
    return found


class ResetIn(BaseModel):
    keep_webhooks: bool = True


class FaultsIn(BaseModel):
    drop_rate: float = 0.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    reorder_hold: int = 5
    fail_status: int | None = None
    account_last: bool = False


class FlushIn(BaseModel):
    all: bool = False


class AdvanceIn(BaseModel):
    seconds: float


class RevokeIn(BaseModel):
    long_lived: bool = True


class BlockIn(BaseModel):
    on: bool


@router.get("/state")
def summary(request: Request) -> dict[str, Any]:
    return {**sim(request).summary(), "webhook_queue": dispatcher(request).pending()}


@router.post("/reset")
async def reset(request: Request, body: ResetIn | None = None) -> dict[str, Any]:
    """Back to the seed data; webhooks stay subscribed unless keep_webhooks is false."""
    state = sim(request)
    state.reset(keep_webhooks=(body or ResetIn()).keep_webhooks)
    found = dispatcher(request)
    found.held.clear()
    found.retries.clear()
    with state.lock:
        found.log.clear()
    return state.summary()


@router.post("/webhook-faults")
async def set_faults(body: FaultsIn, request: Request) -> dict[str, Any]:
    found = dispatcher(request)
    was_reordering = found.faults.reorder
    found.faults = WebhookFaults(**body.model_dump())
    if was_reordering and not body.reorder:
        found.release_held()
    return asdict(found.faults)


@router.get("/webhook-faults")
def get_faults(request: Request) -> dict[str, Any]:
    return asdict(dispatcher(request).faults)


@router.get("/webhook-deliveries")
def deliveries(request: Request) -> list[dict[str, Any]]:
    return dispatcher(request).log_entries()


@router.post("/webhooks/flush")
async def flush(request: Request, body: FlushIn | None = None) -> dict[str, Any]:
    """Release held deliveries and run due retries now (every pending retry with all=true)."""
    sent = dispatcher(request).flush(all_retries=(body or FlushIn()).all)
    return {"released": sent, **dispatcher(request).pending()}


@router.post("/clock/advance")
async def advance(body: AdvanceIn, request: Request) -> dict[str, Any]:
    """Move the account's clock forward (token expiry, code expiry, retry schedule)."""
    state = sim(request)
    with state.lock:
        state.clock_offset += body.seconds
    return {"now": state.now(), "offset": state.clock_offset}


@router.post("/tokens/revoke")
async def revoke(request: Request, body: RevokeIn | None = None) -> dict[str, Any]:
    """The admin disconnects the integration: every OAuth token (and the long-lived one) dies."""
    state = sim(request)
    with state.lock:
        state.tokens.revoke_all(long_lived=(body or RevokeIn()).long_lived)
    return {"revoked": True}


@router.post("/tokens/restore")
async def restore(request: Request) -> dict[str, Any]:
    """Re-issue the long-lived token after a revoke (as an admin creating a new one would)."""
    state = sim(request)
    with state.lock:
        state.tokens.long_lived_revoked = False
    return {"long_lived_token": state.config.long_lived_token}


@router.post("/account/block")
async def block(body: BlockIn, request: Request) -> dict[str, Any]:
    """Switch the HTML 403 block (what Kommo does to an IP after repeated limit violations)."""
    state = sim(request)
    state.blocked = body.on
    return {"blocked": state.blocked}


@router.get("/config")
def config(request: Request) -> dict[str, Any]:
    state = sim(request)
    return {f.name: getattr(state.config, f.name) for f in fields(state.config)}
