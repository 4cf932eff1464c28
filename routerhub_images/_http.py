"""Sending over httpx: a pool per event loop, bounded reads, httpx failures mapped.

Requests always go through an ``httpx.AsyncClient`` (so respx and injected transports
work), whatever carries them (`TransportChoice`).
"""

from __future__ import annotations

import asyncio
import ssl
import weakref
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from typing import Any

import attrs
import httpx

from . import _constants as consts
from ._aiohttp import TransportFactory, aiohttp_factory, map_aiohttp_error
from ._config import Limits, TransportChoice, make_limits, ssl_context
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    InvalidInputError,
    ResponseError,
    ResponseTooLargeError,
    TLSVerificationError,
    one_line,
)
from ._version import __version__
from ._wire import RequestBody

__all__ = [
    "AsyncHTTPClient",
    "ConnectionPools",
    "HTTPAnswer",
    "asgi_transport",
]

AsyncHTTPClient = httpx.AsyncClient
"""The httpx client type accepted as ``http_client``."""

_USER_AGENT = f"routerhub-images/{__version__}"

_ACCEPT_ENCODING = "gzip, deflate"
"""The content codings the client asks for: those `_Decoder` decodes."""

_SMALL_BODY = 1 << 16
"""Request bodies up to this size are sent as bytes, not as an `_Upload`."""

_CONSUMED = httpx.ByteStream(b"")
"""Stands in for the stream of a response whose body has been read."""


@attrs.frozen
class HTTPAnswer:
    """What came back from one HTTP attempt; ``headers`` has lower-case names."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes
    response: httpx.Response = attrs.field(repr=False, eq=False)

    def redacted(self, redact: Callable[[str], str]) -> HTTPAnswer:
        """This answer with ``redact`` applied to its headers and body (self if unchanged).

        The response is rebuilt around the redacted body, so the one kept on an error
        does not hold what was taken out.
        """
        # surrogateescape: any bytes round-trip, so a binary body is left as it was.
        content = redact(self.content.decode("utf-8", "surrogateescape")).encode(
            "utf-8", "surrogateescape"
        )
        items = self.response.headers.multi_items()
        redacted_items = [(k, redact(v)) for k, v in items]
        if content == self.content and redacted_items == items:
            return self
        # The body is decoded and its length changed: drop the headers saying otherwise.
        stale = ("content-encoding", "content-length", "transfer-encoding")
        kept = [(k, v) for k, v in redacted_items if k.lower() not in stale]
        response = httpx.Response(
            self.status_code, headers=kept, content=content, request=self.response.request
        )
        headers = {k: redact(v) for k, v in self.headers.items()}
        return HTTPAnswer(self.status_code, headers, content, response)


class ConnectionPools:
    """Sends POSTs with auth through a pooled ``httpx.AsyncClient`` per event loop.

    An ``httpx.AsyncClient`` is bound to the loop it first ran on, so each running asyncio
    loop gets its own, closed when ``asyncio.run`` shuts that loop down; an injected
    client is used as it is. The pools built here read the environment (proxies, CA
    bundle) only with ``trust_env``; redirects are never followed.

    Raises:
        InvalidInputError: ``transport`` is not a `TransportChoice`, bad ``limits``, or
            ``limits`` beside an injected client or transport object (it has its own pool).
        MissingDependencyError: ``transport="aiohttp"`` without ``httpx-aiohttp`` installed.
    """

    def __init__(
        self,
        *,
        base_url: str,
        auth_headers: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout,
        limits: httpx.Limits | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice = "httpx",
        trust_env: bool = True,
        max_response_bytes: int = consts.MAX_RESPONSE_BYTES,
    ):
        self._base_url = base_url
        self._trust_env = trust_env
        self._max_response_bytes = max_response_bytes
        self._auth_headers = dict(auth_headers)
        self._headers = {**(headers or {}), **self._auth_headers}
        self._headers["content-type"] = "application/json"
        if not any(name.lower() == "accept-encoding" for name in self._headers):
            # What `_read_body` decodes within the limit (httpx adds br, zstd if installed).
            self._headers["accept-encoding"] = _ACCEPT_ENCODING
        self._timeout = timeout
        self._injected = http_client
        self._own_pool = isinstance(transport, httpx.AsyncBaseTransport)
        if limits is not None and (http_client is not None or self._own_pool):
            raise InvalidInputError(
                "limits apply to the pools the client creates: an http_client or a "
                "transport object has its own"
            )
        self._limits = make_limits(limits)
        self._make_transport = _transport_factory(
            transport, base_url, max_response_bytes, trust_env=trust_env
        )
        self._pools: weakref.WeakKeyDictionary[Any, httpx.AsyncClient] = weakref.WeakKeyDictionary()
        self._guards: weakref.WeakKeyDictionary[Any, AsyncGenerator[None, None]] = (
            weakref.WeakKeyDictionary()
        )
        self._closed = False

    @property
    def limits(self) -> Limits | None:
        """The limits of the pools built here; None with an injected client or transport."""
        return None if self._injected is not None or self._own_pool else self._limits

    @property
    def closed(self) -> bool:
        """True after `aclose`."""
        return self._closed

    async def _pool(self) -> httpx.AsyncClient:
        if self._closed:
            raise ClientClosedError("the client is closed; create a new one")
        if self._injected is not None:
            return self._injected
        loop = _loop_key()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = httpx.AsyncClient(
                timeout=self._timeout,
                limits=self._limits,
                transport=self._make_transport(self._limits),
                headers={"user-agent": _USER_AGENT},
                trust_env=self._trust_env,
                verify=ssl_context(trust_env=self._trust_env),
            )
            if isinstance(loop, asyncio.AbstractEventLoop):
                guard = self._guards[loop] = _closing(pool)
                await guard.asend(None)
        return pool

    async def post(
        self, path: str, body: RequestBody, *, timeout: httpx.Timeout | None = None
    ) -> HTTPAnswer:
        """POST JSON ``body`` to ``path`` and read the whole answer, up to the limit.

        Raises:
            APIConnectionError: no usable answer (``APITimeoutError`` for timeouts).
            ResponseTooLargeError: the decoded body passed ``max_response_bytes``; the
                connection is dropped.
            ResponseError: the body could not be decoded (a bad ``content-encoding``).
            ClientClosedError: after `aclose`.
            ConfigurationError: the aiohttp transport outside asyncio (under trio), or
                with a proxy it cannot use.
        """
        pool = await self._pool()
        extensions = {} if timeout is None else {"timeout": timeout.as_dict()}
        # A small body goes as bytes, httpx's cheapest way. A larger one goes as an
        # `_Upload`: its images are encoded as it is sent, and it tells whether the server
        # stopped reading it halfway (to refuse it with a 413, say).
        content = bytes(body) if len(body) <= _SMALL_BODY else _Upload(body)
        request = pool.build_request(
            "POST",
            self._base_url + path,
            content=content,
            headers={**self._headers, "content-length": str(len(body))},  # not chunked
            extensions=extensions,
        )
        try:
            # An injected client may follow redirects: the key would go along.
            response = await pool.send(request, stream=True, follow_redirects=False)
            try:
                content = await _read_body(response, self._max_response_bytes)
            finally:
                await response.aclose()  # drops the connection unless read to the end
        except Exception as exc:
            upload_cut = isinstance(content, _Upload) and not content.sent
            mapped = _map_error(exc, upload_cut=upload_cut)
            if mapped is None:
                raise
            raise mapped from None
        # httpx links the response and its consumed stream in a reference cycle that would
        # keep the body alive until the cyclic GC runs: drop the stream.
        response.stream = _CONSUMED
        response._content = content  # as `Response.aread` leaves it: error.response.text
        # The sent request stays reachable (error.response.request); httpx's repr masks
        # only ``authorization``, so take the key out of every auth header it kept.
        for name in self._auth_headers:
            response.request.headers[name] = "<redacted>"
        headers = {k.lower(): v for k, v in response.headers.items()}
        return HTTPAnswer(response.status_code, headers, content, response)

    async def aclose(self) -> None:
        """Close the pool of the running loop; an injected client is left open.

        Pools that other, still-running loops opened close when those loops shut down.
        """
        if self._closed:
            return
        self._closed = True
        loop = _loop_key()
        guard = self._guards.pop(loop, None)
        pool = self._pools.pop(loop, None)
        if guard is not None:
            await guard.aclose()
        elif pool is not None:
            await pool.aclose()


def _transport_factory(
    choice: TransportChoice, base_url: str, max_response_bytes: int, *, trust_env: bool
) -> TransportFactory:
    if isinstance(choice, str) and choice == "httpx":
        return lambda _: None  # httpx builds its own pool
    if isinstance(choice, str) and choice == "aiohttp":
        return aiohttp_factory(base_url, max_response_bytes, trust_env=trust_env)
    if isinstance(choice, httpx.AsyncBaseTransport):
        return lambda _: choice
    raise InvalidInputError(
        f"transport must be 'httpx', 'aiohttp' or an httpx.AsyncBaseTransport, not {choice!r}"
    )


class _Upload(httpx.AsyncByteStream):
    """A request body, in its pieces, that knows whether it was handed over whole.

    httpcore asks for the next piece only once the last one is written, and swallows a
    failed write to read the answer a server may send before it stops reading (a 413);
    when none can be read, ``sent`` tells that the upload was cut short.
    """

    def __init__(self, body: RequestBody):
        self._body = body
        self.sent = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for piece in self._body:
            yield piece
        self.sent = True


def _map_error(exc: Exception, *, upload_cut: bool) -> APIConnectionError | ResponseError | None:
    """Our error for a failure of httpx (or of aiohttp under it); None for any other."""
    if not isinstance(exc, httpx.RequestError):  # aiohttp errors httpx-aiohttp lets through
        return map_aiohttp_error(exc)
    kind = type(exc).__name__
    certificate = _certificate_failure(exc)
    if certificate is not None:
        return TLSVerificationError(
            f"the server's TLS certificate could not be verified: {certificate}"
        )
    from_aiohttp = map_aiohttp_error(exc.__cause__)
    if from_aiohttp is not None:
        return from_aiohttp
    if isinstance(exc, httpx.DecodingError):  # e.g. a body that claims gzip but is not
        return ResponseError(f"could not decode the answer's body ({kind}): {exc}")
    if isinstance(exc, httpx.TimeoutException):
        phase = _TIMEOUT_PHASES.get(type(exc), "read")
        return APITimeoutError(
            f"{phase} timeout ({kind})", phase=phase, request_sent=phase not in ("connect", "pool")
        )
    request_sent = not isinstance(exc, httpx.ConnectError)
    detail = one_line(str(exc))
    if upload_cut and request_sent:
        # httpcore read nothing after its write failed: the answer (often a 413) was lost.
        detail = "the server closed the connection during the upload, before any answer" + (
            f" ({detail})" if detail else ""
        )
    return APIConnectionError(f"connection failed ({kind}): {detail}", request_sent=request_sent)


_TIMEOUT_PHASES: dict[type[Exception], str] = {
    httpx.ConnectTimeout: "connect",
    httpx.ReadTimeout: "read",
    httpx.WriteTimeout: "write",
    httpx.PoolTimeout: "pool",
}


def _certificate_failure(exc: BaseException) -> str | None:
    """Why certificate verification failed behind ``exc``, if that is what failed."""
    seen: set[int] = set()
    found: str | None = None
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLCertVerificationError):
            # aiohttp's ClientConnectorCertificateError subclasses it but has no
            # verify_message of its own: the ssl error it wraps, further down, does.
            reason = getattr(current, "verify_message", None)
            if reason:
                return str(reason)
            found = found or str(current)
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return found


class _Decoder:
    """Decodes a body's content coding (identity, gzip, deflate) with bounded output.

    httpx's decoders inflate a chunk whole (a small gzip bomb is a huge chunk at
    once), so the body is decoded here, never past the limit.
    """

    def __init__(self, response: httpx.Response):
        codings = [
            coding.strip().lower()
            for value in response.headers.get_list("content-encoding")
            for coding in value.split(",")
            if coding.strip().lower() not in ("", "identity")
        ]
        if len(codings) > 1:
            raise ResponseError(
                f"unsupported content-encoding: {', '.join(codings)}",
                http_status=response.status_code,
            )
        self.coding = codings[0] if codings else "identity"
        self._inflate: Any = None
        if self.coding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.coding == "deflate":
            self._inflate = zlib.decompressobj()
        self._first = True

    def decode(self, data: bytes, max_length: int) -> bytes:
        """Decode ``data``; at most ``max_length`` bytes (more were there if that many)."""
        if self._inflate is None:
            return data
        first, self._first = self._first, False
        try:
            return bytes(self._inflate.decompress(data, max_length))
        except zlib.error:
            if not (first and self.coding == "deflate"):
                raise
        # "deflate" often comes without its zlib header (as httpx, try it raw).
        self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
        return bytes(self._inflate.decompress(data, max_length))


def _too_large(limit: int, status: int, seen: str) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        f"the answer's body {seen} max_response_bytes={limit}; the connection was dropped. "
        "If the answer is legitimate, pass a larger max_response_bytes to the client",
        limit=limit,
        http_status=status,
    )


async def _read_body(response: httpx.Response, limit: int) -> bytes:
    """The body of ``response``, decoded, counted as it arrives, at most ``limit`` bytes.

    Raises:
        ResponseTooLargeError: a ``Content-Length`` or the decoded body past ``limit``.
        ResponseError: a body that does not decode.
    """
    length = response.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise _too_large(limit, response.status_code, f"(Content-Length {length}) exceeds")
    if response.is_stream_consumed:  # read and decoded already, by a mock (respx)
        if len(response.content) > limit:
            raise _too_large(limit, response.status_code, "exceeds")
        return response.content
    decoder = _Decoder(response)
    pieces: list[bytes] = []
    size = 0
    async for raw in response.aiter_raw():
        try:
            piece = decoder.decode(raw, limit - size + 1)
        except zlib.error as exc:
            raise ResponseError(
                f"could not decode the answer's body ({decoder.coding}): {exc}",
                http_status=response.status_code,
            ) from None
        size += len(piece)
        if size > limit:
            raise _too_large(limit, response.status_code, "exceeds")
        pieces.append(piece)
    return b"".join(pieces)


class _OtherLoop:
    """Pool key under a non-asyncio event loop (trio): one pool, no loop guard."""


_OTHER_LOOP = _OtherLoop()


def _loop_key() -> Any:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return _OTHER_LOOP


async def _closing(pool: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Once started, closes ``pool`` when finalized.

    ``asyncio.run`` finalizes live async generators (``shutdown_asyncgens``) before it
    closes the loop, so the pool's sockets are closed on the loop that opened them.
    """
    try:
        yield
    finally:
        await pool.aclose()


def asgi_transport(app: Any) -> httpx.AsyncBaseTransport:
    """A transport that hands each request to an ASGI ``app`` in process (no sockets)."""
    return httpx.ASGITransport(app=app)
