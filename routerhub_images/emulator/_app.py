"""The emulator as a plain ASGI 3 application: one route, no framework."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import json
import random
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from ._config import EmulatorConfig
from ._errors import (
    PER_MINUTE_QUOTA_ID,
    ApiError,
    error_body,
    quota_exhausted,
    retry_after,
    retry_info,
)
from ._faults import Fault, FaultScript, TokenBucket
from ._log import LoggedRequest, RequestLog
from ._request import parse_request, resolve_model
from ._responses import answer, reshape
from ._signatures import signing_key

Scope = MutableMapping[str, Any]
"""An ASGI connection scope."""
Message = MutableMapping[str, Any]
"""An ASGI event."""
Receive = Callable[[], Awaitable[Message]]
"""The ASGI ``receive`` callable."""
Send = Callable[[Message], Awaitable[None]]
"""The ASGI ``send`` callable."""

_ROUTE = re.compile(r"/v1beta/models/(?P<model>.+):generateContent")
_JSON = "application/json; charset=UTF-8"
_HTML_PAGE = (
    "<html>\r\n<head><title>{code} Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>{code} Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class ConnectionDropped(ConnectionError):  # noqa: N818 - it names the event, like its base
    """Raised on purpose by a ``Fault.disconnect()`` after part of the body was sent."""


@dataclasses.dataclass
class _Response:
    status: int
    body: bytes
    content_type: str = _JSON
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    cut: int | None = None

    async def send(self, send: Send, request_id: str) -> None:
        headers = [("content-type", self.content_type), ("content-length", str(len(self.body)))]
        headers += [("x-request-id", request_id), *self.headers]
        encoded = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        await send({"type": "http.response.start", "status": self.status, "headers": encoded})
        if self.cut is None:
            await send({"type": "http.response.body", "body": self.body})
            return
        await send({"type": "http.response.body", "body": self.body[: self.cut], "more_body": True})
        raise ConnectionDropped("emulator dropped the connection on purpose")


def _json_response(
    status: int, body: Any, headers: list[tuple[str, str]] | None = None
) -> _Response:
    return _Response(status, json.dumps(body, indent=2).encode(), headers=headers or [])


class EmulatorApp:
    """A RouterHub-compatible ``generateContent`` endpoint as an ASGI 3 callable.

    It serves ``POST /v1beta/models/{model}:generateContent`` and answers everything else with
    a Google-style 404 or 405. Run it under any ASGI server or in-process through
    ``httpx.ASGITransport``.

    Args:
        config: Settings; read afresh on each request, so tests may change them between
            requests (``app.config.latency = 0.5``).
        clock: Monotonic seconds for the rate limiter; inject a fake one in tests.
        sleep: Awaitable sleep used for latency and ``Fault.delay``.

    Attributes:
        config: The live settings.
        faults: The scripted faults still to be served (see ``script``).
        log: Every request served, for assertions such as "three attempts arrived".
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.config = config if config is not None else EmulatorConfig()
        self.faults = FaultScript()
        self.log = RequestLog()
        self._bucket = TokenBucket(clock)
        self._sleep = sleep
        self._random = random.Random(self.config.seed)  # noqa: S311 - latency jitter, not crypto
        self._random_lock = threading.Lock()
        self._generation = 0

    @property
    def api_key(self) -> str:
        """The first accepted API key (``"rh_emulator"`` by default)."""
        return self.config.api_keys[0]

    def script(self, *faults: Fault) -> None:
        """Append faults to the script; each request to the endpoint consumes the next one.

        ``app.script(Fault.status(503), Fault.status(503))`` fails two requests, then the
        emulator answers normally again.
        """
        self.faults.extend(faults)

    def reset(self) -> None:
        """Clear pending faults and the request log, and refill the rate limiter.

        A request that arrived before the reset (one its client gave up on, still being
        served) takes no fault scripted after it and is not logged.
        """
        self._generation += 1
        self.faults.clear()
        self.log.clear()
        self._bucket.reset()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one ASGI connection (``http``; ``lifespan`` is acknowledged)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
        elif scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = time.time()
        generation = self._generation
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        style, key = _credential(headers)
        match = _ROUTE.fullmatch(scope["path"])
        model = match["model"] if match else None
        fault: Fault | None = None
        try:
            body = await _read_body(receive)
            if model is None or scope["method"] != "POST":
                raise _not_routed(scope["method"], scope["path"], model)
            fault = await self._before(model, generation)
            response = self._serve(model, style, key, body, fault)
        except ApiError as error:
            response = _json_response(error.code, error.body(), error.headers)
        request_id = secrets.token_hex(8)
        kind = fault.kind if fault else None
        entry = LoggedRequest(
            scope["method"], scope["path"], model, response.status, style, arrived, kind
        )
        if generation == self._generation:
            self.log.append(entry)
        await response.send(send, request_id)

    async def _before(self, model: str, generation: int) -> Fault | None:
        """Wait the configured latency, then take the next scripted fault (if not stale)."""
        config = self.config
        with self._random_lock:
            jitter = (
                self._random.uniform(0.0, config.latency_jitter) if config.latency_jitter else 0.0
            )
        if config.latency + jitter > 0:
            await self._sleep(config.latency + jitter)
        fault = self.faults.pop() if generation == self._generation else None
        if fault is not None and fault.kind == "delay":
            await self._sleep(fault.seconds)
        return fault

    def _serve(
        self, model: str, style: str | None, key: str | None, body: bytes, fault: Fault | None
    ) -> _Response:
        early = _fault_response(fault, model) if fault else None
        if early is not None:
            return early
        self._authenticate(style, key)
        spec = resolve_model(model)
        self._limit(spec.name)
        request = parse_request(body, spec, signing_key=signing_key(self.config.seed))
        result = answer(request, self.config, secrets.token_urlsafe(16))
        return _corrupt(result, fault) if fault else _json_response(200, result)

    def _authenticate(self, style: str | None, key: str | None) -> None:
        if style is None or key is None:
            raise ApiError(
                401,
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API.",
            )
        if not any(hmac.compare_digest(key.encode(), k.encode()) for k in self.config.api_keys):
            raise ApiError(401, "API key not valid. Please pass a valid API key.")

    def _limit(self, model: str) -> None:
        rpm = self.config.rate_limit_rpm
        if rpm is None:
            return
        wait = self._bucket.acquire(rpm, self.config.rate_limit_burst)
        if wait is not None:
            raise quota_exhausted(model, retry_delay=wait, limit=int(rpm))


def create_app(
    config: EmulatorConfig | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
) -> EmulatorApp:
    """Create an emulator app; the arguments are those of ``EmulatorApp``."""
    return EmulatorApp(config, clock=clock, sleep=sleep)


def _credential(headers: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Return the auth header style used and the key it carries (never logged)."""
    authorization = headers.get("authorization", "")
    if authorization[:7].lower() == "bearer ":
        return "bearer", authorization[7:].strip()
    if "x-goog-api-key" in headers:
        return "x-goog-api-key", headers["x-goog-api-key"].strip()
    return None, None


def _not_routed(method: str, path: str, model: str | None) -> ApiError:
    if model is None:
        return ApiError(404, f"Method not found: {path}")
    return ApiError(405, f"Method {method} is not allowed; use POST.", headers=[("allow", "POST")])


def _fault_response(fault: Fault, model: str) -> _Response | None:
    """Answer a status-like fault, or return ``None`` for faults that alter a success."""
    if fault.kind == "html":
        page = _HTML_PAGE.format(code=fault.code).encode()
        return _Response(fault.code, page, content_type="text/html")
    if fault.kind == "wrapped":
        return _json_response(fault.code, [error_body(fault.code, fault.message)])
    if fault.kind != "status":
        return None
    if fault.code == 429 and fault.details is None:
        error = quota_exhausted(
            model.removeprefix("models/").removeprefix("google/"),
            retry_delay=fault.retry_delay,
            quota_id=fault.quota_id or PER_MINUTE_QUOTA_ID,
            message=fault.message,
        )
        return _json_response(429, error.body(), error.headers)
    return _status_response(fault)


def _status_response(fault: Fault) -> _Response:
    details = list(fault.details) if fault.details is not None else []
    headers = []
    if fault.retry_delay is not None:
        if fault.details is None:
            details.append(retry_info(fault.retry_delay))
        headers.append(("retry-after", retry_after(fault.retry_delay)))
    return _json_response(fault.code, error_body(fault.code, fault.message, details), headers)


def _corrupt(result: dict[str, Any], fault: Fault) -> _Response:
    """Apply a fault that damages a successful answer."""
    if fault.kind in ("wrong_size", "text_only"):
        return _json_response(200, reshape(result, fault))
    if fault.kind == "bad_base64":
        for candidate in result.get("candidates", []):
            for part in candidate.get("content", {}).get("parts", []):
                if "inlineData" in part:
                    part["inlineData"]["data"] = "!!not*base64!!"
    response = _json_response(200, result)
    if fault.kind == "truncated_json":
        response.body = response.body[: len(response.body) // 2]
    elif fault.kind == "disconnect":
        response.cut = len(response.body) // 2
    return response


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
