"""Checking the client's settings: base URL, headers, pool limits, timeouts, size limits.

Each check runs when the client is built, so a bad setting is an error before any I/O.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import os
import re
import ssl
from collections.abc import Mapping
from typing import Literal, TypeGuard

import httpx

from . import _constants as consts
from ._errors import ConfigurationError, InsecureTransportError, InvalidInputError

Timeout = httpx.Timeout
"""Split timeouts: ``Timeout(read=300.0, connect=10.0, write=60.0, pool=60.0)``."""

TimeoutTypes = float | None | httpx.Timeout


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


TransportName = Literal["httpx", "aiohttp"]
"""The transports the library builds itself."""

TransportChoice = TransportName | httpx.AsyncBaseTransport
"""What carries the requests, always chosen explicitly (never by what is installed).

- ``"httpx"`` (the default): httpx's own connection pool (httpcore).
- ``"aiohttp"``: aiohttp through the ``httpx-aiohttp`` transport, one
  ``aiohttp.ClientSession`` per event loop; needs ``routerhub-images[aiohttp]``.
  Less CPU per request. The library adds the write timeout and the environment's
  proxy that aiohttp lacks; idle connections are not capped, only open ones.
- an ``httpx.AsyncBaseTransport``: used for the pools we create (e.g.
  ``httpx.ASGITransport`` to talk to an in-process emulator).
"""


def make_limits(limits: httpx.Limits | None) -> Limits:
    """The caller's pool limits, checked; None gives the defaults.

    Raises:
        InvalidInputError: not a `Limits`, or one whose counts are not None or whole
            numbers (at least 1 open connection, 0 idle ones allowed) or whose expiry
            is not None or seconds >= 0. httpx takes anything and fails in the pool.
    """
    if limits is None:
        return Limits()
    if not isinstance(limits, httpx.Limits):
        raise InvalidInputError(f"limits must be a routerhub_images.Limits, not {limits!r}")
    for name, least in (("max_connections", 1), ("max_keepalive_connections", 0)):
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


def check_byte_limit(name: str, value: object, *, none_allowed: bool = False) -> int:
    """A size limit in bytes given as ``name``, checked (the caller handles an allowed None).

    Raises:
        InvalidInputError: not an integer >= 1.
    """
    if _is_int(value) and value >= 1:
        return value
    alternative = " or None" if none_allowed else ""
    raise InvalidInputError(f"{name} must be an integer >= 1{alternative}, not {value!r}")


def _is_int(value: object) -> TypeGuard[int]:
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
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise InvalidInputError(f"default_headers: {name!r} is not a valid header name")
        if name.lower() in _OWN_HEADERS:
            raise InvalidInputError(f"default_headers: the client sets {name!r} itself")
        if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
            raise InvalidInputError(
                f"default_headers: the value of {name!r} must be a str of printable ASCII"
            )
    return dict(headers)


def make_timeout(timeout: TimeoutTypes) -> httpx.Timeout:
    """The caller's timeout as an ``httpx.Timeout`` (a number applies to every phase).

    Raises:
        InvalidInputError: ``timeout`` is not a non-negative number, None or a `Timeout`
            (httpx would accept ``"5"`` and fail deep inside the first request).
    """
    if isinstance(timeout, httpx.Timeout):
        return timeout
    if timeout is not None and (not _is_number(timeout) or not timeout >= 0):
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


INSECURE_HTTP_HINT = "pass allow_insecure_http=True"
"""How an `InsecureTransportError` says to send the key over ``http://`` anyway."""

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")


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
    shown = _shown(base_url)
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        # httpx's message may quote a piece of the userinfo.
        reason = "" if "@" in base_url else f": {exc}"
        raise ConfigurationError(f"base_url {shown!r} is not a valid URL{reason}") from None
    if url.userinfo:
        raise ConfigurationError(
            "base_url must not carry credentials (user:password@): the API key is the "
            f"credential; got {shown!r}"
        )
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ConfigurationError(
            f"base_url must be an http(s) URL without query or fragment, got {shown!r}"
        )
    if url.scheme == "http" and not _is_loopback(url.host) and not allow_insecure:
        raise InsecureTransportError(
            f"refusing to send the API key in clear text to {url.host}; use https:// "
            f"or {INSECURE_HTTP_HINT}"
        )
    return str(url).rstrip("/")


def _shown(base_url: str) -> str:
    """``base_url`` for an error message: anything that may be credentials left out."""
    _, at, rest = base_url.rpartition("@")
    if not at:
        return base_url
    scheme = _SCHEME.match(base_url)
    return (scheme.group() if scheme else "") + rest


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def ssl_context(*, trust_env: bool) -> ssl.SSLContext:
    """The verifying SSL context of the pools the library builds.

    Loading the CA bundle takes tens of milliseconds, so clients with the same CA
    settings (what httpx reads: ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` with
    ``trust_env``) share one context instead of each loading its own.
    """
    if not trust_env:
        return _ssl_context(False, None, None)
    return _ssl_context(True, os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.cache
def _ssl_context(trust_env: bool, cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    return httpx.create_ssl_context(trust_env=trust_env)
