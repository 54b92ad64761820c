"""Kommo answers become typed errors (or empty results) a caller can act on."""

from __future__ import annotations

import httpx
import pytest
from tests.unit.kommo.fakes import FakeKommo, client_for, hal, problem

from kommo_xero.kommo.models import LeadCreate, LeadPatch, NoteCreate
from kommo_xero.transport import (
    ApiError,
    AuthFailed,
    NotFound,
    RateLimited,
    RetryPolicy,
    TransientError,
    ValidationFailed,
)

pytestmark = pytest.mark.anyio

VALIDATION = {
    "validation-errors": [
        {
            "request_id": "0",
            "errors": [
                {
                    "code": "NotSupportedChoice",
                    "path": "custom_fields_values.0.field_id",
                    "detail": "The value you selected is not a valid choice.",
                },
                {
                    "code": "InvalidType",
                    "path": "status_id",
                    "detail": "This value should be of type array.",
                },
            ],
        }
    ],
    "title": "Bad Request",
    "detail": "Request validation failed",
}


def always(response: httpx.Response) -> FakeKommo:
    return FakeKommo(
        routes={
            "PATCH /api/v4/leads": lambda _: response,
            "GET /api/v4/leads/7": lambda _: response,
            "GET /api/v4/contacts": lambda _: response,
        }
    )


async def test_validation_errors_are_readable() -> None:
    """A 400 with validation-errors lists each field path and Kommo's message."""
    async with client_for(always(problem(400, **VALIDATION))) as kommo:
        with pytest.raises(ValidationFailed) as caught:
            await kommo.update_leads([LeadPatch(id=7, status_id=1)])
    assert caught.value.errors == [
        "custom_fields_values.0.field_id: The value you selected is not a valid choice.",
        "status_id: This value should be of type array.",
    ]
    assert caught.value.status == 400


async def test_422_without_details_still_explains() -> None:
    """A 422 with only a detail (batch too big) surfaces that detail."""
    response = problem(422, title="Unprocessable Entity", detail="Limit 250 per page")
    async with client_for(always(response)) as kommo:
        with pytest.raises(ValidationFailed, match="Limit 250 per page"):
            await kommo.update_leads([LeadPatch(id=7)])


async def test_401_is_auth_failed_without_the_token() -> None:
    """A 401 raises AuthFailed whose message and description never contain the token."""
    response = problem(401, title="Unauthorized", detail="Invalid user name or password")
    async with client_for(always(response)) as kommo:
        with pytest.raises(AuthFailed) as caught:
            await kommo.get_lead(7)
    assert "secret-token-123" not in caught.value.describe() + repr(caught.value)


async def test_html_403_says_the_ip_is_blocked() -> None:
    """Kommo's nginx 403 page becomes AuthFailed telling the admin to contact support."""
    page = httpx.Response(
        403, text="<html><body>403 Forbidden</body></html>", headers={"Content-Type": "text/html"}
    )
    async with client_for(always(page)) as kommo:
        with pytest.raises(AuthFailed, match=r"IP address.*contact Kommo support"):
            await kommo.get_lead(7)


async def test_missing_lead_is_none_for_204_and_404() -> None:
    """get_lead returns None whether Kommo answers 204 or 404 for an unknown id."""
    for response in (httpx.Response(204), problem(404, detail="Not found")):
        async with client_for(always(response)) as kommo:
            assert await kommo.get_lead(7) is None


async def test_404_elsewhere_is_not_found() -> None:
    """A 404 on a write raises NotFound."""
    async with client_for(always(problem(404, detail="Lead not found"))) as kommo:
        with pytest.raises(NotFound, match="Lead not found"):
            await kommo.update_leads([LeadPatch(id=7)])


async def test_empty_search_is_an_empty_list() -> None:
    """A contact search with no match (204, empty body) returns [] rather than failing."""
    async with client_for(always(httpx.Response(204))) as kommo:
        assert await kommo.search_contacts("nobody@example.com") == []


async def test_429_waits_retry_after_from_the_body_then_succeeds() -> None:
    """A 429 whose problem body says retry_after=0 is retried and the call succeeds."""
    answers = iter(
        [problem(429, title="Too Many Requests", retry_after=0), hal({"id": 7, "name": "Deal"})]
    )
    fake = FakeKommo(routes={"GET /api/v4/leads/7": lambda _: next(answers)})
    async with client_for(fake) as kommo:
        lead = await kommo.get_lead(7)
    assert lead is not None and lead.name == "Deal"
    assert len(fake.seen) == 2


async def test_long_retry_after_surfaces_as_rate_limited() -> None:
    """Kommo's 300 s penalty is not slept through: it raises RateLimited with the wait."""
    async with client_for(always(problem(429, retry_after=300))) as kommo:
        with pytest.raises(RateLimited) as caught:
            await kommo.get_lead(7)
    assert caught.value.retry_after == 300


async def test_server_errors_are_retried_then_transient() -> None:
    """Repeated 503s are retried and finally raise TransientError."""
    fake = always(problem(503, detail="busy"))
    async with client_for(fake, retry=RetryPolicy(attempts=2, base_delay=0.001)) as kommo:
        with pytest.raises(TransientError):
            await kommo.get_lead(7)
    assert len(fake.seen) == 2


async def test_a_note_answered_with_a_server_error_is_not_posted_again() -> None:
    """A 500 on POST notes surfaces at once: Kommo may have made the note, so no blind resend."""
    fake = FakeKommo(routes={"POST /api/v4/leads/notes": lambda _: problem(500, detail="oops")})
    async with client_for(fake) as kommo:
        with pytest.raises(TransientError):
            await kommo.add_lead_notes([NoteCreate.service(7, "Invoice INV-1 made")])
    assert len(fake.seen) == 1


async def test_a_lead_create_whose_answer_was_lost_is_not_sent_again() -> None:
    """A read timeout on POST leads surfaces at once; a refused connection is retried."""

    def lost(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("answer lost", request=request)

    fake = FakeKommo(routes={"POST /api/v4/leads": lost})
    async with client_for(fake) as kommo:
        with pytest.raises(TransientError):
            await kommo.create_leads([LeadCreate(name="INV-1 Jane")])
    assert len(fake.seen) == 1

    refusals = iter([httpx.ConnectError("refused"), None])

    def refused_once(request: httpx.Request) -> httpx.Response:
        error = next(refusals)
        if error is not None:
            raise error
        return hal({"_embedded": {"leads": [{"id": 5, "request_id": "0"}]}})

    fake = FakeKommo(routes={"POST /api/v4/leads": refused_once})
    async with client_for(fake) as kommo:
        [created] = await kommo.create_leads([LeadCreate(name="INV-1 Jane")])
    assert (created.id, len(fake.seen)) == (5, 2)


async def test_payment_required_is_a_plain_api_error() -> None:
    """A 402 (subscription ended) raises ApiError naming the cause."""
    async with client_for(always(problem(402, detail="Payment required"))) as kommo:
        with pytest.raises(ApiError, match="subscription"):
            await kommo.get_lead(7)
