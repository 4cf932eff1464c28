"""The optional aiohttp transport (``transport="aiohttp"``) and its failure mapping.

Requests still go through an ``httpx.AsyncClient``; ``httpx-aiohttp`` carries them on
aiohttp. What aiohttp lacks is added here: a write timeout, the environment's proxy,
and a mapping of its own errors, which ``httpx-aiohttp`` translates only roughly.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
import httpx

from ._config import ssl_context
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ConfigurationError,
    MissingDependencyError,
    one_line,
)

if TYPE_CHECKING:
    import aiohttp

__all__ = ["AIOHTTP_EXTRA", "TransportFactory", "aiohttp_factory", "map_aiohttp_error"]

AIOHTTP_EXTRA = "routerhub-images[aiohttp]"
"""The install extra that brings the aiohttp transport."""

TransportFactory = Callable[[httpx.Limits], httpx.AsyncBaseTransport | None]
"""Builds the transport of one new pool from the pool limits (None: httpx's own)."""

_WRITE_BUFFER = 1 << 16
"""aiohttp waits for the socket to drain only past this many buffered bytes, so a
smaller body cannot stall a request while it is written."""


def map_aiohttp_error(exc: BaseException | None) -> APIConnectionError | None:
    """Our error for an aiohttp failure, or None when ``exc`` is not one.

    ``httpx-aiohttp`` turns a dropped connection into a ``ConnectTimeout`` (which would
    claim the request was never sent) and lets some errors through untranslated, so
    the aiohttp original decides.
    """
    aiohttp = sys.modules.get("aiohttp")  # loaded only when an aiohttp transport runs
    if aiohttp is None or not isinstance(exc, aiohttp.ClientError):
        return None
    kind = type(exc).__name__
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        # aiohttp's connect timeout spans waiting for a pooled connection and opening one.
        return APITimeoutError(f"connect timeout ({kind})", phase="connect", request_sent=False)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        return APITimeoutError(f"read timeout ({kind})", phase="read", request_sent=True)
    # aiohttp words a malformed answer "400, message=..., url=...": a made-up status a
    # reader would take for the server's. Its ``message`` (for a cut-short body, that of
    # the parser error it wraps) says it all.
    source = exc.__cause__ if isinstance(exc, aiohttp.ClientPayloadError) else exc
    message = getattr(source, "message", None)
    detail = one_line(message if isinstance(message, str) and message else str(exc))
    return APIConnectionError(
        f"connection failed ({kind}): {detail}",
        request_sent=not isinstance(exc, aiohttp.ClientConnectorError),
    )


class _WholeBody(httpx.AsyncByteStream):
    """The body of aiohttp's ``answer`` in pieces of ``piece`` bytes or more (one, mostly).

    Closing it before the end drops the connection (it is not reusable then), then
    closes ``inner``, httpx-aiohttp's stream around ``answer``.
    """

    def __init__(self, inner: httpx.AsyncByteStream, answer: aiohttp.ClientResponse, piece: int):
        self._inner = inner
        self._answer = answer
        self._piece = piece
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pieces: list[bytes] = []
        size = 0
        async for chunk in self._answer.content.iter_any():
            pieces.append(chunk)
            size += len(chunk)
            if size >= self._piece:
                yield b"".join(pieces)
                pieces, size = [], 0
        self._done = True
        yield b"".join(pieces)

    async def aclose(self) -> None:
        if not self._done:
            self._answer.close()
        await self._inner.aclose()


class _TimedBody(httpx.AsyncByteStream):
    """A request body that aiohttp must send within ``write`` seconds, or ``scope`` ends.

    aiohttp asks for the next piece only once the last one has drained into the socket,
    so a deadline set at the first piece and lifted after the last bounds the sending
    of the whole body, as httpcore's write timeout does.
    """

    def __init__(self, body: httpx.AsyncByteStream, scope: anyio.CancelScope, write: float):
        self._body = body
        self._scope = scope
        self._write = write

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self._scope.deadline = anyio.current_time() + self._write
        async for piece in self._body:
            yield piece
        self._scope.deadline = math.inf


async def _send_timed(
    send: Callable[[httpx.Request], Awaitable[httpx.Response]], request: httpx.Request
) -> httpx.Response:
    """``send(request)``, raising ``httpx.WriteTimeout`` if its body is not sent in time."""
    write = request.extensions.get("timeout", {}).get("write")
    length = int(request.headers.get("content-length", "0"))  # our requests all have one
    body = request.stream
    if write is None or length <= _WRITE_BUFFER or not isinstance(body, httpx.AsyncByteStream):
        return await send(request)
    with anyio.CancelScope() as scope:
        timed = httpx.Request(
            request.method,
            request.url,
            headers=request.headers,  # with the body's Content-Length: not chunked
            stream=_TimedBody(body, scope, write),
            extensions=request.extensions,
        )
        return await send(timed)
    raise httpx.WriteTimeout(f"the request body was not sent within {write} s", request=request)


def env_proxy(base_url: str) -> httpx.Proxy | None:
    """The proxy the environment sets for ``base_url``, as httpx's own pool reads it.

    ``HTTPS_PROXY`` / ``HTTP_PROXY`` by scheme, else ``ALL_PROXY``; none for a host that
    ``NO_PROXY`` exempts. (aiohttp's own ``trust_env`` would look the proxy up, and
    ``~/.netrc``, on a thread per request.)

    Raises:
        ConfigurationError: a proxy aiohttp cannot use (``socks5://``).
    """
    import urllib.request  # noqa: PLC0415 - slow to import, needed only by aiohttp pools

    url = httpx.URL(base_url)
    proxies = urllib.request.getproxies_environment()
    address = proxies.get(url.scheme) or proxies.get("all")
    if not address or urllib.request.proxy_bypass(url.host):
        return None
    if "://" not in address:
        address = "http://" + address  # "proxy:3128" means an HTTP proxy, as for httpx
    proxy = httpx.Proxy(address)
    if proxy.url.scheme not in ("http", "https"):
        raise ConfigurationError(
            f"transport='aiohttp' takes http:// and https:// proxies, not {proxy.url.scheme}://"
            " (from the environment); use transport='httpx' with httpx[socks]"
        )
    return proxy


def aiohttp_factory(base_url: str, max_response_bytes: int, *, trust_env: bool) -> TransportFactory:
    """Builds an aiohttp transport per pool, reading the proxy from the environment.

    Raises:
        MissingDependencyError: aiohttp or httpx-aiohttp is not installed.
    """
    try:  # an optional extra
        import aiohttp  # noqa: PLC0415
        from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependencyError(
            f"transport='aiohttp' needs aiohttp and httpx-aiohttp: pip install '{AIOHTTP_EXTRA}'"
        ) from exc

    class WholeBodyTransport(AiohttpTransport):
        """aiohttp under httpx, with a write timeout and whole-body reads.

        The body comes in one piece (as aiohttp's ``read`` joins it) unless it passes
        ``max_response_bytes``, not in 16 KiB chunks that each cost a copy and a trip
        through the decoder.
        """

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await _send_timed(super().handle_async_request, request)
            stream = response.stream
            answer = getattr(stream, "_aiohttp_response", None)
            # httpx-aiohttp's stream wraps aiohttp's response; another version may not.
            if answer is not None and isinstance(stream, httpx.AsyncByteStream):
                response.stream = _WholeBody(stream, answer, max_response_bytes)
            return response

        def get_client(self) -> aiohttp.ClientSession:
            """The session, its connector keeping to the pool limits as httpx reads them.

            ``max_connections`` None is no limit (aiohttp's 0), and
            ``max_keepalive_connections`` 0 keeps no idle connection (``force_close``);
            above 0, idle connections are not capped: aiohttp has no such setting.
            """
            limits = self.limits
            keep_none = limits.max_keepalive_connections == 0
            connector = aiohttp.TCPConnector(
                limit=limits.max_connections or 0,
                keepalive_timeout=None if keep_none else limits.keepalive_expiry,
                force_close=keep_none,
                ssl=self.ssl_context,
            )
            return aiohttp.ClientSession(connector=connector)

    def factory(limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            raise ConfigurationError(
                "transport='aiohttp' runs on asyncio only; under trio use transport='httpx'"
            ) from None
        # The ClientSession is created on the first request, so on the pool's own loop.
        proxy = env_proxy(base_url) if trust_env else None
        return WholeBodyTransport(
            limits=limits, proxy=proxy, verify=ssl_context(trust_env=trust_env)
        )

    return factory
