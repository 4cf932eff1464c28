"""The real client against the emulator on uvicorn, over loopback HTTP."""

from __future__ import annotations

import io

import pytest
from client_helpers import SMALL_IMAGE_MODEL
from PIL import Image

from routerhub_images import (
    AsyncImageClient,
    Content,
    GenerationConfig,
    ImageConfig,
    InsufficientCreditError,
    InternalServerError,
    InvalidArgumentError,
    NotFoundError,
    Part,
    PromptBlockedError,
    ResourceExhaustedError,
    ResponseError,
    RetryPolicy,
    UnauthenticatedError,
    UnavailableError,
    instant_retries,
)
from routerhub_images._errors import APIConnectionError
from routerhub_images.emulator import PER_DAY_QUOTA_ID, EmulatorServer, Fault

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_retry_sleeps")]


def _pixels(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size


async def test_text_to_image_returns_a_decodable_png(emulator_client: AsyncImageClient) -> None:
    """A prompt yields one valid 1024x1024 PNG and usage metadata."""
    response = await emulator_client.generate_image("a cute otter")
    (image,) = response.images
    assert image.mime_type == "image/png"
    assert _pixels(image.data) == (1024, 1024) == (image.width, image.height)
    assert response.usage_metadata is not None
    assert response.usage_metadata.total_token_count
    assert response.call is not None
    assert response.call.attempts == 1
    assert response.call.http_status == 200


async def test_aspect_ratio_and_size_reach_the_server(emulator_client: AsyncImageClient) -> None:
    """imageConfig travels on the wire: 16:9 at 2K is 2688x1536 on Gemini 3 Pro."""
    response = await emulator_client.generate_image(
        "a lighthouse", model="gemini-3-pro-image-preview", aspect_ratio="16:9", image_size="2k"
    )
    assert _pixels(response.images[0].data) == (2688, 1536)


async def test_same_prompt_and_seed_give_the_same_image(emulator_client: AsyncImageClient) -> None:
    """The emulator is deterministic, and different prompts differ."""
    first = await emulator_client.generate_image("a red fox", seed=7)
    again = await emulator_client.generate_image("a red fox", seed=7)
    other = await emulator_client.generate_image("a blue whale", seed=7)
    assert first.images[0].data == again.images[0].data
    assert first.images[0].data != other.images[0].data


async def test_edit_sends_the_image_and_gets_one_back(emulator_client: AsyncImageClient) -> None:
    """An edit uploads inlineData and the answer is derived from it."""
    source = (await emulator_client.generate_image("a cat", aspect_ratio="3:2")).images[0]
    edited = await emulator_client.edit_image(source, "make it blue")
    assert _pixels(edited.images[0].data) == (source.width, source.height)
    assert edited.images[0].data != source.data


async def test_text_only_returns_no_image(emulator_client: AsyncImageClient) -> None:
    """responseModalities TEXT yields text and no image."""
    response = await emulator_client.generate_image("describe an otter", text_only=True)
    assert response.images == []
    assert response.text


async def test_multi_turn_replay_keeps_thought_signatures(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A model turn with drafts and signatures is accepted when sent back."""
    routerhub_emulator.app.config.draft_images = 2
    model = "gemini-3-pro-image-preview"
    first = await emulator_client.generate_image("a castle", model=model)
    assert len(first.thought_images) == 2
    assert len(first.images) == 1
    turn = first.candidates[0].content
    assert turn is not None
    assert any(p.thought_signature for p in turn.parts)
    follow_up = await emulator_client.generate_content(
        model, [Content.user("a castle"), turn, Content.user("now at night")]
    )
    assert len(follow_up.images) == 1


async def test_system_instruction_and_config_are_accepted(
    emulator_client: AsyncImageClient,
) -> None:
    """A full request with system instruction and generation config passes validation."""
    response = await emulator_client.generate_content(
        None,
        [Part.from_text("a tree")],
        generation_config=GenerationConfig(
            temperature=0.5,
            seed=3,
            response_modalities=["TEXT", "IMAGE"],
            image_config=ImageConfig(aspect_ratio="4:5"),
        ),
        system_instruction="You draw trees.",
    )
    assert _pixels(response.images[0].data) == (896, 1152)


async def test_blocked_prompt_is_visible_on_the_response(emulator_client: AsyncImageClient) -> None:
    """A blocked prompt is an HTTP 200 with block_reason; require_images raises."""
    response = await emulator_client.generate_image("something forbidden")
    assert response.blocked
    assert response.block_reason == "SAFETY"
    with pytest.raises(PromptBlockedError):
        response.require_images()


async def test_withheld_image_is_reported(emulator_client: AsyncImageClient) -> None:
    """finishReason IMAGE_SAFETY leaves no image and says why."""
    response = await emulator_client.generate_image("an unsafe-image please")
    assert response.image_withheld
    assert response.finish_reason == "IMAGE_SAFETY"


async def test_wrong_key_is_unauthenticated(routerhub_emulator: EmulatorServer) -> None:
    """A wrong key raises UnauthenticatedError and the key is not in the message."""
    async with AsyncImageClient("rh_wrong_secret", base_url=routerhub_emulator.base_url) as c:
        with pytest.raises(UnauthenticatedError) as info:
            await c.generate_image("a cat")
    assert "rh_wrong_secret" not in str(info.value)
    assert info.value.call is not None
    assert info.value.call.attempts == 1


async def test_x_goog_api_key_auth_works(routerhub_emulator: EmulatorServer) -> None:
    """The x-goog-api-key header style authenticates too."""
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, auth="x-goog-api-key"
    ) as c:
        response = await c.generate_image("a cat")
    assert response.images
    assert routerhub_emulator.app.log.entries[-1].auth == "x-goog-api-key"


async def test_unknown_model_is_not_found(emulator_client: AsyncImageClient) -> None:
    """A model the service does not know answers 404 NOT_FOUND."""
    with pytest.raises(NotFoundError):
        await emulator_client.generate_image("a cat", model="gemini-9-image", max_retries=0)


async def test_retries_recover_from_two_503s(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """503, 503, then success: three requests reach the server, one response comes back."""
    routerhub_emulator.app.script(Fault.status(503), Fault.status(503))
    response = await emulator_client.generate_image("a cat")
    assert response.images
    assert response.call is not None
    assert response.call.attempts == 3
    assert routerhub_emulator.app.log.statuses == [503, 503, 200]


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.status(400), InvalidArgumentError),
        (Fault.status(402), InsufficientCreditError),
        (Fault.status(429, quota_id=PER_DAY_QUOTA_ID), ResourceExhaustedError),
    ],
)
async def test_errors_that_are_not_retried(
    emulator_client: AsyncImageClient,
    routerhub_emulator: EmulatorServer,
    fault: Fault,
    error: type[Exception],
) -> None:
    """Client errors, an empty balance and a daily quota make exactly one request."""
    routerhub_emulator.app.script(fault)
    with pytest.raises(error):
        await emulator_client.generate_image("a cat")
    assert routerhub_emulator.app.log.count == 1


@pytest.mark.parametrize(
    "fault",
    [
        Fault.status(429, retry_delay=0.01),
        Fault.status(500),
        Fault.status(504),
        Fault.html(502),
        Fault.wrapped(503),
    ],
)
async def test_transient_errors_are_retried(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer, fault: Fault
) -> None:
    """Rate limits, server faults, proxy pages and wrapped errors are retried to success."""
    routerhub_emulator.app.script(fault)
    response = await emulator_client.generate_image("a cat")
    assert response.images
    assert routerhub_emulator.app.log.count == 2


async def test_retries_give_up_with_the_typed_error(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """When every attempt fails the last error is raised with the attempt count."""
    routerhub_emulator.app.script(*[Fault.status(500)] * 3)
    with pytest.raises(InternalServerError) as info:
        await emulator_client.generate_image("a cat", max_retries=2)
    assert info.value.call is not None
    assert info.value.call.attempts == 3


async def test_html_502_maps_to_unavailable_when_retries_are_off(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A proxy's HTML page becomes UnavailableError with an excerpt of the body."""
    routerhub_emulator.app.script(Fault.html(502))
    with pytest.raises(UnavailableError) as info:
        await emulator_client.generate_image("a cat", max_retries=0)
    assert info.value.code == 502
    assert "502" in info.value.message or "Bad Gateway" in info.value.message


async def test_dropped_connection_is_a_connection_error(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A connection dropped mid-answer is APIConnectionError and is not retried by default."""
    routerhub_emulator.app.script(Fault.disconnect())
    with pytest.raises(APIConnectionError) as info:
        await emulator_client.generate_image("a cat")
    assert info.value.request_sent
    assert routerhub_emulator.app.log.count == 1


async def test_dropped_connection_is_retried_when_the_policy_allows(
    routerhub_emulator: EmulatorServer,
) -> None:
    """retry_sent_requests=True retries a dropped connection to success."""
    routerhub_emulator.app.script(Fault.disconnect())
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        retry=RetryPolicy(retry_sent_requests=True),
    ) as c:
        with instant_retries():
            response = await c.generate_image("a cat")
    assert response.images


@pytest.mark.parametrize("fault", [Fault.truncated_json(), Fault.bad_base64()])
async def test_malformed_success_body_is_a_response_error(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer, fault: Fault
) -> None:
    """A 200 with a truncated body or bad base64 raises ResponseError, not a bare error."""
    routerhub_emulator.app.script(fault)
    with pytest.raises(ResponseError) as info:
        await emulator_client.generate_image("a cat")
    assert info.value.http_status == 200
    assert info.value.path is not None


async def test_many_concurrent_calls_share_one_client(emulator_client: AsyncImageClient) -> None:
    """A hundred concurrent generations on one client all succeed."""
    import anyio

    results: list[int] = []

    async def one(i: int) -> None:
        response = await emulator_client.generate_image(
            f"otter {i}", model=SMALL_IMAGE_MODEL, aspect_ratio="1:1", image_size="512"
        )
        results.append(len(response.images))

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(one, i)
    assert results == [1] * 100
