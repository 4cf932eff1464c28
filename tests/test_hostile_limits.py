"""Hostile answers over real loopback HTTP: bodies past ``max_response_bytes``, early 413s."""

from __future__ import annotations

import asyncio
import gzip
import json
import pickle
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import attrs
import pytest
from client_helpers import MODEL, read_request

from routerhub_images import (
    APIConnectionError,
    APIStatusError,
    AsyncImageClient,
    ImageClient,
    InvalidInputError,
    ResponseError,
    ResponseTooLargeError,
    Timeout,
    instant_retries,
)
from routerhub_images._constants import MAX_RESPONSE_BYTES

pytest.importorskip("httpx_aiohttp")

pytestmark = pytest.mark.integration

LIMIT = 1 << 20
TRANSPORTS = ["httpx", "aiohttp"]
OK_BODY = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]}}]}'
ZEROS = bytes(1 << 20)


def _head(status: int = 200, *extra: bytes) -> bytes:
    return b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\n%s\r\n" % (
        status,
        b"".join(line + b"\r\n" for line in extra),
    )


def _answer(body: bytes, status: int = 200, *extra: bytes) -> bytes:
    return _head(status, b"content-length: %d" % len(body), *extra) + body


def _gzip_bomb_pieces() -> tuple[bytes, bytes]:
    """The start of an endless gzip stream of zeros, and a piece that continues it forever.

    A full flush resets the compressor, so compressing the same data again after it gives
    the same bytes: the piece can be sent again and again.
    """
    squeeze = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    start = squeeze.compress(ZEROS) + squeeze.flush(zlib.Z_FULL_FLUSH)
    piece = squeeze.compress(ZEROS) + squeeze.flush(zlib.Z_FULL_FLUSH)
    return start, piece


Reply = Callable[[asyncio.StreamWriter], Awaitable[None]]


@attrs.define
class HostileServer:
    """Answers each request with ``replies[n]`` (the last one from then on); counts them."""

    replies: list[Reply] = attrs.Factory(list)
    requests: int = 0
    connections: int = 0
    base_url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await read_request(reader)
                reply = self.replies[min(self.requests, len(self.replies) - 1)]
                self.requests += 1
                await reply(writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[HostileServer]:
    state = HostileServer()
    listener = await asyncio.start_server(state.serve, "127.0.0.1", 0)
    state.base_url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield state


def _send(data: bytes) -> Reply:
    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(data)
        await writer.drain()

    return reply


def _endless(head: bytes, first: bytes, piece: bytes) -> Reply:
    """A body without a length, sent until the client hangs up."""

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(head + first)
        while True:
            writer.write(piece)
            await writer.drain()

    return reply


def _endless_plain() -> Reply:
    return _endless(_head(200, b"connection: close"), b"", ZEROS)


def _endless_gzip() -> Reply:
    start, piece = _gzip_bomb_pieces()
    return _endless(_head(200, b"connection: close", b"content-encoding: gzip"), start, piece)


def _client(server: HostileServer, choice: str, **settings: object) -> AsyncImageClient:
    return AsyncImageClient(
        "rh_key",
        base_url=server.base_url,
        transport=choice,  # type: ignore[arg-type]
        max_response_bytes=LIMIT,
        max_retries=0,
        timeout=Timeout(5.0),
        **settings,  # type: ignore[arg-type]
    )


async def _too_large(server: HostileServer, choice: str) -> ResponseTooLargeError:
    async with _client(server, choice) as client:
        with pytest.raises(ResponseTooLargeError) as info:
            await client.generate_content(MODEL, "a fox")
    return info.value


# --- the setting -------------------------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "1048576", None])
def test_max_response_bytes_must_be_a_positive_integer(value: object) -> None:
    """max_response_bytes that is not an integer >= 1 is refused at construction."""
    with pytest.raises(InvalidInputError, match="max_response_bytes"):
        AsyncImageClient("rh_key", max_response_bytes=value)  # type: ignore[arg-type]


def test_default_limit_holds_a_few_4k_images() -> None:
    """The default limit holds three 50 MB 4K images as base64 (4/3 larger)."""
    assert MAX_RESPONSE_BYTES >= 3 * 50_000_000 * 4 // 3


def test_too_large_error_is_a_response_error_that_pickles() -> None:
    """ResponseTooLargeError is a ResponseError and pickles with its limit."""
    error = ResponseTooLargeError("too large", limit=LIMIT, http_status=200)
    copy = pickle.loads(pickle.dumps(error))
    assert isinstance(copy, ResponseError)
    assert (copy.limit, copy.http_status, str(copy)) == (LIMIT, 200, "too large")


# --- bodies past the limit ------------------------------------------------------------


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_endless_plain_body_fails_naming_the_limit(
    server: HostileServer, choice: str
) -> None:
    """An endless plain body fails past the limit with an error naming it and its setting."""
    server.replies = [_endless_plain()]
    error = await _too_large(server, choice)
    assert error.limit == LIMIT
    assert f"max_response_bytes={LIMIT}" in str(error)
    assert "larger max_response_bytes" in str(error)
    assert error.http_status == 200


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_gzip_bomb_fails_past_the_decoded_limit(server: HostileServer, choice: str) -> None:
    """An endless gzip body of zeros fails once its decoded bytes pass the limit."""
    server.replies = [_endless_gzip()]
    error = await _too_large(server, choice)
    assert error.limit == LIMIT


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_small_gzip_body_that_inflates_past_the_limit_fails(
    server: HostileServer, choice: str
) -> None:
    """A 2 KiB gzip body that inflates to 2 MiB fails: the decoded bytes count."""
    bomb = gzip.compress(bytes(2 * LIMIT))
    server.replies = [_send(_answer(bomb, 200, b"content-encoding: gzip"))]
    assert len(bomb) < LIMIT
    await _too_large(server, choice)


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_error_body_past_the_limit_fails_the_same(server: HostileServer, choice: str) -> None:
    """A 500 whose endless body passes the limit is a ResponseTooLargeError too."""
    server.replies = [_endless(_head(500, b"connection: close"), b"", ZEROS)]
    error = await _too_large(server, choice)
    assert error.http_status == 500


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_content_length_over_the_limit_fails_without_reading(
    server: HostileServer, choice: str
) -> None:
    """A Content-Length past the limit fails at once, though the body never comes."""
    stalled = asyncio.Event()

    async def reply(writer: asyncio.StreamWriter) -> None:
        writer.write(_head(200, b"content-length: %d" % (LIMIT + 1)))
        await writer.drain()
        await stalled.wait()  # a client that reads would hit its 5 s read timeout

    server.replies = [reply]
    error = await asyncio.wait_for(_too_large(server, choice), 2.0)
    assert "Content-Length" in str(error)
    stalled.set()


@pytest.mark.parametrize("choice", TRANSPORTS)
@pytest.mark.parametrize("encoding", ["identity", "gzip"])
async def test_body_exactly_at_the_limit_succeeds(
    server: HostileServer, choice: str, encoding: str
) -> None:
    """An answer whose decoded body is exactly the limit is read and parsed."""
    body = OK_BODY[:-1] + b" " * (LIMIT - len(OK_BODY)) + b"}"
    assert len(body) == LIMIT
    extra = [b"content-encoding: gzip"] if encoding == "gzip" else []
    wire = gzip.compress(body) if encoding == "gzip" else body
    server.replies = [_send(_answer(wire, 200, *extra))]
    async with _client(server, choice) as client:
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "ok"


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_connection_is_dropped_and_the_pool_stays_usable(
    server: HostileServer, choice: str
) -> None:
    """After a body past the limit, its connection is dropped and the next call succeeds."""
    server.replies = [_endless_plain(), _send(_answer(OK_BODY))]
    async with _client(server, choice) as client:
        with pytest.raises(ResponseTooLargeError):
            await client.generate_content(MODEL, "a fox")
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "ok"
    assert (server.requests, server.connections) == (2, 2)


async def test_too_large_answer_is_not_retried(server: HostileServer) -> None:
    """A body past the limit is not retried, whatever the retry policy."""
    server.replies = [_endless_plain()]
    with instant_retries():
        async with _client(server, "httpx") as client:
            with pytest.raises(ResponseTooLargeError):
                await client.generate_content(MODEL, "a fox", max_retries=3)
    assert server.requests == 1


async def test_image_client_forwards_the_limit(server: HostileServer) -> None:
    """ImageClient(max_response_bytes=...) applies the limit to its calls."""
    server.replies = [_endless_plain()]

    def call() -> None:
        with ImageClient(
            "rh_key", base_url=server.base_url, max_response_bytes=LIMIT, max_retries=0
        ) as client:
            client.generate_content(MODEL, "a fox")

    with pytest.raises(ResponseTooLargeError):
        await asyncio.to_thread(call)


# --- a server that refuses the upload -----------------------------------------------

REFUSAL = json.dumps(
    {"error": {"code": 413, "message": "request too large", "status": "INVALID_ARGUMENT"}}
).encode()


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_413_before_the_upload_is_reported(server: HostileServer, choice: str) -> None:
    """A 413 sent before the upload is read is the 413, or says the upload was cut."""

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")  # the headers only
        writer.write(_answer(REFUSAL, 413, b"connection: close"))
        await writer.drain()
        writer.close()

    listener = await asyncio.start_server(refuse, "127.0.0.1", 0)
    server.base_url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    image = b"\x89PNG\r\n\x1a\n" + bytes(8 << 20)
    async with listener, _client(server, choice) as client:
        with pytest.raises((APIStatusError, APIConnectionError)) as info:
            await client.edit_image(image, "make it red")
    error = info.value
    if isinstance(error, APIStatusError):
        assert error.code == 413
    else:
        assert "the server closed the connection during the upload" in str(error)


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_a_body_that_is_not_the_gzip_it_claims_is_a_response_error(
    server: HostileServer, choice: str
) -> None:
    """A body labelled gzip that is not gzip: ResponseError with the coding and status."""
    server.replies = [_send(_answer(OK_BODY, 200, b"content-encoding: gzip"))]
    async with _client(server, choice) as client:
        with pytest.raises(ResponseError, match=r"could not decode .*\(gzip\)") as info:
            await client.generate_content(MODEL, "a fox")
    assert info.value.http_status == 200


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_two_content_codings_are_refused_with_the_status(
    server: HostileServer, choice: str
) -> None:
    """A body with two codings stacked is a ResponseError naming them, with the status."""
    wire = gzip.compress(gzip.compress(OK_BODY))
    server.replies = [_send(_answer(wire, 200, b"content-encoding: gzip, gzip"))]
    async with _client(server, choice) as client:
        with pytest.raises(ResponseError, match="unsupported content-encoding: gzip, gzip") as info:
            await client.generate_content(MODEL, "a fox")
    assert info.value.http_status == 200


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_raw_deflate_without_its_zlib_header_is_read(
    server: HostileServer, choice: str
) -> None:
    """A "deflate" body sent without its zlib header (a common server bug) still parses."""
    squeeze = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    wire = squeeze.compress(OK_BODY) + squeeze.flush()
    server.replies = [_send(_answer(wire, 200, b"content-encoding: deflate"))]
    async with _client(server, choice) as client:
        response = await client.generate_content(MODEL, "a fox")
    assert response.text == "ok"
