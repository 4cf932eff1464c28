"""The one module that touches httpx: connection pools, auth headers, error mapping.

Requests always go through an ``httpx.AsyncClient`` (so respx and injected transports
work); what carries them is the caller's explicit choice (`TransportChoice`): httpx's
own pool (httpcore, the default), aiohttp through the ``httpx-aiohttp`` transport, or
any ``httpx.AsyncBaseTransport``. Whatever carries them, failures map to the same
library exceptions here.

An ``httpx.AsyncClient`` is bound to the event loop it first ran on; reusing it from
another loop fails with "Event loop is closed" (a long-standing bug class in peer
SDKs). When we own the pool we therefore keep one per running asyncio loop, and close
it when that loop is shut down by ``asyncio.run`` (through an async generator that
the loop finalizes in ``shutdown_asyncgens``). An injected client is used as it is.
"""

from __future__ import annotations

import asyncio
import ipaddress
import math
import re
import ssl
import sys
import weakref
import zlib
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal, cast

import anyio
import attrs
import httpx

from . import _constants as consts
from ._errors import (
    APIConnectionError,
    APITimeoutError,
    ClientClosedError,
    ConfigurationError,
    InsecureTransportError,
    InvalidInputError,
    MissingDependencyError,
    ResponseError,
    ResponseTooLargeError,
    TLSVerificationError,
    one_line,
)
from ._version import __version__

__all__ = [
    "HTTPAnswer",
    "Limits",
    "Timeout",
    "Transport",
    "TransportChoice",
    "asgi_transport",
    "check_base_url",
    "check_headers",
    "check_max_response_bytes",
    "make_limits",
    "make_timeout",
]

Timeout = httpx.Timeout
"""Split timeouts: ``Timeout(read=300.0, connect=10.0, write=60.0, pool=60.0)``."""


class Limits(httpx.Limits):
    """Connection pool limits, with the library's defaults (`_constants`).

    ``Limits()`` is ``Limits(max_connections=256, max_keepalive_connections=64,
    keepalive_expiry=30.0)``; None means no limit, or no expiry. An ``httpx.Limits``
    is accepted wherever a `Limits` is.

    Args:
        max_connections: Open connections at most.
        max_keepalive_connections: Idle connections kept for reuse.
        keepalive_expiry: Seconds an idle connection is kept.
    """

    def __init__(
        self,
        *,
        max_connections: int | None = consts.MAX_CONNECTIONS,
        max_keepalive_connections: int | None = consts.MAX_KEEPALIVE_CONNECTIONS,
        keepalive_expiry: float | None = consts.KEEPALIVE_EXPIRY,
    ):
        super().__init__(
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
        )


TimeoutTypes = float | None | httpx.Timeout

AsyncHTTPClient = httpx.AsyncClient
"""The httpx client type accepted as ``http_client`` (only this module imports httpx)."""

AsyncHTTPTransport = httpx.AsyncBaseTransport
"""The httpx transport type accepted as ``transport``."""

TransportName = Literal["httpx", "aiohttp"]
"""The transports the library builds itself."""

TransportChoice = TransportName | httpx.AsyncBaseTransport
"""What carries the requests, always chosen explicitly (never by what is installed).

- ``"httpx"`` (the default): httpx's own connection pool (httpcore).
- ``"aiohttp"``: aiohttp through the ``httpx-aiohttp`` transport, one
  ``aiohttp.ClientSession`` per event loop; needs ``routerhub-images[aiohttp]``.
  Less CPU per request. aiohttp itself has no write timeout and ignores proxy
  variables by default: the library adds the timeout (`_TimedBody`) and passes the
  environment's proxy (`_env_proxy`). It has no limit on idle connections, only on
  open ones.
- an ``httpx.AsyncBaseTransport``: used for the pools we create (e.g.
  ``httpx.ASGITransport`` to talk to an in-process emulator).
"""

AIOHTTP_EXTRA = "routerhub-images[aiohttp]"
"""The install extra that brings the aiohttp transport."""


@attrs.frozen
class HTTPAnswer:
    """What came back from one HTTP attempt, free of httpx types but the raw response."""

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
        text = self.content.decode("utf-8", "surrogateescape")
        content = redact(text).encode("utf-8", "surrogateescape")
        headers = [(k, redact(v)) for k, v in self.response.headers.multi_items()]
        if content == self.content and headers == self.response.headers.multi_items():
            return self
        # The body is decoded and its length changed: drop the headers saying otherwise.
        stale = ("content-encoding", "content-length", "transfer-encoding")
        kept = [(k, v) for k, v in headers if k.lower() not in stale]
        response = httpx.Response(
            self.status_code, headers=kept, content=content, request=self.response.request
        )
        return HTTPAnswer(
            status_code=self.status_code,
            headers={k.lower(): redact(v) for k, v in self.headers.items()},
            content=content,
            response=response,
        )


def default_limits() -> Limits:
    """The pool limits of a client that sets none (`_constants`)."""
    return Limits()


def make_limits(limits: httpx.Limits | None) -> Limits:
    """The caller's pool limits, checked; None gives `default_limits`.

    Raises:
        InvalidInputError: not a `Limits`, or one whose counts are not None or whole
            numbers (at least 1 open connection, 0 idle ones allowed) or whose expiry
            is not None or seconds >= 0. httpx takes anything and fails in the pool.
    """
    if limits is None:
        return default_limits()
    if not isinstance(limits, httpx.Limits):
        raise InvalidInputError(f"limits must be a routerhub_images.Limits, not {limits!r}")
    counts = (("max_connections", 1), ("max_keepalive_connections", 0))
    for name, least in counts:
        value = getattr(limits, name)
        if value is not None and (not _is_int(value) or value < least):
            raise InvalidInputError(f"limits.{name} must be None or an integer >= {least}")
    expiry = limits.keepalive_expiry
    if expiry is not None and (not _is_number(expiry) or not 0 <= expiry < math.inf):
        raise InvalidInputError("limits.keepalive_expiry must be None or seconds >= 0")
    if isinstance(limits, Limits):
        return limits
    return Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
    )


def check_max_response_bytes(value: object) -> int:
    """The caller's ``max_response_bytes``, checked.

    Raises:
        InvalidInputError: not an integer >= 1.
    """
    if not _is_int(value) or cast(int, value) < 1:
        raise InvalidInputError(f"max_response_bytes must be an integer >= 1, not {value!r}")
    return cast(int, value)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")
_OWN_HEADERS = frozenset(
    {
        "authorization",
        "x-goog-api-key",
        "content-type",
        "content-length",
        "host",
        "transfer-encoding",
    }
)
"""Headers the client sets itself for every request, which ``default_headers`` cannot."""


def check_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """The caller's extra request headers, checked before anything is sent.

    Raises:
        InvalidInputError: not a mapping of str to str, a name that is not an HTTP token,
            a value with a line break or a non-ASCII character (httpx would fail on it
            inside the first request), or a header the client sets itself (the key, the
            body's type and length).
    """
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise InvalidInputError(f"default_headers must be a mapping, not {type(headers).__name__}")
    checked: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidInputError(f"default_headers: {name!r} is not a valid header name")
        if name.lower() in _OWN_HEADERS:
            raise InvalidInputError(f"default_headers: the client sets {name!r} itself")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise InvalidInputError(
                f"default_headers: the value of {name!r} must be a str of printable ASCII"
            )
        checked[name] = value
    return checked


def make_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    """The caller's timeout as an ``httpx.Timeout`` (a number applies to every phase).

    Raises:
        InvalidInputError: ``timeout`` is not a non-negative number, None or a `Timeout`
            (httpx would accept ``"5"`` and fail deep inside the first request).
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is None:
        return httpx.Timeout(None)
    if not _is_number(timeout) or not timeout >= 0:
        raise InvalidInputError(f"timeout must be seconds >= 0, None or a Timeout: {timeout!r}")
    return httpx.Timeout(timeout)


def default_timeout() -> httpx.Timeout:
    """Timeouts sized for image generation: see `_constants` for the figures."""
    return httpx.Timeout(
        connect=consts.CONNECT_TIMEOUT,
        read=consts.READ_TIMEOUT,
        write=consts.WRITE_TIMEOUT,
        pool=consts.POOL_TIMEOUT,
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


INSECURE_HTTP_HINT = "pass allow_insecure_http=True"
"""How an `InsecureTransportError` says to send the key over ``http://`` anyway."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


def _shown(base_url: str) -> str:
    """``base_url`` for an error message: anything that may be credentials left out."""
    _, at, rest = base_url.rpartition("@")
    if not at:
        return base_url
    scheme = _SCHEME.match(base_url)
    return (scheme.group() if scheme else "") + rest


def check_base_url(base_url: str, *, allow_insecure: bool) -> str:
    """Validate the base URL; refuse clear-text ``http://`` to a non-loopback host.

    No error message quotes credentials the URL may carry.

    Raises:
        InsecureTransportError: ``http://`` to another host without ``allow_insecure``.
        ConfigurationError: the URL is malformed, not http(s), has a query or fragment
            (paths are appended to it), or carries credentials (``user:pw@``).
    """
    if not isinstance(base_url, str):
        raise ConfigurationError(f"base_url must be a str, not {type(base_url).__name__}")
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        # httpx's message may quote a piece of the userinfo.
        reason = "" if "@" in base_url else f": {exc}"
        raise ConfigurationError(
            f"base_url {_shown(base_url)!r} is not a valid URL{reason}"
        ) from None
    if url.userinfo:
        raise ConfigurationError(
            "base_url must not carry credentials (user:password@): the API key is the "
            f"credential; got {_shown(base_url)!r}"
        )
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ConfigurationError(
            f"base_url must be an http(s) URL without query or fragment, got {_shown(base_url)!r}"
        )
    if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure:
        raise InsecureTransportError(
            f"refusing to send the API key in clear text to {url.host}; use https:// "
            f"or {INSECURE_HTTP_HINT}"
        )
    return str(url).rstrip("/")


def _map_aiohttp_error(exc: BaseException | None) -> APIConnectionError | None:
    """Our error for an aiohttp failure, or None when ``exc`` is not one.

    ``httpx-aiohttp`` translates aiohttp's errors to httpx's only roughly (a dropped
    connection becomes a ``ConnectTimeout``, which would claim the request was never
    sent) and lets some through untranslated, so the aiohttp original decides.
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
    request_sent = not isinstance(exc, aiohttp.ClientConnectorError)
    # aiohttp words a malformed answer "400, message=..., url=...": a made-up status
    # a reader would take for the server's. Its ``message`` (for a cut-short body, that
    # of the parser error it wraps) says it all.
    source = exc.__cause__ if isinstance(exc, aiohttp.ClientPayloadError) else exc
    message = getattr(source, "message", None)
    detail = one_line(message if isinstance(message, str) and message else str(exc))
    return APIConnectionError(f"connection failed ({kind}): {detail}", request_sent=request_sent)


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


def _map_error(
    exc: httpx.RequestError, *, upload_cut: bool = False
) -> APIConnectionError | ResponseError:
    kind = type(exc).__name__
    certificate = _certificate_failure(exc)
    if certificate is not None:
        return TLSVerificationError(
            f"the server's TLS certificate could not be verified: {certificate}"
        )
    from_aiohttp = _map_aiohttp_error(exc.__cause__)
    if from_aiohttp is not None:
        return from_aiohttp
    if isinstance(exc, httpx.DecodingError):  # e.g. a body that claims gzip but is not
        return ResponseError(f"could not decode the answer's body ({kind}): {exc}")
    if isinstance(exc, httpx.TimeoutException):
        phase = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }.get(type(exc), "read")
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


class _WholeBody(httpx.AsyncByteStream):
    """A response body in pieces of ``piece`` bytes or more: in one piece unless larger.

    ``chunks`` yields the body as it arrives; ``abort`` drops the connection, which
    closing does when the body was not read to its end (it is not reusable then).
    Closing closes the wrapped stream.
    """

    def __init__(
        self,
        inner: httpx.AsyncByteStream,
        chunks: Callable[[], AsyncIterator[bytes]],
        abort: Callable[[], None],
        piece: int,
    ):
        self._inner = inner
        self._chunks = chunks
        self._abort = abort
        self._piece = piece
        self._done = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        pieces: list[bytes] = []
        size = 0
        async for chunk in self._chunks():
            pieces.append(chunk)
            size += len(chunk)
            if size >= self._piece:
                yield b"".join(pieces)
                pieces, size = [], 0
        self._done = True
        yield b"".join(pieces)

    async def aclose(self) -> None:
        if not self._done:
            self._abort()
        await self._inner.aclose()


UPLOAD_CHUNK = 1 << 20
"""Bytes per piece of a request body handed to aiohttp under a write timeout."""
_AIOHTTP_WRITE_BUFFER = 1 << 16
"""aiohttp waits for the socket to drain only past this many buffered bytes, so a
smaller body cannot stall a request while it is written."""


class _TimedBody(httpx.AsyncByteStream):
    """A request body that aiohttp must send within ``write`` seconds, or ``scope`` ends.

    aiohttp has no write timeout. Handed the body piece by piece, it asks for the next
    piece only once the last one has drained into the socket, so a deadline set at the
    first piece and lifted after the last bounds the sending of the whole body, as
    httpcore's write timeout does for httpx's own pool.
    """

    def __init__(self, body: bytes, scope: anyio.CancelScope, write: float):
        self._body = body
        self._scope = scope
        self._write = write

    async def __aiter__(self) -> AsyncIterator[bytes]:
        view = memoryview(self._body)
        self._scope.deadline = anyio.current_time() + self._write
        for start in range(0, len(view), UPLOAD_CHUNK):
            # aiohttp writes any buffer: slicing the view copies nothing.
            yield cast(bytes, view[start : start + UPLOAD_CHUNK])
        self._scope.deadline = math.inf


async def _send_timed(
    send: Callable[[httpx.Request], Awaitable[httpx.Response]], request: httpx.Request
) -> httpx.Response:
    """``send(request)``, raising ``httpx.WriteTimeout`` if its body is not sent in time."""
    write = request.extensions.get("timeout", {}).get("write")
    try:
        body = request.content
    except httpx.RequestNotRead:  # a streaming body (not ours): sent as it is
        return await send(request)
    if write is None or len(body) <= _AIOHTTP_WRITE_BUFFER:
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


TransportFactory = Callable[[httpx.Limits], httpx.AsyncBaseTransport | None]
"""Builds the transport of one new pool from the pool limits (None: httpx's own)."""


def _env_proxy(base_url: str) -> httpx.Proxy | None:
    """The proxy the environment sets for ``base_url``, as httpx's own pool reads it.

    ``HTTPS_PROXY`` / ``HTTP_PROXY`` by scheme, else ``ALL_PROXY``; none for a host that
    ``NO_PROXY`` exempts. Read when a pool is built, as httpx does. (aiohttp's own
    ``trust_env`` would look the proxy up, and ``~/.netrc``, on a thread per request.)

    Raises:
        ConfigurationError: a proxy aiohttp cannot use (``socks5://``).
    """
    import urllib.request  # noqa: PLC0415 - ~15 ms, needed only by aiohttp pools

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


def _aiohttp_factory(
    base_url: str, max_response_bytes: int, *, trust_env: bool
) -> TransportFactory:
    try:  # an optional extra
        import aiohttp  # noqa: PLC0415
        from httpx_aiohttp import AiohttpTransport  # noqa: PLC0415
    except ImportError as exc:
        raise MissingDependencyError(
            f"transport='aiohttp' needs aiohttp and httpx-aiohttp: pip install '{AIOHTTP_EXTRA}'"
        ) from exc

    class WholeBodyTransport(AiohttpTransport):
        """aiohttp under httpx, with a write timeout and whole-body reads.

        Requests are sent under the write timeout aiohttp lacks (`_TimedBody`), and
        the body comes in one piece (`_WholeBody`, joined as aiohttp's ``read`` does),
        not in 16 KiB chunks, unless it passes ``max_response_bytes``. Chunking costs a
        copy of every byte and a trip through the decoder per chunk: ~20% of the client
        CPU of a 2 MB image. aiohttp errors raised while reading are mapped by
        `Transport.post`.
        """

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await _send_timed(super().handle_async_request, request)
            stream = response.stream
            answer = getattr(stream, "_aiohttp_response", None)
            # httpx-aiohttp's stream wraps aiohttp's response; another version may not.
            if answer is not None and isinstance(stream, httpx.AsyncByteStream):
                response.stream = _WholeBody(
                    stream, answer.content.iter_any, answer.close, max_response_bytes
                )
            return response

        def get_client(self) -> aiohttp.ClientSession:
            """The session, its connector keeping to the pool limits as httpx reads them.

            ``max_connections`` None is no limit (aiohttp's 0; its default is 100), and
            ``max_keepalive_connections`` 0 keeps no idle connection (``force_close``).
            Above 0, idle connections are not capped: aiohttp has no such setting.
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
        if not isinstance(_loop_key(), asyncio.AbstractEventLoop):
            raise ConfigurationError(
                "transport='aiohttp' runs on asyncio only; under trio use transport='httpx'"
            )
        # The ClientSession is created on the first request, so on the pool's own loop.
        proxy = _env_proxy(base_url) if trust_env else None
        return WholeBodyTransport(limits=limits, proxy=proxy)

    return factory


def _transport_factory(
    choice: TransportChoice | None, base_url: str, max_response_bytes: int, *, trust_env: bool
) -> TransportFactory:
    if choice is None or (isinstance(choice, str) and choice == "httpx"):
        return lambda _: None  # httpx builds its own pool
    if isinstance(choice, str) and choice == "aiohttp":
        return _aiohttp_factory(base_url, max_response_bytes, trust_env=trust_env)
    if isinstance(choice, httpx.AsyncBaseTransport):
        return lambda _: choice
    raise InvalidInputError(
        f"transport must be 'httpx', 'aiohttp' or an httpx.AsyncBaseTransport, not {choice!r}"
    )


class Transport:
    """Sends POSTs with auth through a pooled ``httpx.AsyncClient`` per event loop.

    The pools built here read the environment (proxies, CA bundle) only with
    ``trust_env``; redirects are never followed, whatever client is used.

    Raises:
        InvalidInputError: ``transport`` is not a `TransportChoice`.
        MissingDependencyError: ``transport="aiohttp"`` without ``httpx-aiohttp`` installed.
    """

    def __init__(
        self,
        *,
        base_url: str,
        auth_headers: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        timeout: httpx.Timeout,
        http_client: httpx.AsyncClient | None = None,
        transport: TransportChoice | None = None,
        limits: Limits | None = None,
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
        self._limits = limits or default_limits()
        self._make_transport = _transport_factory(
            transport, base_url, max_response_bytes, trust_env=trust_env
        )
        self._own_pool = isinstance(transport, httpx.AsyncBaseTransport)
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

    def _new_pool(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._timeout,
            limits=self._limits,
            transport=self._make_transport(self._limits),
            headers={"user-agent": _USER_AGENT},
            trust_env=self._trust_env,
        )

    async def _pool(self) -> httpx.AsyncClient:
        if self._closed:
            raise ClientClosedError("the client is closed; create a new one")
        if self._injected is not None:
            return self._injected
        loop = _loop_key()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = self._new_pool()
            if isinstance(loop, asyncio.AbstractEventLoop):
                self._guards[loop] = await _close_with_loop(pool)
        return pool

    async def post(
        self, path: str, body: bytes, *, timeout: httpx.Timeout | None = None
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
        request = pool.build_request(
            "POST",
            self._base_url + path,
            content=body,
            headers=self._headers,
            extensions=extensions,
        )
        upload = _Upload(body)
        request.stream = upload  # the same bytes, sent with the same Content-Length
        try:
            # An injected client may follow redirects: the key would go along.
            response = await pool.send(request, stream=True, follow_redirects=False)
            try:
                content = await _read_body(response, self._max_response_bytes)
            finally:
                await response.aclose()  # drops the connection unless read to the end
        except httpx.RequestError as exc:  # transport failures, redirects
            raise _map_error(exc, upload_cut=not upload.sent) from None
        except Exception as exc:  # aiohttp errors that httpx-aiohttp lets through
            mapped = _map_aiohttp_error(exc)
            if mapped is None:
                raise
            raise mapped from None
        # httpx links the response and its (now consumed) stream in a reference cycle, so
        # without this the body -- 27 MB for a 20 MB image -- lives until the cyclic GC runs,
        # and several pile up in RSS. The stream is read and closed: drop it.
        response.stream = _CONSUMED
        response._content = content  # as `Response.aread` leaves it: error.response.text
        # The sent request stays reachable (error.response.request); httpx's repr masks
        # only ``authorization``, so take the key out of every auth header it kept.
        for name in self._auth_headers:
            response.request.headers[name] = "<redacted>"
        return HTTPAnswer(
            status_code=response.status_code,
            headers={k.lower(): v for k, v in response.headers.items()},
            content=content,
            response=response,
        )

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


_CONSUMED = httpx.ByteStream(b"")
"""Stands in for the stream of a response whose body has been read."""

_ACCEPT_ENCODING = "gzip, deflate"
"""The content codings the client asks for: those `_Decoder` decodes."""


class _Upload(httpx.AsyncByteStream):
    """A request body that knows whether it was handed over whole.

    httpcore asks for the next piece only once the last one is written, and swallows a
    failed write to read the answer a server may send before it stops reading (a 413);
    when none can be read, ``sent`` tells that the upload was cut short.
    """

    def __init__(self, body: bytes):
        self._body = body
        self.sent = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self._body
        self.sent = True


class _Decoder:
    """Decodes a body's content coding (identity, gzip, deflate) with bounded output.

    httpx's decoders inflate a chunk whole: 64 KiB of a gzip bomb is 64 MB at once
    (and far more for brotli), so the body is decoded here, never past the limit.
    """

    def __init__(self, coding: str):
        self.coding = coding
        self._inflate: Any = None
        if coding in ("gzip", "x-gzip"):
            self._inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif coding == "deflate":
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


def _decoder(headers: httpx.Headers) -> _Decoder:
    codings = [
        coding.strip().lower()
        for value in headers.get_list("content-encoding")
        for coding in value.split(",")
        if coding.strip().lower() not in ("", "identity")
    ]
    if len(codings) > 1:
        raise ResponseError(f"unsupported content-encoding: {', '.join(codings)}")
    return _Decoder(codings[0] if codings else "identity")


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
    decoder = _decoder(response.headers)
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


async def _close_with_loop(pool: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Start an async generator whose finalizer closes ``pool``.

    ``asyncio.run`` finalizes live async generators (``shutdown_asyncgens``) before it
    closes the loop, so the pool's sockets are closed on the loop that opened them.
    """

    async def guard() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await pool.aclose()

    agen = guard()
    await agen.asend(None)
    return agen


_USER_AGENT = f"routerhub-images/{__version__}"


def asgi_transport(app: Any) -> httpx.AsyncBaseTransport:
    """A transport that hands each request to an ASGI ``app`` in process (no sockets)."""
    return httpx.ASGITransport(app=app)
