"""Hostile answers: absurd server delays, errors sent as successes, nulls everywhere."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import copy
import email.utils
import json
import math
from collections.abc import AsyncIterator
from typing import Any, Literal

import anyio
import pytest
import respx
from client_helpers import KEY, MODEL, PATH, PNG, WALL, FakeClock, error_body, ok_body, read_request
from hypothesis import given, settings
from hypothesis import strategies as st
from wire_samples import load_fixture

from routerhub_images import (
    AsyncImageClient,
    GenerateContentResponse,
    InternalServerError,
    InvalidArgumentError,
    ResourceExhaustedError,
    ResponseError,
    RetryPolicy,
)
from routerhub_images._constants import MAX_SERVER_DELAY
from routerhub_images._errors import api_error_from_http
from routerhub_images._retry import Cooldown, call_with_retries, retry_delay
from routerhub_images._types import Blob
from routerhub_images._wire import _PREDECODE_MIN_CHARS, _loads_predecoded
from routerhub_images.emulator import EmulatorServer, Fault
from routerhub_images.emulator._png import synthesize_png

Transport = Literal["httpx", "aiohttp"]
TRANSPORTS: list[Transport] = ["httpx", "aiohttp"]
BACKOFF = 0.5  # the jitter of `_decide` below times BACKOFF_INITIAL (1 s)

# --- 1. no hang: every server-told wait is finite and bounded -------------------------


def _retry_info(delay: str) -> dict[str, Any]:
    return {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}


def _rate_limited(delay: str | None = None, retry_after: str | None = None) -> Exception:
    details = [] if delay is None else [_retry_info(delay)]
    body = json.dumps(error_body(429, "RESOURCE_EXHAUSTED", details=details)).encode()
    headers = {} if retry_after is None else {"retry-after": retry_after}
    return api_error_from_http(429, headers, body)


def _decide(error: Exception, policy: RetryPolicy | None = None) -> float | None:
    policy = policy or RetryPolicy(deadline=None)
    return retry_delay(policy, error, attempt=1, elapsed=0.0, random=lambda: 0.5, now=WALL)


HUGE_DELAYS = ["9" * 400 + "s", "100000000s", f"{MAX_SERVER_DELAY + 1:g}s"]
UNREADABLE_DELAYS = ["inf", "infs", "nan", "NaNs", "-5s", "1e9s", ""]


@pytest.mark.parametrize("delay", HUGE_DELAYS)
def test_a_retry_info_above_the_maximum_gives_up(delay: str) -> None:
    """A RetryInfo delay above max_server_delay (or beyond a float) gives up, deadline or not."""
    assert _decide(_rate_limited(delay)) is None


@pytest.mark.parametrize("delay", UNREADABLE_DELAYS)
def test_an_unreadable_retry_info_falls_back_to_backoff(delay: str) -> None:
    """A RetryInfo delay that is not a finite Duration waits the bounded backoff instead."""
    assert _decide(_rate_limited(delay)) == BACKOFF


@pytest.mark.parametrize(
    "value",
    ["100000000", email.utils.formatdate(WALL + 10 * 365 * 86400, usegmt=True)],
)
def test_a_retry_after_above_the_maximum_gives_up(value: str) -> None:
    """A Retry-After of years (seconds or an HTTP date) gives up rather than sleeping."""
    assert _decide(_rate_limited(retry_after=value)) is None


def test_a_server_delay_at_the_maximum_is_waited() -> None:
    """A server delay of exactly max_server_delay is still honoured."""
    assert _decide(_rate_limited(f"{MAX_SERVER_DELAY:g}s")) == MAX_SERVER_DELAY


def test_max_server_delay_is_overridable() -> None:
    """RetryPolicy(max_server_delay=...) raises the bound for a patient caller."""
    policy = RetryPolicy(deadline=None, max_server_delay=1000.0)
    assert _decide(_rate_limited("900s"), policy) == 900.0


@pytest.mark.parametrize("value", [math.inf, math.nan, -1.0])
def test_max_server_delay_must_be_finite(value: float) -> None:
    """An infinite, NaN or negative max_server_delay is refused."""
    with pytest.raises(ValueError, match="max_server_delay"):
        RetryPolicy(max_server_delay=value)


@pytest.mark.parametrize("seconds", [math.inf, math.nan, -5.0])
def test_a_cooldown_never_closes_for_ever(seconds: float) -> None:
    """Cooldown.open_for ignores a pause that is not a finite positive number."""
    cooldown = Cooldown()
    cooldown.open_for(seconds)
    assert cooldown.remaining() == 0.0


async def _succeed() -> str:
    return "ok"


async def test_a_cooldown_holds_a_call_without_deadline_at_most_the_maximum() -> None:
    """With deadline=None, a long-closed cooldown holds a call max_server_delay at most."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(1e9)
    policy = RetryPolicy(deadline=None, max_retries=0, max_server_delay=5.0)
    result, stats = await call_with_retries(_succeed, policy=policy, cooldown=cooldown, clock=clock)
    assert (result, sum(clock.sleeps), stats.attempts) == ("ok", 5.0, 1)


async def test_a_cooldown_holds_a_call_at_most_its_deadline() -> None:
    """A deadline shorter than max_server_delay bounds the cooldown wait instead."""
    clock = FakeClock()
    cooldown = Cooldown(clock=clock)
    cooldown.open_for(1e9)
    policy = RetryPolicy(deadline=2.0, max_retries=0)
    await call_with_retries(_succeed, policy=policy, cooldown=cooldown, clock=clock)
    assert sum(clock.sleeps) == 2.0


@pytest.mark.integration
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize(
    ("delay", "attempts"), [(HUGE_DELAYS[0], 1), (HUGE_DELAYS[1], 1), ("inf", 2), ("-5s", 2)]
)
async def test_an_absurd_retry_delay_never_wedges_the_client(
    routerhub_emulator: EmulatorServer, transport: Transport, delay: str, attempts: int
) -> None:
    """Over HTTP with deadline=None, an absurd RetryInfo ends the call; the next is not held."""
    fault = Fault.status(429, details=[_retry_info(delay)])
    routerhub_emulator.app.script(*[fault] * attempts)
    policy = RetryPolicy(deadline=None, max_retries=1, initial=0.01, max_backoff=0.01)
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        retry=policy,
        transport=transport,
    ) as client:
        with anyio.fail_after(5), pytest.raises(ResourceExhaustedError) as info:
            await client.generate_image("a cat")
        with anyio.fail_after(5):
            later = await client.generate_image("a dog", max_retries=0)
    assert info.value.call is not None
    assert info.value.call.attempts == attempts
    assert len(later.images) == 1
    assert routerhub_emulator.app.log.statuses == [429] * attempts + [200]


# --- a loopback server answering scripted bodies ----------------------------------------


class _Scripted:
    """A raw HTTP/1.1 server on 127.0.0.1 answering each request with the next (status, body)."""

    def __init__(self, *answers: tuple[int, bytes]) -> None:
        self.answers = list(answers)
        self.requests = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while self.answers:
                await read_request(reader)
                self.requests += 1
                status, body = self.answers.pop(0)
                head = f"HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n"
                writer.write(f"{head}content-length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except asyncio.IncompleteReadError:
            pass
        finally:
            writer.close()


@contextlib.asynccontextmanager
async def _client_of(scripted: _Scripted, transport: Transport) -> AsyncIterator[AsyncImageClient]:
    server = await asyncio.start_server(scripted.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with (
        server,
        AsyncImageClient(
            KEY,
            base_url=f"http://127.0.0.1:{port}",
            transport=transport,
        ) as client,
    ):
        yield client


def _json(payload: Any) -> bytes:
    return json.dumps(payload).encode()


# --- 2. every answer judged: an error envelope sent as a 200 is that error -------------


@pytest.mark.integration
@pytest.mark.usefixtures("no_retry_sleeps")
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_200_rate_limit_envelope_is_retried(transport: Transport) -> None:
    """A 200 carrying RESOURCE_EXHAUSTED is retried like a 429; the next answer succeeds."""
    scripted = _Scripted(
        (200, _json(error_body(429, "RESOURCE_EXHAUSTED", details=[_retry_info("1s")]))),
        (200, _json(ok_body())),
    )
    async with _client_of(scripted, transport) as client:
        with anyio.fail_after(5):
            response = await client.generate_image("a cat")
    assert response.images[0].data == PNG
    assert response.call is not None
    assert (response.call.attempts, response.call.backoff_seconds) == (2, 1.0)


@pytest.mark.integration
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_a_200_invalid_argument_envelope_raises_it(transport: Transport) -> None:
    """A 200 carrying INVALID_ARGUMENT raises InvalidArgumentError at once."""
    scripted = _Scripted((200, _json(error_body(400, "INVALID_ARGUMENT", "bad ratio"))))
    async with _client_of(scripted, transport) as client:
        with anyio.fail_after(5), pytest.raises(InvalidArgumentError) as info:
            await client.generate_image("a cat")
    assert (info.value.code, info.value.message) == (400, "bad ratio")
    assert info.value.call is not None
    assert info.value.call.attempts == 1
    assert scripted.requests == 1


async def test_a_200_wrapped_envelope_is_the_error_too(mock: respx.MockRouter) -> None:
    """A 200 whose body is ``[{"error": ...}]`` (transcoded gRPC) raises the typed error."""
    mock.post(PATH).respond(200, json=[error_body(400, "INVALID_ARGUMENT")])
    async with AsyncImageClient(KEY) as client:
        with pytest.raises(InvalidArgumentError):
            await client.generate_content(MODEL, "a cat")


async def test_a_200_envelope_without_a_code_is_a_server_fault(mock: respx.MockRouter) -> None:
    """An envelope with no HTTP code and no status on a 200 is an InternalServerError (500)."""
    mock.post(PATH).respond(200, json={"error": {"message": "oops"}})
    async with AsyncImageClient(KEY, max_retries=0) as client:
        with pytest.raises(InternalServerError) as info:
            await client.generate_content(MODEL, "a cat")
    assert info.value.code == 500


async def test_a_200_envelope_echoing_the_key_is_redacted(mock: respx.MockRouter) -> None:
    """An error envelope on a 200 keeps the API key out of the exception's message."""
    mock.post(PATH).respond(200, json=error_body(400, "INVALID_ARGUMENT", f"bad key {KEY}"))
    async with AsyncImageClient(KEY) as client:
        with pytest.raises(InvalidArgumentError) as info:
            await client.generate_content(MODEL, "a cat")
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value.args)


# --- 3. null is a field's default, at every depth ----------------------------------------


def _rich_response() -> dict[str, Any]:
    """A response using most fields of the model: text, images, thoughts, ratings, usage."""
    response = load_fixture("response_text_image.json")
    thoughts = load_fixture("response_thoughts.json")
    blocked = load_fixture("response_blocked.json")
    candidate = response["candidates"][0]
    candidate["content"]["parts"] += thoughts["candidates"][0]["content"]["parts"]
    candidate["citationMetadata"] = {
        "citationSources": [
            {"startIndex": 1, "endIndex": 5, "uri": "https://x.test", "license": ""}
        ]
    }
    candidate["finishMessage"] = "done"
    response["promptFeedback"] = blocked["promptFeedback"]
    return response


def _key_paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a key of an object inside ``node``."""
    paths: list[tuple[Any, ...]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            paths += [(*prefix, key), *_key_paths(value, (*prefix, key))]
    elif isinstance(node, list):
        for index, item in enumerate(node):
            paths += _key_paths(item, (*prefix, index))
    return paths


RICH = _rich_response()
PATHS = _key_paths(RICH)


def _edited(paths: list[tuple[Any, ...]], *, delete: bool) -> bytes:
    """RICH with the keys at ``paths`` set to null, or deleted."""
    payload = copy.deepcopy(RICH)
    for path in paths:
        parent: Any = payload
        for step in path[:-1]:  # a parent nulled or deleted before: nothing left to edit
            parent = parent.get(step) if isinstance(parent, dict) else parent and parent[step]
        if isinstance(parent, dict) and path[-1] in parent:
            if delete:
                del parent[path[-1]]
            else:
                parent[path[-1]] = None
    return json.dumps(payload).encode()


def _outcome(body: bytes) -> GenerateContentResponse | type[ResponseError]:
    try:
        return GenerateContentResponse.from_json(body)
    except ResponseError:
        return ResponseError


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(PATHS), min_size=1, max_size=4))
def test_a_null_field_parses_as_its_absence(paths: list[tuple[Any, ...]]) -> None:
    """Any fields of a valid response set to null parse exactly as if they were absent."""
    nulled = _outcome(_edited(paths, delete=False))
    assert nulled == _outcome(_edited(paths, delete=True))
    if not any(path[-1] == "data" for path in paths):  # the one required field
        assert isinstance(nulled, GenerateContentResponse)


@pytest.mark.parametrize("field", ["candidates", "promptFeedback", "usageMetadata"])
def test_a_null_top_level_field_is_its_default(field: str) -> None:
    """``"candidates": null`` and the like read as unset, as Google's SDK reads them."""
    expected = GenerateContentResponse.from_dict({k: v for k, v in RICH.items() if k != field})
    assert GenerateContentResponse.from_json(_json({**RICH, field: None})) == expected


def _large_png() -> bytes:
    png = synthesize_png(b"hostile-answers", 8, 8) + bytes(range(256)) * 64  # trailing bytes
    assert len(base64.b64encode(png)) >= _PREDECODE_MIN_CHARS  # large enough for the fast path
    return png


def _answer_with_nulls(png: bytes) -> dict[str, Any]:
    part = {"inlineData": {"data": base64.b64encode(png).decode(), "mimeType": None}}
    candidate = {
        "content": {"role": "model", "parts": [{"text": None, "thought": None}, part]},
        "safetyRatings": None,
        "citationMetadata": None,
        "finishReason": "STOP",
    }
    return {"candidates": [candidate], "promptFeedback": None, "usageMetadata": None}


def test_nulls_parse_through_the_large_image_fast_path() -> None:
    """Nulls beside a large image parse as unset, the image decoded on the fast path."""
    png = _large_png()
    response = _loads_predecoded(_json(_answer_with_nulls(png)), GenerateContentResponse)
    assert response is not None  # None: it fell back to the ordinary parse
    (image,) = response.images
    assert (image.data, image.mime_type) == (png, "image/png")
    assert response.candidates[0].safety_ratings == ()


def test_a_blob_without_mime_type_sniffs_it() -> None:
    """A Blob built without a MIME type takes it from its bytes, or octet-stream."""
    assert Blob(data=PNG).mime_type == "image/png"
    assert Blob(data=b"not an image").mime_type == "application/octet-stream"


@pytest.mark.integration
@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("png", [PNG, _large_png()], ids=["small", "large"])
async def test_an_answer_with_nulls_and_no_mime_type_parses(
    transport: Transport, png: bytes
) -> None:
    """Over HTTP, nulls read as unset and an inlineData without mimeType is an image/png."""
    answer = _answer_with_nulls(png)
    del answer["candidates"][0]["content"]["parts"][1]["inlineData"]["mimeType"]
    scripted = _Scripted((200, _json(answer)), (200, _json({"candidates": None})))
    async with _client_of(scripted, transport) as client:
        with anyio.fail_after(5):
            response = await client.generate_image("a cat")
            empty = await client.generate_image("a dog")
    (image,) = response.images
    assert (image.data, image.mime_type) == (png, "image/png")
    assert response.parts[0].text is None
    assert empty.candidates == ()
