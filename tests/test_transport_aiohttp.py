"""The client over ``transport="aiohttp"`` (httpx-aiohttp) against real loopback servers."""

from __future__ import annotations

import asyncio
import gzip
import socket
import ssl
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from client_helpers import MODEL, SMALL_IMAGE_MODEL, read_request

from routerhub_images import (
    APIConnectionError,
    APITimeoutError,
    AsyncImageClient,
    ClientClosedError,
    ConfigurationError,
    GenerateContentResponse,
    InvalidArgumentError,
    InvalidInputError,
    RouterHubError,
    Timeout,
    TLSVerificationError,
)
from routerhub_images._aiohttp import env_proxy
from routerhub_images._constants import KEEPALIVE_EXPIRY, MAX_CONNECTIONS
from routerhub_images._http import ConnectionPools
from routerhub_images._sync import ImageClient
from routerhub_images._wire import RequestBody
from routerhub_images.emulator import EmulatorServer, Fault
from routerhub_images.emulator._png import synthesize_png

httpx_aiohttp = pytest.importorskip("httpx_aiohttp")
aiohttp = pytest.importorskip("aiohttp")

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_retry_sleeps")]


@pytest.fixture
async def aiohttp_client(routerhub_emulator: EmulatorServer) -> AsyncIterator[AsyncImageClient]:
    """An AsyncImageClient on the aiohttp transport, to the session's emulator."""
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, transport="aiohttp"
    ) as client:
        yield client


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _raw_server(handler: Handler) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


# --- success ----------------------------------------------------------------------


async def test_generate_returns_the_image(aiohttp_client: AsyncImageClient) -> None:
    """A generation over aiohttp returns a decoded PNG and the call info."""
    response = await aiohttp_client.generate_image("a cute otter")
    (image,) = response.images
    assert image.data.startswith(b"\x89PNG")
    assert response.call is not None
    assert response.call.http_status == 200


async def test_edit_uploads_the_image(
    aiohttp_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """An edit's request body reaches the server whole over aiohttp."""
    source = synthesize_png(b"upload", 256, 256)
    edited = await aiohttp_client.edit_image(source, "make it blue")
    assert edited.images[0].data.startswith(b"\x89PNG")
    assert routerhub_emulator.app.log.statuses == [200]


async def test_status_errors_are_typed_and_retried(
    aiohttp_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """HTTP errors map as over httpx: a 503 is retried, a 400 raised at once."""
    routerhub_emulator.app.script(Fault.status(503), Fault.status(400))
    with pytest.raises(InvalidArgumentError):
        await aiohttp_client.generate_image("a cat")
    assert routerhub_emulator.app.log.statuses == [503, 400]


async def test_many_concurrent_calls_share_one_session(aiohttp_client: AsyncImageClient) -> None:
    """Fifty concurrent generations on one aiohttp-backed client all succeed."""
    responses = await asyncio.gather(
        *(
            aiohttp_client.generate_image(f"otter {i}", model=SMALL_IMAGE_MODEL, image_size="512")
            for i in range(50)
        )
    )
    assert [len(r.images) for r in responses] == [1] * 50


# --- failures map to the same library errors ---------------------------------------


async def test_connection_refused_is_not_sent(routerhub_emulator: EmulatorServer) -> None:
    """A refused connection is APIConnectionError(request_sent=False), retried."""
    base_url = f"http://127.0.0.1:{_free_port()}"
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=base_url, transport="aiohttp", max_retries=1
    ) as c:
        with pytest.raises(APIConnectionError) as info:
            await c.generate_image("a cat")
    exc = info.value
    assert type(exc) is APIConnectionError
    assert not exc.request_sent
    assert exc.__cause__ is None
    assert exc.call is not None
    assert exc.call.attempts == 2


async def test_read_timeout_is_a_read_phase_timeout(
    aiohttp_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A server slower than the read timeout raises APITimeoutError(phase='read')."""
    routerhub_emulator.app.script(Fault.delay(1.0))
    with pytest.raises(APITimeoutError) as info:
        await aiohttp_client.generate_image("a cat", timeout=Timeout(5.0, read=0.1))
    assert info.value.phase == "read"
    assert info.value.request_sent
    assert routerhub_emulator.app.log.count <= 1


async def test_dropped_connection_mid_body_is_sent(
    aiohttp_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A body cut short is APIConnectionError(request_sent=True) and not retried."""
    routerhub_emulator.app.script(Fault.disconnect())
    with pytest.raises(APIConnectionError) as info:
        await aiohttp_client.generate_image("a cat")
    assert type(info.value) is APIConnectionError
    assert info.value.request_sent
    assert routerhub_emulator.app.log.count == 1


async def test_server_closing_before_answering_is_sent_not_a_timeout() -> None:
    """A close before any answer is a sent connection error (httpx-aiohttp says ConnectTimeout)."""
    calls = 0

    async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal calls
        calls += 1
        await read_request(reader)
        writer.close()

    server, base_url = await _raw_server(hang_up)
    async with server, AsyncImageClient("rh_key", base_url=base_url, transport="aiohttp") as c:
        with pytest.raises(APIConnectionError) as info:
            await c.generate_content(MODEL, "a fox")
    assert type(info.value) is APIConnectionError
    assert info.value.request_sent
    assert calls == 1  # a request that may have been sent is not retried


async def test_malformed_http_answer_is_a_connection_error() -> None:
    """An answer that is not HTTP, which aiohttp raises untranslated, is still ours."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(b"NOT HTTP AT ALL\r\n\r\n")
        await writer.drain()
        writer.close()

    server, base_url = await _raw_server(garbage)
    async with server, AsyncImageClient("rh_key", base_url=base_url, transport="aiohttp") as c:
        with pytest.raises(APIConnectionError) as info:
            await c.generate_content(MODEL, "a fox", max_retries=0)
    assert type(info.value) is APIConnectionError
    assert info.value.request_sent


async def test_waiting_for_a_pooled_connection_times_out_unsent(
    routerhub_emulator: EmulatorServer,
) -> None:
    """With one connection busy, a second request times out before sending (pool limit)."""
    routerhub_emulator.app.config.latency = 0.5
    transport = ConnectionPools(
        base_url=routerhub_emulator.base_url,
        auth_headers={"x-goog-api-key": routerhub_emulator.api_key},
        timeout=Timeout(5.0, pool=0.1),
        transport="aiohttp",
        limits=httpx.Limits(max_connections=1),
    )
    path = f"/v1beta/models/{MODEL}:generateContent"
    body = RequestBody([b'{"contents":[{"parts":[{"text":"a fox"}]}]}'], [])
    try:
        first = asyncio.create_task(transport.post(path, body))
        await asyncio.sleep(0.05)
        with pytest.raises(APITimeoutError) as info:
            await transport.post(path, body)
        assert (await first).status_code == 200
    finally:
        await transport.aclose()
    assert info.value.phase == "connect"
    assert not info.value.request_sent


def _post_transport(base_url: str, choice: str, timeout: Timeout) -> ConnectionPools:
    return ConnectionPools(
        base_url=base_url,
        auth_headers={"x-goog-api-key": "rh_key"},
        timeout=timeout,
        transport=choice,  # type: ignore[arg-type]
    )


async def _read_body(reader: asyncio.StreamReader) -> bytes:
    head, body = await read_request(reader)
    assert b"transfer-encoding" not in head.lower()  # sent with its Content-Length
    return body


def _answer(payload: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (
        len(payload),
        payload,
    )


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_a_body_the_server_does_not_take_is_a_write_timeout(choice: str) -> None:
    """Both transports give up on a stalled upload after the write timeout, as 'sent'."""
    stalled: list[asyncio.StreamWriter] = []
    release = asyncio.Event()

    async def never_read(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)
        await release.wait()
        writer.close()

    server, base_url = await _raw_server(never_read)
    transport = _post_transport(base_url, choice, Timeout(10.0, write=0.3))
    body = b"x" * (64 << 20)  # more than loopback's socket buffers hold
    try:
        async with server:
            started = asyncio.get_running_loop().time()
            with pytest.raises(APITimeoutError) as info, anyio.fail_after(10):  # not a hang
                await transport.post("/v1beta/models/m:generateContent", RequestBody([body], []))
            elapsed = asyncio.get_running_loop().time() - started
            release.set()
    finally:
        await transport.aclose()
    assert info.value.phase == "write"
    assert info.value.request_sent
    assert 0.3 <= elapsed < 5.0


async def test_the_write_deadline_ends_with_the_body() -> None:
    """A large body sent in time arrives whole; a slow answer after it is not a write timeout."""
    body = bytes(range(256)) * (3 * 4096 + 7)  # ~3 MiB: several pieces and a short last one
    received: list[bytes] = []

    async def slow_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await _read_body(reader))
        await asyncio.sleep(0.6)  # past the write timeout, within the read timeout
        writer.write(_answer(b"{}"))
        await writer.drain()
        writer.close()

    server, base_url = await _raw_server(slow_answer)
    transport = _post_transport(base_url, "aiohttp", Timeout(10.0, write=0.3))
    try:
        async with server:
            answer = await transport.post(
                "/v1beta/models/m:generateContent", RequestBody([body], [])
            )
    finally:
        await transport.aclose()
    assert answer.status_code == 200
    assert received == [body]


async def test_respx_httpx_mocker_sees_the_aiohttp_transport() -> None:
    """As docs/emulator.md says: ``respx.mock(using="httpx")`` stubs calls over aiohttp."""
    respx = pytest.importorskip("respx")
    answer = {"candidates": [{"content": {"role": "model", "parts": [{"text": "stubbed"}]}}]}
    with respx.mock(using="httpx", base_url="https://api.routerhub.ai") as router:
        route = router.post(f"/v1beta/models/{MODEL}:generateContent").respond(json=answer)
        async with AsyncImageClient("rh_key", transport="aiohttp") as client:
            response = await client.generate_content(MODEL, "a fox")
    assert response.text == "stubbed"
    assert route.call_count == 1


# --- the same outcome over both transports ------------------------------------------

OK_BODY = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]}}]}'


def _reply(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 %d X\r\ncontent-length: %d\r\n%s\r\n%s" % (status, len(body), extra, body)


MALFORMED_ANSWERS = {
    "redirect": _reply(301, b"", b"location: http://127.0.0.1:1/x\r\n"),
    "html-200": _reply(200, b"<html>hi</html>", b"content-type: text/html\r\n"),
    "gzip": _reply(200, gzip.compress(OK_BODY), b"content-encoding: gzip\r\n"),
    "bad-gzip": _reply(200, b"notgzip", b"content-encoding: gzip\r\n"),
    "short-body": b'HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n{"cand',
    "bad-chunk": b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nZZZ\r\nabc\r\n",
    "no-length": b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\r\n" + OK_BODY,
    "huge-header": b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 200_000 + b"\r\n\r\n{}",
    "http-1.0": b"HTTP/1.0 200 OK\r\n\r\n" + OK_BODY,
    "status-999": _reply(999, b"{}"),
    "nothing": b"",
    "429-empty": _reply(429, b""),
}


async def _answer_to(choice: str, answer: bytes) -> GenerateContentResponse | RouterHubError:
    """What a client over ``choice`` makes of a server that sends ``answer`` verbatim."""

    async def reply(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer)
        await writer.drain()
        writer.close()

    server, base_url = await _raw_server(reply)
    async with (
        server,
        AsyncImageClient(
            "rh_key",
            base_url=base_url,
            transport=choice,
            max_retries=0,  # type: ignore[arg-type]
        ) as client,
    ):
        try:
            return await client.generate_content(MODEL, "a fox")
        except RouterHubError as exc:
            return exc


async def _outcome(choice: str, answer: bytes) -> str:
    result = await _answer_to(choice, answer)
    if isinstance(result, RouterHubError):
        return type(result).__name__
    return f"answer {result.text!r}"


@pytest.mark.parametrize("answer", MALFORMED_ANSWERS.values(), ids=MALFORMED_ANSWERS.keys())
async def test_both_transports_make_the_same_of_any_answer(answer: bytes) -> None:
    """A broken or odd HTTP answer gives the same library outcome over httpx and aiohttp."""
    assert await _outcome("aiohttp", answer) == await _outcome("httpx", answer)


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
@pytest.mark.parametrize("name", ["short-body", "bad-chunk", "huge-header", "nothing"])
async def test_connection_failures_read_as_one_plain_line(choice: str, name: str) -> None:
    """A broken answer's error is one short line; aiohttp's "400, message=..., url=..." frame
    (a made-up status that reads as the server's) and its 8 KiB header quote are gone."""
    result = await _answer_to(choice, MALFORMED_ANSWERS[name])
    assert isinstance(result, APIConnectionError)
    text = str(result)
    assert text.startswith("connection failed (")
    assert "\n" not in text
    assert len(text) <= 250, text
    assert "message=" not in text
    assert "url=" not in text


# --- proxies from the environment ---------------------------------------------------

PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")
TEXT_ANSWER = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"answered"}]}}]}'


@pytest.fixture
def clean_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    return monkeypatch


async def _answering_server(request_lines: list[bytes]) -> tuple[asyncio.Server, str]:
    """A server that notes each request line and answers it itself (proxy or origin)."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_lines.append((await reader.readuntil(b"\r\n"))[:-2])
        await read_request(reader)
        writer.write(_answer(TEXT_ANSWER))
        await writer.drain()
        writer.close()

    return await _raw_server(answer)


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_requests_go_through_the_environment_proxy(
    choice: str, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    """HTTP_PROXY carries the request on either transport (aiohttp alone would ignore it)."""
    seen: list[bytes] = []
    proxy, proxy_url = await _answering_server(seen)
    clean_proxy_env.setenv("HTTP_PROXY", proxy_url)
    origin = "http://10.255.255.1:9"  # unroutable: only the proxy can answer
    async with (
        proxy,
        AsyncImageClient(
            "rh_key",
            base_url=origin,
            allow_insecure_http=True,
            transport=choice,  # type: ignore[arg-type]
            timeout=Timeout(5.0, connect=1.0),
            max_retries=0,
        ) as client,
    ):
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "answered"
    assert seen == [f"POST {origin}/v1beta/models/{MODEL}:generateContent HTTP/1.1".encode()]


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_no_proxy_exempts_the_host(choice: str, clean_proxy_env: pytest.MonkeyPatch) -> None:
    via_proxy: list[bytes] = []
    direct: list[bytes] = []
    proxy, proxy_url = await _answering_server(via_proxy)
    origin, origin_url = await _answering_server(direct)
    clean_proxy_env.setenv("HTTP_PROXY", proxy_url)
    clean_proxy_env.setenv("NO_PROXY", "127.0.0.1")
    async with (
        proxy,
        origin,
        AsyncImageClient(
            "rh_key",
            base_url=origin_url,
            transport=choice,  # type: ignore[arg-type]
        ) as client,
    ):
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "answered"
    assert (len(direct), via_proxy) == (1, [])


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"HTTPS_PROXY": "proxy.corp:3128"}, "http://proxy.corp:3128"),
        ({"HTTPS_PROXY": "https://user:pw@proxy.corp"}, "https://proxy.corp"),
        ({"ALL_PROXY": "http://fallback:8080"}, "http://fallback:8080"),
        ({"HTTP_PROXY": "http://plain-only:8080"}, None),  # not for an https:// API
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": ".routerhub.ai"}, None),
        ({"HTTPS_PROXY": "http://p:1", "NO_PROXY": "*"}, None),
    ],
)
def test_environment_proxy_resolution(
    variables: dict[str, str], expected: str | None, clean_proxy_env: pytest.MonkeyPatch
) -> None:
    for name, value in variables.items():
        clean_proxy_env.setenv(name, value)
    proxy = env_proxy("https://api.routerhub.ai")
    assert (None if proxy is None else str(proxy.url)) == expected


async def test_a_socks_proxy_is_a_clear_error_over_aiohttp(
    clean_proxy_env: pytest.MonkeyPatch,
) -> None:
    clean_proxy_env.setenv("ALL_PROXY", "socks5://127.0.0.1:1080")
    async with AsyncImageClient(
        "rh_key", base_url="http://10.255.255.1:9", allow_insecure_http=True, transport="aiohttp"
    ) as client:
        with pytest.raises(ConfigurationError, match="socks5"):
            await client.generate_content(MODEL, "a fox")


# --- TLS ---------------------------------------------------------------------------


@pytest.fixture
def tls_authority() -> Any:
    return pytest.importorskip("trustme").CA()


async def _tls_server(authority: Any, connections: list[int]) -> tuple[asyncio.Server, str]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(context)

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        await read_request(reader)
        writer.write(_answer(TEXT_ANSWER))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=context)
    return server, f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}"


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_an_untrusted_certificate_is_a_tls_error_tried_once(
    choice: str, tls_authority: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real handshake against an unknown CA: TLSVerificationError, not retried."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    connections: list[int] = []
    server, base_url = await _tls_server(tls_authority, connections)
    async with server, AsyncImageClient("rh_key", base_url=base_url, transport=choice) as client:  # type: ignore[arg-type]
        with pytest.raises(TLSVerificationError, match="could not be verified") as info:
            await client.generate_content(MODEL, "a fox")
    assert info.value.call is not None
    assert info.value.call.attempts == 1
    assert connections == []  # the handler never ran: the handshake failed


@pytest.mark.parametrize("choice", ["httpx", "aiohttp"])
async def test_ssl_cert_file_adds_a_trusted_authority(
    choice: str, tls_authority: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """A corporate CA in SSL_CERT_FILE is trusted by either transport."""
    bundle = tmp_path / "ca.pem"
    tls_authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    connections: list[int] = []
    server, base_url = await _tls_server(tls_authority, connections)
    async with server, AsyncImageClient("rh_key", base_url=base_url, transport=choice) as client:  # type: ignore[arg-type]
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "answered"
    assert connections == [1]


# --- pools, loops and closing ------------------------------------------------------


async def test_pool_limits_reach_the_aiohttp_connector(aiohttp_client: AsyncImageClient) -> None:
    """max_connections and keepalive_expiry become the connector's limit and keepalive."""
    await aiohttp_client.generate_image("a cat")
    pool = await aiohttp_client._pools._pool()
    transport = pool._transport
    assert isinstance(transport, httpx_aiohttp.AiohttpTransport)
    session = transport.client
    assert isinstance(session, aiohttp.ClientSession)
    assert session.connector is not None
    assert session.connector.limit == MAX_CONNECTIONS
    assert session.connector._keepalive_timeout == KEEPALIVE_EXPIRY


def test_one_client_works_across_two_asyncio_runs(routerhub_emulator: EmulatorServer) -> None:
    """Each asyncio.run() gets its own aiohttp session; both close with their loop."""
    client = AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, transport="aiohttp"
    )

    async def generate() -> int:
        response = await client.generate_image("a fox")
        return len(response.images)

    assert asyncio.run(generate()) == 1
    assert asyncio.run(generate()) == 1

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
    assert routerhub_emulator.app.log.count == 2


async def test_closed_client_refuses_calls(routerhub_emulator: EmulatorServer) -> None:
    """After aclose the aiohttp session is closed and calls raise ClientClosedError."""
    client = AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, transport="aiohttp"
    )
    await client.generate_image("a fox")
    transport = (await client._pools._pool())._transport
    await client.aclose()
    assert transport.client.closed
    with pytest.raises(ClientClosedError):
        await client.generate_image("a fox")


def test_sync_facade_runs_over_aiohttp(routerhub_emulator: EmulatorServer) -> None:
    """The blocking facade forwards transport='aiohttp' and closes cleanly."""
    with ImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        transport="aiohttp",
    ) as client:
        assert len(client.generate_image("a fox").images) == 1


# --- choosing the transport ----------------------------------------------------------


def test_missing_httpx_aiohttp_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """transport='aiohttp' without httpx-aiohttp says which extra to install."""
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    with pytest.raises(ConfigurationError, match=r"routerhub-images\[aiohttp\]"):
        AsyncImageClient("rh_key", transport="aiohttp")


@pytest.mark.parametrize("choice", ["requests", "", 3])
def test_unknown_transport_is_rejected(choice: object) -> None:
    """Anything but 'httpx', 'aiohttp' or an httpx transport is refused up front."""
    with pytest.raises(InvalidInputError, match="transport"):
        AsyncImageClient("rh_key", transport=choice)  # type: ignore[arg-type]


def test_httpx_is_the_default() -> None:
    """Without a choice the pool is httpx's own, whatever is installed."""
    client = AsyncImageClient("rh_key")
    assert client._pools._make_transport(httpx.Limits()) is None
