"""Tests of the error tree: status mapping, bodies of every shape, details, pickling."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest
import respx
from client_helpers import MODEL, error, quota_failure, retry_info
from hypothesis import given
from hypothesis import strategies as st

from routerhub_images import (
    AbortedError,
    AlreadyExistsError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AsyncImageClient,
    CallInfo,
    DeadlineExceededError,
    ErrorInfo,
    FailedPreconditionError,
    HelpLink,
    InsufficientCreditError,
    InternalServerError,
    InvalidArgumentError,
    InvalidModelError,
    MissingAPIKeyError,
    NotFoundError,
    NotImplementedAPIError,
    OperationCancelledError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    ResponseError,
    RouterHubError,
    UnauthenticatedError,
    UnavailableError,
    UnknownAPIError,
)
from routerhub_images._constants import ERROR_EXCERPT_CHARS
from routerhub_images._errors import api_error_from_http

pytestmark = pytest.mark.usefixtures("no_retry_sleeps")

HTML_502 = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)
ERROR_INFO = {
    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
    "reason": "API_KEY_INVALID",
    "domain": "googleapis.com",
    "metadata": {"service": "generativelanguage.googleapis.com"},
}
HELP = {
    "@type": "type.googleapis.com/google.rpc.Help",
    "links": [
        {"description": "Quota docs", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}
    ],
}


async def fail(client: AsyncImageClient, **kwargs: object) -> BaseException:
    with pytest.raises(RouterHubError) as info:
        await client.generate_content(MODEL, "a red fox", **kwargs)  # type: ignore[arg-type]
    return info.value


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (400, "INVALID_ARGUMENT", InvalidArgumentError),
        (400, "FAILED_PRECONDITION", FailedPreconditionError),
        (400, "OUT_OF_RANGE", OutOfRangeError),
        (401, "UNAUTHENTICATED", UnauthenticatedError),
        (403, "PERMISSION_DENIED", PermissionDeniedError),
        (404, "NOT_FOUND", NotFoundError),
        (409, "ABORTED", AbortedError),
        (409, "ALREADY_EXISTS", AlreadyExistsError),
        (429, "RESOURCE_EXHAUSTED", ResourceExhaustedError),
        (499, "CANCELLED", OperationCancelledError),
        (500, "INTERNAL", InternalServerError),
        (501, "NOT_IMPLEMENTED", NotImplementedAPIError),
        (503, "UNAVAILABLE", UnavailableError),
        (504, "DEADLINE_EXCEEDED", DeadlineExceededError),
        (500, "UNKNOWN", UnknownAPIError),
        (500, "BRAND_NEW_STATUS", UnknownAPIError),
    ],
)
async def test_google_status_maps_to_its_class(
    mock: respx.MockRouter,
    mocked_client: AsyncImageClient,
    code: int,
    status: str,
    cls: type[APIStatusError],
) -> None:
    """Each Google status raises its own APIStatusError subclass with code, status, message."""
    route = mock.post().mock(return_value=error(code, status, message="server says no"))
    exc = await fail(mocked_client, max_retries=0)
    assert type(exc) is cls
    assert isinstance(exc, APIStatusError)
    assert (exc.code, exc.status, exc.message) == (code, status, "server says no")
    assert str(exc) == f"{code} {status}: server says no"
    assert route.call_count == 1


@pytest.mark.parametrize(
    ("code", "body", "cls", "excerpt"),
    [
        (502, HTML_502, UnavailableError, "<center><h1>502 Bad Gateway</h1></center>"),
        (503, b"", UnavailableError, "(empty body)"),
        (500, b"", InternalServerError, "(empty body)"),
        (504, b"upstream request timeout", DeadlineExceededError, "upstream request timeout"),
        (400, b"Bad Request", InvalidArgumentError, "Bad Request"),
        (401, b"", UnauthenticatedError, "(empty body)"),
        (403, b"Forbidden", PermissionDeniedError, "Forbidden"),
        (404, b"404 page not found", NotFoundError, "404 page not found"),
        (408, b"", DeadlineExceededError, "(empty body)"),
        (429, b"Too Many Requests", ResourceExhaustedError, "Too Many Requests"),
        (418, b"I'm a teapot", UnknownAPIError, "I'm a teapot"),
    ],
)
async def test_non_json_body_maps_by_http_code_with_an_excerpt(
    mock: respx.MockRouter,
    mocked_client: AsyncImageClient,
    code: int,
    body: bytes,
    cls: type[APIStatusError],
    excerpt: str,
) -> None:
    """A body that is not Google JSON maps from the HTTP code and quotes the body."""
    mock.post().mock(return_value=httpx.Response(code, content=body))
    exc = await fail(mocked_client, max_retries=0)
    assert type(exc) is cls
    assert isinstance(exc, APIStatusError)
    assert exc.status is None
    assert exc.code == code
    assert excerpt in exc.message
    assert excerpt in str(exc)


def test_long_body_is_cut_to_a_short_excerpt() -> None:
    """A huge HTML page is quoted only up to ERROR_EXCERPT_CHARS, on one line."""
    body = b"<html>" + b"<p>proxy trouble</p>\n" * 5000 + b"</html>"
    exc = api_error_from_http(502, {}, body)
    assert len(exc.message) == ERROR_EXCERPT_CHARS + len("...")
    assert exc.message.endswith("...")
    assert "\n" not in exc.message


async def test_error_wrapped_in_a_json_array_parses(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A transcoded gRPC error, ``[{"error": ...}]``, parses like a bare one."""
    body = [{"error": {"code": 400, "message": "bad field", "status": "INVALID_ARGUMENT"}}]
    mock.post().mock(return_value=httpx.Response(400, json=body))
    exc = await fail(mocked_client)
    assert type(exc) is InvalidArgumentError
    assert exc.message == "bad field"


async def test_details_are_parsed_and_raw_kept(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """RetryInfo, QuotaFailure, ErrorInfo and Help become typed fields; raw dicts stay."""
    details = [retry_info("48.8s"), quota_failure("PerMinute"), ERROR_INFO, HELP]
    mock.post().mock(return_value=error(429, "RESOURCE_EXHAUSTED", details=details))
    exc = await fail(mocked_client, max_retries=0)
    assert isinstance(exc, ResourceExhaustedError)
    assert exc.retry_delay == pytest.approx(48.8)
    (violation,) = exc.details.quota_violations
    assert violation.quota_id == "PerMinute"
    assert violation.quota_metric == "generativelanguage.googleapis.com/generate_content_requests"
    assert violation.quota_dimensions == {"model": "gemini-2.5-flash-image", "location": "global"}
    assert violation.quota_value == "10"
    assert not exc.is_daily_quota
    assert exc.details.error_info == ErrorInfo(
        reason="API_KEY_INVALID",
        domain="googleapis.com",
        metadata={"service": "generativelanguage.googleapis.com"},
    )
    assert exc.details.help_links == (
        HelpLink(description="Quota docs", url="https://ai.google.dev/gemini-api/docs/rate-limits"),
    )
    assert list(exc.details.raw) == details


@pytest.mark.parametrize(
    "details",
    [
        "not a list",
        [retry_info("soon")],
        [{"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": "x"}],
        [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": 7, "metadata": [1]}],
        [42, None, {"no": "type"}],
    ],
)
def test_malformed_details_never_raise(details: object) -> None:
    """Details of the wrong shape leave the typed fields empty instead of raising."""
    body = json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": details}})
    exc = api_error_from_http(429, {}, body.encode())
    assert isinstance(exc, ResourceExhaustedError)
    assert exc.retry_delay is None
    assert exc.details.quota_violations == ()


@pytest.mark.parametrize("status", ["RESOURCE_EXHAUSTED", None])
async def test_402_is_insufficient_credit_and_not_retried(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, status: str | None
) -> None:
    """HTTP 402 is InsufficientCreditError, not a rate limit, and is sent only once."""
    route = mock.post().mock(return_value=error(402, status, details=[retry_info("5s")]))
    exc = await fail(mocked_client)
    assert type(exc) is InsufficientCreditError
    assert not isinstance(exc, ResourceExhaustedError)
    assert route.call_count == 1
    assert exc.call is not None
    assert exc.call.attempts == 1


@pytest.mark.parametrize("header", ["x-request-id", "X-Goog-Request-Id", "request-id"])
async def test_request_id_header_is_on_the_error(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, header: str
) -> None:
    """The server's request id is on the error and on its call metadata."""
    mock.post().mock(return_value=error(400, "INVALID_ARGUMENT", headers={header: "req-123"}))
    exc = await fail(mocked_client)
    assert isinstance(exc, APIStatusError)
    assert exc.request_id == "req-123"
    assert exc.call == CallInfo(
        attempts=1,
        backoff_seconds=0.0,
        elapsed_seconds=exc.call.elapsed_seconds if exc.call else 0.0,
        request_id="req-123",
        http_status=400,
    )


def test_request_id_is_found_whatever_the_header_case() -> None:
    """api_error_from_http reads headers case-insensitively, even from a plain dict."""
    exc = api_error_from_http(503, {"X-Request-Id": "abc", "Retry-After": "3"}, b"")
    assert exc.request_id == "abc"
    assert exc.headers["retry-after"] == "3"


async def test_api_error_pickles_with_its_attributes(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A raised APIStatusError survives pickling with every attribute but the response."""
    details = [retry_info("2s"), quota_failure("GenerateRequestsPerDayPerProjectPerModel")]
    headers = {"x-request-id": "req-9"}
    mock.post().mock(
        return_value=error(429, "RESOURCE_EXHAUSTED", details=details, headers=headers)
    )
    exc = await fail(mocked_client)
    assert isinstance(exc, ResourceExhaustedError)
    assert exc.response is not None
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is ResourceExhaustedError
    assert copy.response is None
    assert str(copy) == str(exc)
    assert copy.args == exc.args
    for name in ("code", "status", "message", "details", "headers", "request_id", "call"):
        assert getattr(copy, name) == getattr(exc, name), name
    assert copy.is_daily_quota


@pytest.mark.parametrize(
    "exc",
    [
        ResponseError("bad body", path="$.candidates[0]", http_status=200),
        APIConnectionError("refused", request_sent=False),
        APITimeoutError("read timeout", phase="read"),
        MissingAPIKeyError("no key"),
        InvalidModelError("bad model"),
        api_error_from_http(402, {"x-request-id": "r"}, b"payment required"),
    ],
)
def test_other_errors_pickle_with_their_attributes(exc: RouterHubError) -> None:
    """Every error class pickles with its attributes and its call metadata."""
    exc.call = CallInfo(attempts=3, backoff_seconds=1.5, request_id="r", http_status=503)
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is type(exc)
    assert str(copy) == str(exc)
    assert copy.__dict__ == exc.__dict__


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,
        b"\xff\xfe\x00garbage",
        b"[]",
        b"null",
        b"[1, 2]",
        b'{"error": "Bad Gateway"}',
        b'{"error": {"status": 503, "message": ["x"]}}',
        b'{"error": {"status": "UNAVAILABLE", "details": {"a": 1}}}',
    ],
)
def test_strange_bodies_still_give_a_typed_error(body: bytes) -> None:
    """Odd, nested or non-UTF-8 bodies never raise while building the error."""
    exc = api_error_from_http(503, {}, body)
    assert isinstance(exc, UnavailableError)


@given(code=st.integers(300, 599), body=st.binary(max_size=300))
def test_api_error_from_http_never_raises(code: int, body: bytes) -> None:
    """Any code and any bytes give an APIStatusError."""
    assert isinstance(api_error_from_http(code, {}, body), APIStatusError)
