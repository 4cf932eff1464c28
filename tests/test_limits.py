"""Connection pool limits (`Limits`): checked up front, kept by both transports over real HTTP."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import AsyncIterator

import attrs
import httpx
import pytest
from client_helpers import MODEL, read_request

from routerhub_images import (
    APITimeoutError,
    AsyncImageClient,
    ImageClient,
    InvalidInputError,
    Limits,
    Timeout,
)
from routerhub_images.emulator import EmulatorServer

pytest.importorskip("httpx_aiohttp")

TEXT_ANSWER = b'{"candidates":[{"content":{"role":"model","parts":[{"text":"ok"}]}}]}'
TRANSPORTS = ["httpx", "aiohttp"]


@attrs.define
class KeepAliveServer:
    """Answers every request on a connection after ``latency`` s; counts what it sees."""

    latency: float = 0.0
    connections: int = 0
    in_flight: int = 0
    peak: int = 0
    base_url: str = ""

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                await read_request(reader)  # IncompleteReadError once the client hangs up
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                await asyncio.sleep(self.latency)
                self.in_flight -= 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(TEXT_ANSWER), TEXT_ANSWER)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[KeepAliveServer]:
    state = KeepAliveServer()
    listener = await asyncio.start_server(state.serve, "127.0.0.1", 0, backlog=512)
    state.base_url = f"http://127.0.0.1:{listener.sockets[0].getsockname()[1]}"
    async with listener:
        yield state


def _client(server: KeepAliveServer, choice: str, limits: Limits) -> AsyncImageClient:
    return AsyncImageClient(
        "rh_key",
        base_url=server.base_url,
        transport=choice,  # type: ignore[arg-type]
        limits=limits,
        max_retries=0,
    )


async def _calls(client: AsyncImageClient, count: int) -> list[str | None]:
    async with client:
        responses = await asyncio.gather(
            *(client.generate_content(MODEL, f"fox {i}") for i in range(count))
        )
    return [response.text for response in responses]


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_max_connections_bounds_the_calls_in_flight(
    server: KeepAliveServer, choice: str
) -> None:
    """Six calls at once through a pool of two: two connections, never more than two sent."""
    server.latency = 0.1
    client = _client(server, choice, Limits(max_connections=2))
    assert await _calls(client, 6) == ["ok"] * 6
    assert server.peak == 2
    assert server.connections == 2


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_no_connection_limit_lets_every_call_through(
    server: KeepAliveServer, choice: str
) -> None:
    """``max_connections=None`` is no limit on either transport (aiohttp's own default is 100)."""
    server.latency = 0.3
    client = _client(server, choice, Limits(max_connections=None))
    assert await _calls(client, 120) == ["ok"] * 120
    assert server.peak == 120


@pytest.mark.parametrize("choice", TRANSPORTS)
@pytest.mark.parametrize(("keepalive", "connections"), [(0, 3), (None, 1)])
async def test_idle_connections_are_kept_unless_the_limit_is_zero(
    server: KeepAliveServer, choice: str, keepalive: int | None, connections: int
) -> None:
    """Three calls in a row reuse one connection; ``max_keepalive_connections=0`` opens three."""
    client = _client(server, choice, Limits(max_keepalive_connections=keepalive))
    async with client:
        for _ in range(3):
            assert (await client.generate_content(MODEL, "a fox")).text == "ok"
    assert server.connections == connections


@pytest.mark.parametrize("choice", TRANSPORTS)
async def test_waiting_for_a_connection_times_out_unsent(
    server: KeepAliveServer, choice: str
) -> None:
    """With the only connection busy, a call gives up after the pool timeout, never sent."""
    server.latency = 0.5
    client = _client(server, choice, Limits(max_connections=1))
    async with client:
        first = asyncio.create_task(client.generate_content(MODEL, "first"))
        await asyncio.sleep(0.1)
        with pytest.raises(APITimeoutError) as info:
            await client.generate_content(MODEL, "second", timeout=Timeout(5.0, pool=0.1))
        assert (await first).text == "ok"
    assert not info.value.request_sent
    assert server.connections == 1


def test_the_sync_client_keeps_to_its_limits(routerhub_emulator: EmulatorServer) -> None:
    """ImageClient(limits=...) reaches the pool on its loop: a second call waits for the first."""
    routerhub_emulator.app.config.latency = 0.5
    client = ImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        limits=Limits(max_connections=1),
        timeout=Timeout(5.0, pool=0.1),
        max_retries=0,
    )
    with client:
        first = threading.Thread(target=client.generate_content, args=(MODEL, "first"))
        first.start()
        try:
            threading.Event().wait(0.15)
            with pytest.raises(APITimeoutError) as info:
                client.generate_content(MODEL, "second")
        finally:
            first.join()
    assert info.value.phase == "pool"
    assert routerhub_emulator.app.log.count == 1


@pytest.mark.parametrize(
    ("limits", "named"),
    [
        ("many", "routerhub_images.Limits"),
        ({"max_connections": 2}, "routerhub_images.Limits"),
        (Limits(max_connections=0), "max_connections"),
        (Limits(max_connections=True), "max_connections"),
        (Limits(max_connections=2.5), "max_connections"),  # type: ignore[arg-type]
        (Limits(max_keepalive_connections=-1), "max_keepalive_connections"),
        (Limits(max_keepalive_connections="8"), "max_keepalive_connections"),  # type: ignore[arg-type]
        (Limits(keepalive_expiry=-1.0), "keepalive_expiry"),
        (Limits(keepalive_expiry=math.nan), "keepalive_expiry"),
        (Limits(keepalive_expiry=math.inf), "keepalive_expiry"),
        (Limits(keepalive_expiry=False), "keepalive_expiry"),
    ],
)
@pytest.mark.parametrize("cls", [AsyncImageClient, ImageClient])
def test_bad_limits_are_refused_before_any_call(
    cls: type[AsyncImageClient] | type[ImageClient], limits: object, named: str
) -> None:
    """Limits httpx would take and fail on deep in the pool are an InvalidInputError now."""
    with pytest.raises(InvalidInputError, match=named):
        cls("rh_key", limits=limits)  # type: ignore[arg-type]


async def test_limits_with_an_injected_http_client_or_transport_are_refused() -> None:
    """An injected httpx client or transport has its own pool: limits would be ignored."""
    limits = Limits(max_connections=4)
    async with httpx.AsyncClient() as http_client:
        with pytest.raises(InvalidInputError, match="has its own"):
            AsyncImageClient("rh_key", http_client=http_client, limits=limits)
    transport = httpx.MockTransport(lambda request: httpx.Response(200))
    with pytest.raises(InvalidInputError, match="has its own"):
        AsyncImageClient("rh_key", transport=transport, limits=limits)
    assert AsyncImageClient("rh_key", transport=transport).limits is None
