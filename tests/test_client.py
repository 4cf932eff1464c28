"""Tests of AsyncImageClient: requests it builds, input checks, retries, logging, redaction."""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import inspect
import json
import logging
import pathlib
import re
import time
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest
import respx
from client_helpers import (
    BASE_URL,
    KEY,
    MODEL,
    PATH,
    PNG,
    error,
    examples,
    ok,
    ok_body,
    quota_failure,
    retry_info,
    sent_json,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from routerhub_images import (
    APIStatusError,
    APITimeoutError,
    AsyncImageClient,
    Blob,
    Content,
    GenerationConfig,
    ImageConfig,
    ImageOptionsIgnoredWarning,
    InsufficientCreditError,
    InvalidInputError,
    InvalidModelError,
    Limits,
    Part,
    ResourceExhaustedError,
    RetryPolicy,
    RouterHubError,
    SafetySetting,
    UnauthenticatedError,
    UnavailableError,
)
from routerhub_images._client import _checked_safety
from routerhub_images._constants import LOG_ENV, LOGGER_NAME, MAX_RETRIES
from routerhub_images._logging import setup_from_env
from routerhub_images._retry import RetryEvent, instant_retries, observe_retries
from routerhub_images.emulator import EmulatorServer, Fault

pytestmark = pytest.mark.usefixtures("no_retry_sleeps")

OTHER_MODEL = "google/gemini-3-pro-image-preview"


def unavailable(**kwargs: Any) -> httpx.Response:
    return error(503, "UNAVAILABLE", **kwargs)


@contextlib.contextmanager
def retry_events() -> Iterator[list[RetryEvent]]:
    """Retry without sleeping and collect each retry's `RetryEvent`."""
    events: list[RetryEvent] = []
    with instant_retries(), observe_retries(events.append):
        yield events


# --- requests ----------------------------------------------------------------------


async def test_success_carries_images_and_call_metadata(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A 200 gives decoded images and a CallInfo with attempts, status and request id."""
    mock.post(PATH).mock(return_value=ok(headers={"x-request-id": "req-1"}))
    response = await mocked_client.generate_content(MODEL, "a red fox")
    assert response.images[0].data == PNG
    assert response.call is not None
    assert (response.call.attempts, response.call.http_status) == (1, 200)
    assert response.call.request_id == "req-1"
    assert response.call.backoff_seconds == 0.0


@pytest.mark.parametrize(
    "contents",
    [
        "a red fox",
        Part.from_text("a red fox"),
        Content(role="user", parts=[Part.from_text("a red fox")]),
        ["a red fox"],
        [Content(role="user", parts=[Part.from_text("a red fox")])],
    ],
)
async def test_contents_accept_str_part_content_and_lists(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, contents: Any
) -> None:
    """Every accepted contents shape becomes one user turn on the wire."""
    route = mock.post(PATH).mock(return_value=ok())
    await mocked_client.generate_content(MODEL, contents)
    assert sent_json(route.calls.last.request) == {
        "contents": [{"role": "user", "parts": [{"text": "a red fox"}]}]
    }


async def test_generate_image_sends_image_options(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """generate_image puts aspect ratio, size and seed in generationConfig."""
    route = mock.post(f"/v1beta/models/{OTHER_MODEL}:generateContent").mock(return_value=ok())
    # The canned answer is a 4x4 PNG: not the 16:9 2K image asked for.
    with pytest.warns(ImageOptionsIgnoredWarning):
        response = await mocked_client.generate_image(
            "a red fox", model=OTHER_MODEL, aspect_ratio="16:9", image_size="2k", seed=7
        )
    assert len(response.images) == 1
    body = sent_json(route.calls.last.request)
    assert body["generationConfig"] == {
        "seed": 7,
        "imageConfig": {"aspectRatio": "16:9", "imageSize": "2K"},
    }


async def test_edit_image_sends_the_prompt_and_the_image(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """edit_image sends the prompt then each image (bytes or path) inline."""
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    route = mock.post(PATH).mock(return_value=ok())
    await mocked_client.edit_image([PNG, path], "make it blue")
    (turn,) = sent_json(route.calls.last.request)["contents"]
    assert turn["parts"][0] == {"text": "make it blue"}
    assert [p["inlineData"]["mimeType"] for p in turn["parts"][1:]] == ["image/png"] * 2


# --- model names -------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    [
        "google/gemini-2.5-flash-image",
        "gemini-2.5-flash-image",
        "models/gemini-2.5-flash-image",
        "models/google/gemini-2.5-flash-image",
        None,
    ],
)
async def test_model_name_forms_hit_the_same_url(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, model: str | None
) -> None:
    """With or without google/ or models/ (or None for the default), the path is the same."""
    route = mock.post(PATH).mock(return_value=ok())
    await mocked_client.generate_content(model, "a red fox")
    assert route.call_count == 1
    assert route.calls.last.request.url.raw_path.decode() == PATH


@pytest.mark.parametrize(
    "model",
    [
        "google/../admin",
        "gemini/..",
        "gemini?key=x",
        "gemini#frag",
        "gemini 2",
        "gemini:streamGenerateContent",
        "google//gemini",
        "/gemini",
        "",
        "   ",
    ],
)
async def test_bad_model_names_are_rejected_before_sending(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, model: str
) -> None:
    """A name that could change the URL, or an empty one, is refused with no request made."""
    route = mock.post().mock(return_value=ok())
    with pytest.raises(InvalidModelError):
        await mocked_client.generate_content(model, "a red fox")
    assert route.call_count == 0


# --- input checked before the network -------------------------------------------------


def config(aspect_ratio: str) -> GenerationConfig:
    return GenerationConfig(image_config=ImageConfig(aspect_ratio=aspect_ratio))


@pytest.mark.parametrize(
    ("call", "exc_type"),
    [
        pytest.param(lambda c, _: c.generate_image(""), ValueError, id="empty-prompt"),
        pytest.param(lambda c, _: c.generate_image("   "), ValueError, id="blank-prompt"),
        pytest.param(lambda c, _: c.generate_image(42), ValueError, id="prompt-not-str"),
        pytest.param(lambda c, _: c.generate_content(MODEL, []), ValueError, id="no-contents"),
        pytest.param(lambda c, _: c.generate_content(MODEL, ""), ValueError, id="empty-contents"),
        pytest.param(lambda c, _: c.edit_image(b"", "blue"), ValueError, id="empty-image"),
        pytest.param(lambda c, _: c.edit_image(b"text", "blue"), ValueError, id="not-an-image"),
        pytest.param(lambda c, _: c.edit_image([], "blue"), ValueError, id="no-images"),
        pytest.param(
            lambda c, p: c.edit_image(p / "missing.png", "blue"), ValueError, id="missing-file"
        ),
        pytest.param(lambda c, _: c.edit_image(PNG, ""), ValueError, id="edit-empty-prompt"),
        pytest.param(
            lambda c, _: c.edit_image(3.5, "blue"), (ValueError, TypeError), id="image-not-bytes"
        ),
        pytest.param(
            lambda c, _: c.generate_image("fox", aspect_ratio="8:1"), ValueError, id="bad-ratio"
        ),
        pytest.param(
            lambda c, _: c.generate_image("fox", aspect_ratio="wide"), ValueError, id="ratio-shape"
        ),
        pytest.param(
            lambda c, _: c.generate_image("fox", image_size="4K"), ValueError, id="bad-size"
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", generation_config={"seed": 1}),
            ValueError,
            id="config-not-generationconfig",
        ),
        pytest.param(
            lambda c, _: c.generate_content(
                MODEL, "fox", generation_config=config(aspect_ratio="3:7")
            ),
            ValueError,
            id="config-bad-ratio",
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", safety_settings=[{"x": 1}]),
            ValueError,
            id="safety-not-safetysetting",
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", system_instruction=1),
            ValueError,
            id="system-instruction-not-str",
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", timeout="5"), ValueError, id="timeout-str"
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", timeout=-1), ValueError, id="timeout-neg"
        ),
        pytest.param(
            lambda c, _: c.generate_content(MODEL, "fox", max_retries=-1),
            ValueError,
            id="max-retries-negative",
        ),
    ],
)
async def test_bad_input_is_a_typed_error_before_any_request(
    mock: respx.MockRouter,
    mocked_client: AsyncImageClient,
    tmp_path: pathlib.Path,
    call: Any,
    exc_type: type[Exception] | tuple[type[Exception], ...],
) -> None:
    """Bad prompts, images and options raise a library error and send nothing."""
    route = mock.post().mock(return_value=ok())
    with pytest.raises(RouterHubError) as info:
        await call(mocked_client, tmp_path)
    assert isinstance(info.value, exc_type)
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"temperature": "hot"}, "generationConfig.temperature: expected float, got str"),
        ({"temperature": float("nan")}, "generationConfig.temperature: expected a finite number"),
        ({"top_p": float("inf")}, "generationConfig.topP: expected a finite number"),
        ({"top_k": 1.5}, "generationConfig.topK: expected int, got float"),
        ({"candidate_count": True}, "generationConfig.candidateCount: expected int, got bool"),
        ({"seed": 2**31}, "generationConfig.seed: expected a 32-bit integer"),
        ({"seed": "7"}, "generationConfig.seed: expected int, got str"),
        ({"response_logprobs": "yes"}, "generationConfig.responseLogprobs: expected bool"),
        ({"response_modalities": ["IMAGE", 3]}, "generationConfig.responseModalities[1]"),
    ],
)
async def test_a_value_the_server_cannot_read_is_rejected_by_name(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, config: dict[str, Any], message: str
) -> None:
    """Wrong types, NaN and out-of-range integers fail here, naming the field, not as a 400."""
    route = mock.post().mock(return_value=ok())
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        await mocked_client.generate_content(
            MODEL, "a fox", generation_config=GenerationConfig(**config)
        )
    assert route.call_count == 0


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        (lambda: [Content(role="user", parts=[Part(text=5)])], "part.text: expected str"),  # type: ignore[arg-type]
        (lambda: [Content(role="user", parts=["hi"])], "parts must be Part objects, not str"),  # type: ignore[list-item]
        (
            lambda: [Content(role="robot", parts=[Part.from_text("hi")])],
            "'user' or 'model', not 'robot'",
        ),
        (
            lambda: [
                Content(
                    role="user",
                    parts=[Part(inline_data=Blob(mime_type="image/png", data="x"))],  # type: ignore[arg-type]
                )
            ],
            "inlineData.data: expected bytes",
        ),
    ],
)
async def test_malformed_contents_are_rejected_before_sending(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, contents: Any, message: str
) -> None:
    route = mock.post().mock(return_value=ok())
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        await mocked_client.generate_content(MODEL, contents())
    assert route.call_count == 0


def test_a_bare_string_for_a_list_field_is_refused() -> None:
    """response_modalities="IMAGE" is not read as the five modalities I, M, A, G, E."""
    with pytest.raises(InvalidInputError, match="expected a list, not the str 'IMAGE'"):
        GenerationConfig(response_modalities="IMAGE")  # type: ignore[arg-type]
    assert GenerationConfig(response_modalities=["IMAGE"]).response_modalities == ("IMAGE",)


async def test_every_valid_number_still_goes_out(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """Ints for floats, negative seeds and the int32 bounds are sent as given."""
    route = mock.post().mock(return_value=ok())
    config = GenerationConfig(temperature=1, top_p=0.5, seed=-(2**31), max_output_tokens=2**31 - 1)
    await mocked_client.generate_content(MODEL, "a fox", generation_config=config)
    sent = json.loads(route.calls.last.request.content)["generationConfig"]
    assert sent == {"temperature": 1, "topP": 0.5, "seed": -(2**31), "maxOutputTokens": 2**31 - 1}


@pytest.mark.parametrize(
    "kwargs", [{"timeout": "5"}, {"timeout": -1.0}, {"max_retries": -1}, {"max_retries": 1.5}]
)
def test_bad_client_settings_are_typed_errors(kwargs: dict[str, Any]) -> None:
    """A bad timeout or max_retries fails at construction with InvalidInputError."""
    with pytest.raises(InvalidInputError):
        AsyncImageClient(KEY, **kwargs)


def test_unknown_options_pass_with_strict_options_off() -> None:
    """strict_options=False lets aspect ratios newer than the table through."""
    client = AsyncImageClient(KEY, strict_options=False)
    config = GenerationConfig(image_config=ImageConfig(aspect_ratio="8:1"))
    assert client._checked_config(MODEL, config) == config


def test_safety_settings_are_accepted() -> None:
    """SafetySetting objects pass the check unchanged."""
    setting = SafetySetting(category="HARM_CATEGORY_HATE_SPEECH", threshold="BLOCK_NONE")
    assert _checked_safety([setting]) == (setting,)


# --- retries -----------------------------------------------------------------------


async def test_transient_errors_are_retried_until_success(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """503, 503, 200 succeeds on the third attempt, with jittered exponential backoff."""
    route = mock.post(PATH).mock(side_effect=[unavailable(), unavailable(), ok()])
    with retry_events() as events:
        response = await mocked_client.generate_content(MODEL, "a red fox")
    assert route.call_count == 3
    assert response.call is not None
    assert response.call.attempts == 3
    # exact jitter values are pinned on retry_delay (test_retry.py); here, the caps
    assert [e.source for e in events] == ["backoff", "backoff"]
    assert 0 <= events[0].delay < 1.0
    assert 0 <= events[1].delay < 2.0  # random() * initial * 2 ** (attempt - 1)
    assert response.call.backoff_seconds == pytest.approx(sum(e.delay for e in events))


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (400, "INVALID_ARGUMENT"),
        (400, "FAILED_PRECONDITION"),
        (401, "UNAUTHENTICATED"),
        (403, "PERMISSION_DENIED"),
        (404, "NOT_FOUND"),
        (402, "RESOURCE_EXHAUSTED"),
        (400, None),
        (404, None),
    ],
)
async def test_permanent_errors_make_exactly_one_request(
    mock: respx.MockRouter,
    mocked_client: AsyncImageClient,
    code: int,
    status: str | None,
) -> None:
    """Errors retrying cannot fix are raised after one request, without waiting."""
    route = mock.post(PATH).mock(return_value=error(code, status))
    with retry_events() as events, pytest.raises(APIStatusError) as info:
        await mocked_client.generate_content(MODEL, "a red fox")
    assert route.call_count == 1
    assert events == []
    assert info.value.call is not None
    assert info.value.call.backoff_seconds == 0.0
    assert info.value.call is not None
    assert info.value.call.attempts == 1
    assert info.value.call.http_status == code


async def test_retries_give_up_after_max_retries(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A server that stays down gets 1 + MAX_RETRIES attempts, then the error is raised."""
    route = mock.post(PATH).mock(return_value=unavailable())
    with pytest.raises(UnavailableError) as info:
        await mocked_client.generate_content(MODEL, "a red fox")
    assert route.call_count == MAX_RETRIES + 1
    assert info.value.call is not None
    assert info.value.call.attempts == MAX_RETRIES + 1


async def test_retry_info_delay_is_waited(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A 429 with RetryInfo "48.8s" waits exactly 48.8 s before retrying."""
    limited = error(429, "RESOURCE_EXHAUSTED", details=[retry_info("48.8s")])
    mock.post(PATH).mock(side_effect=[limited, ok()])
    with retry_events() as events:
        response = await mocked_client.generate_content(MODEL, "a red fox")
    assert [(e.delay, e.source) for e in events] == [(pytest.approx(48.8), "retry-info")]
    assert response.call is not None
    assert response.call.backoff_seconds == pytest.approx(48.8)


@pytest.mark.parametrize(
    ("header", "wait"),
    [("7", 7.0), ("0.25", 0.25), ("a date 12 s ahead", 12.0)],
)
async def test_retry_after_header_is_waited(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, header: str, wait: float
) -> None:
    """Retry-After in seconds or as an HTTP date sets the wait."""
    if header.startswith("a date"):
        header = email.utils.formatdate(time.time() + 12, usegmt=True)
    mock.post(PATH).mock(side_effect=[unavailable(headers={"Retry-After": header}), ok()])
    with retry_events() as events:
        await mocked_client.generate_content(MODEL, "a red fox")
    # a date has whole seconds and real time passes; exact dates: test_retry.py
    assert [(e.delay, e.source) for e in events] == [(pytest.approx(wait, abs=1), "retry-after")]


async def test_retry_info_beats_retry_after(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """When both are sent, RetryInfo decides the wait."""
    both = unavailable(details=[retry_info("3s")], headers={"retry-after": "30"})
    mock.post(PATH).mock(side_effect=[both, ok()])
    with retry_events() as events:
        await mocked_client.generate_content(MODEL, "a red fox")
    assert [(e.delay, e.source) for e in events] == [(3.0, "retry-info")]


async def test_daily_quota_429_is_not_retried(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A 429 whose QuotaFailure names a per-day quota is raised at once."""
    details = [quota_failure("GenerateRequestsPerDayPerProjectPerModel"), retry_info("20s")]
    route = mock.post(PATH).mock(return_value=error(429, "RESOURCE_EXHAUSTED", details=details))
    with retry_events() as events, pytest.raises(ResourceExhaustedError) as info:
        await mocked_client.generate_content(MODEL, "a red fox")
    assert info.value.is_daily_quota
    assert route.call_count == 1
    assert events == []


async def test_per_call_max_retries_zero_disables_retrying(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """max_retries=0 on a call makes one request only."""
    route = mock.post(PATH).mock(return_value=unavailable())
    with pytest.raises(UnavailableError):
        await mocked_client.generate_content(MODEL, "a red fox", max_retries=0)
    assert route.call_count == 1


@pytest.mark.usefixtures("no_retry_sleeps")
async def test_per_call_max_retries_overrides_the_client(mock: respx.MockRouter) -> None:
    """A client built with max_retries=0 retries when a call asks for it."""
    route = mock.post(PATH).mock(side_effect=[unavailable(), unavailable(), ok()])
    async with AsyncImageClient(KEY, base_url=BASE_URL, max_retries=0) as client:
        with pytest.raises(UnavailableError):
            await client.generate_content(MODEL, "a red fox")
        response = await client.generate_content(MODEL, "a red fox", max_retries=1)
    assert route.call_count == 3
    assert response.call is not None
    assert response.call.attempts == 2


async def test_server_delay_beyond_the_deadline_fails_at_once(mock: respx.MockRouter) -> None:
    """If the server asks for a longer wait than the budget left, the error is raised now."""
    limited = error(429, "RESOURCE_EXHAUSTED", details=[retry_info("48.8s")])
    route = mock.post(PATH).mock(return_value=limited)
    async with AsyncImageClient(KEY, base_url=BASE_URL, retry=RetryPolicy(deadline=10)) as client:
        with retry_events() as events, pytest.raises(ResourceExhaustedError):
            await client.generate_content(MODEL, "a red fox")
    assert route.call_count == 1
    assert events == []


async def test_rate_limit_cooldown_makes_other_calls_wait(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A 429 with a delay holds back a second concurrent call until the pause is over."""
    limited = error(429, "RESOURCE_EXHAUSTED", details=[retry_info("0.2s")])
    route = mock.post(PATH).mock(side_effect=[limited, ok(), ok()])
    retrying = anyio.Event()
    with instant_retries(False), observe_retries(lambda _event: retrying.set()):
        first = asyncio.create_task(mocked_client.generate_content(MODEL, "first"))
        await retrying.wait()  # the first call got its 429 and waits the 0.2 s
        second = asyncio.create_task(mocked_client.generate_content(MODEL, "second"))
        await asyncio.sleep(0.05)
        assert route.call_count == 1  # the second call is held by the cooldown
        responses = await asyncio.gather(first, second)
    assert route.call_count == 3
    waits = [r.call.backoff_seconds for r in responses if r.call]
    assert waits[0] == pytest.approx(0.2)
    assert 0.1 < waits[1] <= 0.2  # the rest of the same pause


async def test_cancelling_during_backoff_leaves_the_client_usable(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A call cancelled while it waits to retry propagates; the next call works."""
    route = mock.post(PATH).mock(side_effect=[unavailable(details=[retry_info("30s")]), ok()])
    retrying = anyio.Event()
    with instant_retries(False), observe_retries(lambda _event: retrying.set()):
        task = asyncio.create_task(mocked_client.generate_content(MODEL, "a red fox"))
        await retrying.wait()
        await asyncio.sleep(0)  # the call is now sleeping its 30 s
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    response = await mocked_client.generate_content(MODEL, "a red fox")
    assert response.call is not None
    assert response.call.attempts == 1
    assert route.call_count == 2


async def test_instant_retries_skip_the_waits(mock: respx.MockRouter) -> None:
    """Under instant_retries() a long server delay is counted but not slept."""
    limited = error(429, "RESOURCE_EXHAUSTED", details=[retry_info("40s")])
    mock.post(PATH).mock(side_effect=[limited, ok()])
    with instant_retries():
        async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
            with anyio.fail_after(5):
                response = await client.generate_content(MODEL, "a red fox")
    assert response.call is not None
    assert response.call.backoff_seconds == 40.0


# --- logging -----------------------------------------------------------------------


async def test_each_retry_is_logged_at_info(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Every retry logs attempt/max, the status and the wait on routerhub_images."""
    caplog.set_level(logging.INFO, logger=LOGGER_NAME)
    mock.post(PATH).mock(side_effect=[unavailable(), unavailable(), ok()])
    await mocked_client.generate_content(MODEL, "a red fox")
    retries = [r for r in caplog.records if r.name == LOGGER_NAME and r.levelno == logging.INFO]
    assert len(retries) == 2
    assert "attempt 2/5" in retries[0].getMessage()
    assert "attempt 3/5" in retries[1].getMessage()
    assert all("503 UNAVAILABLE" in r.getMessage() for r in retries)


def test_env_var_turns_on_debug_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """ROUTERHUB_IMAGES_LOG=debug attaches one handler and sets DEBUG."""
    logger = logging.getLogger(LOGGER_NAME)
    level, handlers = logger.level, list(logger.handlers)
    monkeypatch.setenv(LOG_ENV, "debug")
    try:
        setup_from_env()
        setup_from_env()  # idempotent
        added = [h for h in logger.handlers if h not in handlers]
        assert len(added) == 1
        assert logger.level == logging.DEBUG
    finally:
        for handler in logger.handlers[:]:
            if handler not in handlers:
                logger.removeHandler(handler)
        logger.setLevel(level)


# --- redaction ---------------------------------------------------------------------


def test_key_is_not_in_the_client_repr() -> None:
    """repr(client) hides the key."""
    client = AsyncImageClient(KEY)
    assert KEY not in repr(client)
    assert "redacted" in repr(client)
    assert KEY not in repr(vars(client))


@pytest.mark.parametrize(
    "answer",
    [
        error(401, "UNAUTHENTICATED", message="API key not valid. Please pass a valid API key."),
        error(401, "UNAUTHENTICATED", message=f"Incorrect API key provided: {KEY}"),
        httpx.Response(401, text=f"<html>bad key {KEY}</html>"),
        httpx.Response(403, text=f"Bearer {KEY} is forbidden"),
    ],
)
async def test_key_is_not_in_errors(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, answer: httpx.Response
) -> None:
    """str and repr of an auth error never show the key, even when the server echoes it."""
    mock.post(PATH).mock(return_value=answer)
    with pytest.raises(APIStatusError) as info:
        await mocked_client.generate_content(MODEL, "a red fox")
    exc = info.value
    for text in (str(exc), repr(exc), exc.message, repr(exc.args), repr(exc.details)):
        assert KEY not in text


async def test_key_is_not_in_debug_logs_of_a_retried_call(
    mock: respx.MockRouter, mocked_client: AsyncImageClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Nothing logged at DEBUG by us, httpx or httpcore during retries contains the key."""
    for name in (LOGGER_NAME, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    mock.post(PATH).mock(side_effect=[unavailable(), error(429, "RESOURCE_EXHAUSTED"), ok()])
    await mocked_client.generate_content(MODEL, "a red fox")
    assert caplog.records
    assert all(KEY not in record.getMessage() for record in caplog.records)
    assert KEY not in caplog.text


async def test_key_is_not_in_debug_logs_over_a_real_connection(
    caplog: pytest.LogCaptureFixture, routerhub_emulator: EmulatorServer
) -> None:
    """Over loopback, httpcore's DEBUG trace of a retried call does not contain the key."""
    for name in (LOGGER_NAME, "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    server = routerhub_emulator
    with instant_retries():
        server.app.script(Fault.status(503), Fault.status(401))
        async with AsyncImageClient(server.api_key, base_url=server.base_url) as client:
            with pytest.raises(UnauthenticatedError) as info:
                await client.generate_content(MODEL, "a red fox")
            await client.generate_content(MODEL, "a red fox")
    assert any(r.name.startswith("httpcore") for r in caplog.records)
    assert server.api_key not in caplog.text
    assert server.api_key not in str(info.value)
    assert server.api_key not in repr(info.value)


async def test_insufficient_credit_is_raised_without_retrying(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """A 402 with a retry delay is still raised at once: credit does not come back by waiting."""
    route = mock.post(PATH).mock(
        return_value=error(402, "RESOURCE_EXHAUSTED", details=[retry_info("1s")])
    )
    with retry_events() as events, pytest.raises(InsufficientCreditError):
        await mocked_client.generate_content(MODEL, "a red fox")
    assert route.call_count == 1
    assert events == []


async def test_deadline_bounds_an_attempt_still_running(mock: respx.MockRouter) -> None:
    """An attempt still running when RetryPolicy.deadline ends is cancelled: APITimeoutError."""

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(5)
        return httpx.Response(200, json={})

    mock.post(PATH).mock(side_effect=slow)
    async with AsyncImageClient(KEY, base_url=BASE_URL, retry=RetryPolicy(deadline=0.05)) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.generate_image("a cat")
    assert info.value.phase == "deadline"
    assert "0.05 s budget" in str(info.value)


# --- any argument: refused before sending, or sent ---------------------------------

ANY_ARGUMENT = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=6),
    st.binary(max_size=4),
    st.lists(st.one_of(st.text(max_size=3), st.integers()), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["16:9", "1K", "2K", "user", "model"]),
)
CALLS: list[tuple[str, str]] = [
    *(
        ("generate_image", keyword)
        for keyword in (
            "prompt",
            "model",
            "aspect_ratio",
            "image_size",
            "seed",
            "temperature",
            "text_only",
            "system_instruction",
            "safety_settings",
            "extra_body",
            "timeout",
            "max_retries",
        )
    ),
    *(
        ("generate_content", keyword)
        for keyword in (
            "model",
            "contents",
            "generation_config",
            "safety_settings",
            "system_instruction",
            "cached_content",
            "extra_body",
        )
    ),
    *(("edit_image", keyword) for keyword in ("image", "prompt", "seed", "aspect_ratio")),
]
BASE_ARGUMENTS: dict[str, dict[str, Any]] = {
    "generate_image": {"prompt": "a fox"},
    "generate_content": {"model": MODEL, "contents": "a fox"},
    "edit_image": {"image": PNG, "prompt": "make it blue"},
}


# The canned answer's 4x4 image matches no aspect ratio a valid argument may ask for.
@pytest.mark.filterwarnings("ignore::routerhub_images.ImageOptionsIgnoredWarning")
@settings(max_examples=examples(400), deadline=None)
@given(where=st.sampled_from(CALLS), value=ANY_ARGUMENT)
@example(where=("generate_image", "aspect_ratio"), value="16:9")  # found: the size warning
@example(where=("edit_image", "image"), value="\x00")  # found: a bare ValueError from pathlib
@example(where=("generate_image", "safety_settings"), value=False)  # found: a bare TypeError
def test_any_argument_is_refused_before_sending_or_sent(where: tuple[str, str], value: Any) -> None:
    """Any value for any argument of the three calls: InvalidInputError and no request, or
    an answer; never another exception."""
    method, keyword = where
    arguments = {**BASE_ARGUMENTS[method], keyword: value}

    async def call() -> int:
        with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
            route = router.post().mock(return_value=ok())
            async with AsyncImageClient(KEY, base_url=BASE_URL, max_retries=0) as client:
                try:
                    await getattr(client, method)(**arguments)
                except InvalidInputError:
                    assert route.call_count == 0
            return route.call_count

    assert asyncio.run(call()) in (0, 1)


CONSTRUCTOR_KEYWORDS = list(inspect.signature(AsyncImageClient).parameters)
ANY_LIMITS = st.builds(
    Limits,
    max_connections=ANY_ARGUMENT,
    max_keepalive_connections=ANY_ARGUMENT,
    keepalive_expiry=ANY_ARGUMENT,
)


@settings(max_examples=examples(400), deadline=None)
@given(keyword=st.sampled_from(CONSTRUCTOR_KEYWORDS), value=ANY_ARGUMENT | ANY_LIMITS)
@example(keyword="base_url", value=True)  # found: httpx's TypeError
@example(keyword="api_key", value=True)  # found: AttributeError ('bool' has no 'strip')
def test_any_constructor_argument_is_a_library_error_or_a_client(keyword: str, value: Any) -> None:
    """A bad setting is a RouterHubError at construction, never another exception."""
    arguments: dict[str, Any] = {"api_key": KEY, keyword: value}
    try:
        client = AsyncImageClient(**arguments)
    except RouterHubError:
        return
    if keyword != "api_key":
        assert KEY not in repr(client)


JSON_ANY = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=8)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
ERROR_BODY = st.fixed_dictionaries(
    {"error": st.dictionaries(st.sampled_from(["code", "message", "status", "details"]), JSON_ANY)}
)
ANSWER_BODY = st.one_of(
    st.binary(max_size=64),
    JSON_ANY.map(lambda value: json.dumps(value).encode()),
    ERROR_BODY.map(lambda value: json.dumps(value).encode()),
    st.just(json.dumps(ok_body()).encode()),
)
ANSWER_HEADERS = st.dictionaries(
    st.sampled_from(["retry-after", "content-encoding", "content-type", "x-request-id"]),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=12),
    max_size=3,
)


@settings(max_examples=examples(150), deadline=None)
@given(status=st.integers(200, 599), body=ANSWER_BODY, headers=ANSWER_HEADERS)
def test_any_answer_is_a_response_or_a_library_error(
    status: int, body: bytes, headers: dict[str, str]
) -> None:
    """Whatever status, headers and body come back: a response or a RouterHubError."""

    async def call() -> None:
        with respx.mock(base_url=BASE_URL) as router:
            router.post().mock(return_value=httpx.Response(status, content=body, headers=headers))
            async with AsyncImageClient(KEY, base_url=BASE_URL, max_retries=1) as client:
                with instant_retries(), contextlib.suppress(RouterHubError):
                    await client.generate_content(MODEL, "a fox")

    asyncio.run(call())
