"""Tests of the HTTP layer: failures, auth, base URLs, timeouts, pools and closing."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from client_helpers import BASE_URL, KEY, MODEL, PATH, ok, ok_body

from routerhub_images import (
    APIConnectionError,
    APITimeoutError,
    AsyncImageClient,
    ClientClosedError,
    ConfigurationError,
    InsecureTransportError,
    MissingAPIKeyError,
    ResponseError,
    RetryPolicy,
    RouterHubError,
    TLSVerificationError,
)
from routerhub_images._config import ssl_context
from routerhub_images._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    CONNECT_TIMEOUT,
    DEFAULT_BASE_URL,
    POOL_TIMEOUT,
    READ_TIMEOUT,
    WRITE_TIMEOUT,
)
from routerhub_images._retry import instant_retries
from routerhub_images.emulator import EmulatorServer, Fault

pytestmark = pytest.mark.usefixtures("no_retry_sleeps")

DEFAULT_TIMEOUTS = {
    "connect": CONNECT_TIMEOUT,
    "read": READ_TIMEOUT,
    "write": WRITE_TIMEOUT,
    "pool": POOL_TIMEOUT,
}


@pytest.fixture(autouse=True)
def _no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)


# --- transport failures ------------------------------------------------------------


@pytest.mark.parametrize(
    ("raised", "cls", "phase", "sent", "attempts"),
    [
        (httpx.ConnectError("refused"), APIConnectionError, None, False, 5),
        (httpx.ConnectTimeout("slow"), APITimeoutError, "connect", False, 5),
        (httpx.ReadTimeout("slow"), APITimeoutError, "read", True, 1),
        (httpx.WriteTimeout("slow"), APITimeoutError, "write", True, 1),
        (httpx.PoolTimeout("busy"), APITimeoutError, "pool", False, 1),
        (httpx.RemoteProtocolError("peer closed"), APIConnectionError, None, True, 1),
        (httpx.ReadError("reset"), APIConnectionError, None, True, 1),
    ],
)
async def test_transport_failures_become_library_errors(
    mock: respx.MockRouter,
    mocked_client: AsyncImageClient,
    raised: httpx.TransportError,
    cls: type[APIConnectionError],
    phase: str | None,
    sent: bool,
    attempts: int,
) -> None:
    """httpx failures never leak; only the ones known to precede sending are retried."""
    route = mock.post(PATH).mock(side_effect=raised)
    with pytest.raises(APIConnectionError) as info:
        await mocked_client.generate_content(MODEL, "a fox")
    exc = info.value
    assert type(exc) is cls
    assert not isinstance(exc, httpx.HTTPError)
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    assert exc.request_sent is sent
    assert getattr(exc, "phase", None) == phase
    assert route.call_count == attempts
    assert exc.call is not None
    assert exc.call.attempts == attempts
    assert exc.call.http_status is None


async def test_connect_error_then_success_is_retried(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A connection refused before sending is retried and the call succeeds."""
    mock.post(PATH).mock(side_effect=[httpx.ConnectError("refused"), ok()])
    response = await mocked_client.generate_content(MODEL, "a fox")
    assert response.call is not None
    assert response.call.attempts == 2


async def test_retry_sent_requests_switch_retries_read_timeouts(mock: respx.MockRouter) -> None:
    """With retry_sent_requests=True a read timeout is retried."""
    route = mock.post(PATH).mock(side_effect=[httpx.ReadTimeout("slow"), ok()])
    policy = RetryPolicy(retry_sent_requests=True)
    async with AsyncImageClient(KEY, base_url=BASE_URL, retry=policy) as client:
        response = await client.generate_content(MODEL, "a fox")
    assert route.call_count == 2
    assert response.call is not None
    assert response.call.attempts == 2


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b'{"candidates": [{"content": {"parts": [{"te', "$"),
        (
            b'{"candidates": [{"content": {"parts": '
            b'[{"inlineData": {"mimeType": "image/png", "data": "!!not*base64!!"}}]}}]}',
            "$.candidates[0].content.parts[0].inlineData.data",
        ),
        (b'{"candidates": [1]}', "$.candidates[0]"),
    ],
)
async def test_2xx_with_a_bad_body_is_a_response_error(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, body: bytes, path: str
) -> None:
    """Truncated JSON or bad base64 in a 200 raise ResponseError with path and status."""
    route = mock.post(PATH).mock(return_value=httpx.Response(200, content=body))
    with pytest.raises(ResponseError) as info:
        await mocked_client.generate_content(MODEL, "a fox")
    assert info.value.path == path
    assert info.value.http_status == 200
    assert route.call_count == 1
    assert info.value.call is not None
    assert info.value.call.attempts == 1


async def test_undecodable_body_is_a_response_error(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A body that claims gzip but is not raises ResponseError, not httpx.DecodingError."""
    mock.post(PATH).mock(
        side_effect=lambda request: httpx.Response(
            200, headers={"content-encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )
    )
    with pytest.raises(ResponseError, match="decode"):
        await mocked_client.generate_content(MODEL, "a fox")


# --- auth, keys and base URLs ------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "header", "value"),
    [("bearer", "authorization", f"Bearer {KEY}"), ("x-goog-api-key", "x-goog-api-key", KEY)],
)
async def test_auth_style_sends_exactly_one_header(
    mock: respx.MockRouter, auth: Any, header: str, value: str
) -> None:
    """Each auth style sends the key in exactly one header."""
    route = mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL, auth=auth) as client:
        await client.generate_content(MODEL, "a fox")
    headers = route.calls.last.request.headers
    assert headers.get_list(header) == [value]
    carrying_key = [name for name, v in headers.multi_items() if KEY in v]
    assert carrying_key == [header]
    assert headers["content-type"] == "application/json"


def test_bearer_is_the_default_auth_style() -> None:
    """Without auth=..., the key travels as a bearer token."""
    assert AsyncImageClient(KEY).auth == "bearer"


def test_unknown_auth_style_is_rejected() -> None:
    """An auth style other than the two known ones fails at construction."""
    with pytest.raises(RouterHubError, match="auth must be"):
        AsyncImageClient(KEY, auth="basic")  # type: ignore[arg-type]


async def test_env_vars_supply_key_and_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTERHUB_API_KEY and ROUTERHUB_BASE_URL are used when no argument is passed."""
    monkeypatch.setenv(API_KEY_ENV, "rh_from_env")
    monkeypatch.setenv(BASE_URL_ENV, "https://proxy.example.com/")
    with respx.mock(base_url="https://proxy.example.com") as mock:
        route = mock.post(PATH).mock(return_value=ok())
        async with AsyncImageClient() as client:
            assert client.base_url == "https://proxy.example.com"
            await client.generate_content(MODEL, "a fox")
    assert route.calls.last.request.headers["authorization"] == "Bearer rh_from_env"


async def test_explicit_arguments_beat_env_vars(
    monkeypatch: pytest.MonkeyPatch, mock: respx.MockRouter
) -> None:
    """api_key= and base_url= win over the environment."""
    monkeypatch.setenv(API_KEY_ENV, "rh_from_env")
    monkeypatch.setenv(BASE_URL_ENV, "https://proxy.example.com")
    route = mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        await client.generate_content(MODEL, "a fox")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


def test_base_url_defaults_to_production() -> None:
    """With no argument and no env var, the client talks to RouterHub's host."""
    assert AsyncImageClient(KEY).base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize("env", [None, "", "   "])
def test_missing_key_fails_at_construction(
    monkeypatch: pytest.MonkeyPatch, env: str | None
) -> None:
    """No key (unset, empty or blank) raises MissingAPIKeyError naming the env var."""
    if env is not None:
        monkeypatch.setenv(API_KEY_ENV, env)
    with pytest.raises(MissingAPIKeyError, match=API_KEY_ENV):
        AsyncImageClient()


async def test_key_with_a_trailing_newline_is_stripped(
    monkeypatch: pytest.MonkeyPatch, mock: respx.MockRouter
) -> None:
    """A key read from a file (ending in a newline) is stripped, not refused."""
    monkeypatch.setenv(API_KEY_ENV, f"{KEY}\n")
    route = mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(base_url=BASE_URL) as client:
        await client.generate_content(MODEL, "a fox")
    assert route.calls.last.request.headers["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize("key", ["rh_a b", "rh_a\x00b", "rh_a\nb"])
def test_key_with_inner_whitespace_or_controls_is_refused(key: str) -> None:
    """A key that cannot travel in a header fails at construction, without echoing it."""
    with pytest.raises(MissingAPIKeyError) as info:
        AsyncImageClient(key)
    assert key not in str(info.value)


@pytest.mark.parametrize(
    "base_url", ["http://api.routerhub.ai", "http://10.0.0.5:8080", "http://example.com/v"]
)
def test_plain_http_to_a_remote_host_is_refused(base_url: str) -> None:
    """The key is never sent in clear text to a host that is not loopback."""
    with pytest.raises(InsecureTransportError, match="allow_insecure_http"):
        AsyncImageClient(KEY, base_url=base_url)


def test_plain_http_to_a_remote_host_with_opt_in_is_allowed() -> None:
    """allow_insecure_http=True lets the caller send over http:// anyway."""
    client = AsyncImageClient(KEY, base_url="http://10.0.0.5:8080", allow_insecure_http=True)
    assert client.base_url == "http://10.0.0.5:8080"


@pytest.mark.parametrize(
    "base_url", ["http://127.0.0.1:8080", "http://localhost:8080", "http://[::1]:8080"]
)
def test_plain_http_to_loopback_is_allowed(base_url: str) -> None:
    """http:// to a loopback host needs no opt-in (local emulators, dev proxies)."""
    assert AsyncImageClient(KEY, base_url=base_url).base_url == base_url


@pytest.mark.parametrize(
    "base_url", ["http://[::1", "ftp://api.routerhub.ai", "api.routerhub.ai", "https://h/?a=b"]
)
def test_malformed_base_url_is_a_configuration_error(base_url: str) -> None:
    """A base URL that is not a plain http(s) URL raises ConfigurationError, not httpx's."""
    with pytest.raises(ConfigurationError):
        AsyncImageClient(KEY, base_url=base_url)


# --- timeouts ----------------------------------------------------------------------


def timeouts_seen(mock: respx.MockRouter) -> list[dict[str, float | None]]:
    """Route every call to a 200 and record the timeout extension httpx got."""
    seen: list[dict[str, float | None]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200, json=ok_body())

    mock.post(PATH).mock(side_effect=answer)
    return seen


async def test_default_split_timeouts_reach_httpx(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """The default connect/read/write/pool timeouts come from the constants."""
    seen = timeouts_seen(mock)
    await mocked_client.generate_content(MODEL, "a fox")
    assert seen == [DEFAULT_TIMEOUTS]


@pytest.mark.parametrize(
    ("per_call", "expected"),
    [
        (5, dict.fromkeys(DEFAULT_TIMEOUTS, 5.0)),
        (None, dict.fromkeys(DEFAULT_TIMEOUTS)),
        (httpx.Timeout(2.0, read=30.0), {"connect": 2.0, "read": 30.0, "write": 2.0, "pool": 2.0}),
    ],
)
async def test_per_call_timeout_overrides_the_client(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, per_call: Any, expected: dict[str, Any]
) -> None:
    """timeout= on a call replaces the client's; None means no timeout."""
    seen = timeouts_seen(mock)
    await mocked_client.generate_content(MODEL, "a fox", timeout=per_call)
    assert seen == [expected]


async def test_client_timeout_applies_to_every_call(mock: respx.MockRouter) -> None:
    """A timeout given to the client is used by calls that pass none."""
    seen = timeouts_seen(mock)
    async with AsyncImageClient(KEY, base_url=BASE_URL, timeout=20) as client:
        await client.generate_content(MODEL, "a fox")
    assert seen == [dict.fromkeys(DEFAULT_TIMEOUTS, 20.0)]


async def test_injected_client_keeps_its_own_timeout_and_stays_open(
    mock: respx.MockRouter,
) -> None:
    """An injected httpx client's timeout is not overridden, and aclose() leaves it open."""
    seen = timeouts_seen(mock)
    async with httpx.AsyncClient(timeout=7) as http_client:
        client = AsyncImageClient(KEY, base_url=BASE_URL, http_client=http_client)
        await client.generate_content(MODEL, "a fox")
        await client.generate_content(MODEL, "a fox", timeout=3)
        await client.aclose()
        assert client.closed
        assert not http_client.is_closed
    assert seen == [dict.fromkeys(DEFAULT_TIMEOUTS, 7.0), dict.fromkeys(DEFAULT_TIMEOUTS, 3.0)]


async def test_timeout_given_with_an_injected_client_wins(mock: respx.MockRouter) -> None:
    """A timeout passed to our client applies even with an injected httpx client."""
    seen = timeouts_seen(mock)
    async with (
        httpx.AsyncClient(timeout=7) as http_client,
        AsyncImageClient(KEY, base_url=BASE_URL, http_client=http_client, timeout=11) as client,
    ):
        await client.generate_content(MODEL, "a fox")
    assert seen == [dict.fromkeys(DEFAULT_TIMEOUTS, 11.0)]


# --- pools, closing and event loops --------------------------------------------------


async def test_200_concurrent_calls_share_one_client(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """Hundreds of tasks on one client all succeed."""
    route = mock.post(PATH).mock(return_value=ok())
    responses = await asyncio.gather(
        *(mocked_client.generate_content(MODEL, f"fox {i}") for i in range(200))
    )
    assert route.call_count == 200
    assert all(len(r.images) == 1 for r in responses)


async def test_closed_client_raises_client_closed_error(mock: respx.MockRouter) -> None:
    """A call after aclose() raises ClientClosedError and sends nothing."""
    route = mock.post(PATH).mock(return_value=ok())
    client = AsyncImageClient(KEY, base_url=BASE_URL)
    await client.aclose()
    await client.aclose()  # closing twice is harmless
    with pytest.raises(ClientClosedError, match="closed"):
        await client.generate_content(MODEL, "a fox")
    assert route.call_count == 0


async def test_async_with_closes_the_client(mock: respx.MockRouter) -> None:
    """Leaving ``async with`` closes the client."""
    mock.post(PATH).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        await client.generate_content(MODEL, "a fox")
        assert not client.closed
    assert client.closed


def test_one_client_works_across_two_asyncio_runs(routerhub_emulator: EmulatorServer) -> None:
    """The same client serves two consecutive asyncio.run() calls over a real pool."""
    server = routerhub_emulator
    client = AsyncImageClient(server.api_key, base_url=server.base_url)

    async def generate() -> int:
        response = await client.generate_content(MODEL, "a fox")
        return len(response.images)

    assert asyncio.run(generate()) == 1
    assert asyncio.run(generate()) == 1

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
    assert server.app.log.count == 2


@pytest.fixture
def slow_server() -> Iterator[EmulatorServer]:
    # Its own server: requests the tests abandon still finish there after the test.
    with EmulatorServer() as server:
        server.app.config.latency = 0.3
        yield server


async def test_cancelling_requests_on_a_saturated_pool_leaks_no_slots(
    slow_server: EmulatorServer,
) -> None:
    """After cancelling many in-flight and queued requests, new calls still get connections."""
    client = AsyncImageClient(slow_server.api_key, base_url=slow_server.base_url)
    client._pools._limits = httpx.Limits(max_connections=2)  # a pool that saturates
    # A leaked slot shows as a pool timeout instead of a hang.
    timeout = httpx.Timeout(5.0, pool=2.0)
    async with client:
        tasks = [
            asyncio.create_task(client.generate_content(MODEL, f"fox {i}", timeout=timeout))
            for i in range(20)
        ]
        await asyncio.sleep(0.1)  # two requests are on the wire, eighteen wait for the pool
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)

        slow_server.app.config.latency = 0.15
        started = time.monotonic()
        responses = await asyncio.gather(
            *(client.generate_content(MODEL, f"fox {i}", timeout=timeout) for i in range(6))
        )
        assert all(len(r.images) == 1 for r in responses)
        # Three rounds of 0.15 s on two connections; one leaked slot would make it six.
        assert time.monotonic() - started < 0.9


async def test_cancel_scope_during_a_request_leaves_the_pool_healthy(
    slow_server: EmulatorServer,
) -> None:
    """A request abandoned by an anyio cancel scope does not break later calls."""
    async with AsyncImageClient(slow_server.api_key, base_url=slow_server.base_url) as client:
        with anyio.move_on_after(0.05) as scope:
            await client.generate_content(MODEL, "a fox")
        assert scope.cancelled_caught
        slow_server.app.config.latency = 0.0
        response = await client.generate_content(MODEL, "a fox")
        assert len(response.images) == 1


async def test_real_server_faults_are_typed_through_a_real_pool(
    routerhub_emulator: EmulatorServer,
) -> None:
    """Over loopback, a dropped connection and an HTML 502 become library errors."""
    server = routerhub_emulator
    server.app.script(Fault.disconnect(), Fault.html(502), Fault.html(502))
    async with AsyncImageClient(server.api_key, base_url=server.base_url, max_retries=1) as client:
        with pytest.raises(APIConnectionError) as dropped:
            await client.generate_content(MODEL, "a fox")
        assert dropped.value.request_sent
        with pytest.raises(RouterHubError) as html:
            await client.generate_content(MODEL, "a fox")
        assert html.value.call is not None
        assert html.value.call.attempts == 2
        response = await client.generate_content(MODEL, "a fox")
        assert len(response.images) == 1


async def test_certificate_failure_is_not_retried() -> None:
    """A certificate that fails verification raises TLSVerificationError after one try."""
    calls = 0

    def fail(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        cause = ssl.SSLCertVerificationError(1, "certificate verify failed")
        cause.verify_message = "self-signed certificate"
        raise httpx.ConnectError("TLS handshake failed", request=request) from cause

    async with AsyncImageClient(KEY, base_url=BASE_URL, transport=httpx.MockTransport(fail)) as c:
        with instant_retries(), pytest.raises(TLSVerificationError) as info:
            await c.generate_image("a cat")
    assert calls == 1
    assert "self-signed certificate" in str(info.value)
    assert isinstance(info.value, APIConnectionError)


@pytest.mark.parametrize("auth", ["bearer", "x-goog-api-key"])
async def test_key_is_not_kept_in_the_sent_request(mock: respx.MockRouter, auth: str) -> None:
    """The key is sent, but error.response.request keeps no trace of it, in either style."""
    header = "authorization" if auth == "bearer" else "x-goog-api-key"
    sent_values: list[str | None] = []

    def reject(request: httpx.Request) -> httpx.Response:
        sent_values.append(request.headers.get(header))
        body = {"error": {"code": 401, "message": "bad key", "status": "UNAUTHENTICATED"}}
        return httpx.Response(401, json=body)

    mock.post(PATH).mock(side_effect=reject)
    async with AsyncImageClient(KEY, base_url=BASE_URL, auth=auth) as client:  # type: ignore[arg-type]
        with pytest.raises(RouterHubError) as info:
            await client.generate_image("a cat")
    assert sent_values == [f"Bearer {KEY}" if auth == "bearer" else KEY]
    response = info.value.response  # type: ignore[attr-defined]
    assert response is not None
    kept = response.request.headers
    assert KEY not in str(dict(kept)) + repr(kept) + repr(response.request)


def test_clients_with_the_same_ca_settings_share_one_ssl_context(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The CA bundle is loaded once per CA setting, not once per client."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    shared = ssl_context(trust_env=True)
    assert ssl_context(trust_env=True) is shared
    assert ssl_context(trust_env=False) is not shared
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert ssl_context(trust_env=True) is not shared
