"""Variations (n images per prompt), option checks and opt-in policies, over real HTTP."""

from __future__ import annotations

import pathlib
import struct
import time
import zlib
from collections.abc import AsyncIterator

import anyio
import pytest
from click.testing import CliRunner

from routerhub_images import (
    AsyncImageClient,
    CallPolicies,
    GeneratedImage,
    ImageClient,
    ImageOptionsIgnoredWarning,
    InvalidArgumentError,
    InvalidInputError,
    NoImageError,
    UnavailableError,
    Variations,
    VariationsFailedError,
    instant_retries,
)
from routerhub_images._models import PIXELS_1K, image_pixels
from routerhub_images._sizes import option_mismatches
from routerhub_images.cli import main
from routerhub_images.emulator import EmulatorServer, Fault
from routerhub_images.emulator._config import IMAGE_TOKENS

pytestmark = pytest.mark.integration

FLASH_31 = "google/gemini-3.1-flash-image-preview"


def _client(server: EmulatorServer, **settings: object) -> AsyncImageClient:
    return AsyncImageClient(server.api_key, base_url=server.base_url, **settings)  # type: ignore[arg-type]


@pytest.fixture(params=["httpx", "aiohttp"])
async def client(
    routerhub_emulator: EmulatorServer, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncImageClient]:
    if request.param == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    async with _client(routerhub_emulator, transport=request.param) as client:
        with instant_retries():
            yield client


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR chunk: enough for the header-read width and height."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc


async def test_n_returns_every_image_in_request_order(client: AsyncImageClient) -> None:
    """n=4 with seed 10 gives four images, each the one seed 10+i gives alone."""
    result = await client.generate_image("a red fox", seed=10, n=4)
    assert isinstance(result, Variations)
    assert result.ok
    assert result.seeds == (10, 11, 12, 13)
    singles = [(await client.generate_image("a red fox", seed=10 + i)).images[0] for i in range(4)]
    assert [image.data for image in result.images] == [image.data for image in singles]
    assert len({image.data for image in result.images}) == 4


async def test_n_calls_run_concurrently(routerhub_emulator: EmulatorServer) -> None:
    """Four variations of a 0.2 s answer take about one answer's time, not four."""
    routerhub_emulator.app.config.latency = 0.2
    async with _client(routerhub_emulator) as client:
        started = time.monotonic()
        result = await client.generate_image("a lighthouse", n=4)
    assert len(result.images) == 4
    assert time.monotonic() - started < 0.6


async def test_one_failed_variation_is_reported_not_raised(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """One 400 among four variations: three images, one failure naming the error."""
    routerhub_emulator.app.script(Fault.status(400))
    result = await client.generate_image("a red fox", seed=1, n=4)
    assert len(result.images) == 3
    (failure,) = result.failures
    assert isinstance(failure.error, InvalidArgumentError)
    assert failure.seed == 1 + failure.index
    assert result.responses[failure.index] is None
    assert not result.ok


async def test_text_only_answer_is_a_failed_variation(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A NO_IMAGE answer is a failure that keeps its response (and its usage)."""
    routerhub_emulator.app.script(Fault.text_only())
    result = await client.generate_image("a red fox", n=2)
    (failure,) = result.failures
    assert isinstance(failure.error, NoImageError)
    assert failure.response is not None
    assert failure.response.finish_reason == "NO_IMAGE"
    assert len(result.images) == 1


async def test_all_variations_failing_raises(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """When no variation succeeds the call raises, with every failure attached."""
    routerhub_emulator.app.script(*[Fault.status(400)] * 3)
    with pytest.raises(VariationsFailedError) as caught:
        await client.generate_image("a red fox", n=3)
    assert len(caught.value.variations.failures) == 3
    assert isinstance(caught.value.__cause__, InvalidArgumentError)


async def test_require_all_raises_on_one_failure(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """require_all=True makes a single failed variation an exception."""
    routerhub_emulator.app.script(Fault.status(400))
    with pytest.raises(VariationsFailedError, match="1 of 3"):
        await client.generate_image("a red fox", n=3, require_all=True)


async def test_cancelling_the_caller_cancels_every_variation(
    routerhub_emulator: EmulatorServer,
) -> None:
    """A cancelled caller returns at once: no variation is left waiting for its answer."""
    app = routerhub_emulator.app
    app.script(*[Fault.delay(0.8)] * 3)  # well past the 0.5 s the caller may take
    finished = False

    async def generate(client: AsyncImageClient) -> None:
        nonlocal finished
        await client.generate_image("a slow fox", n=3)
        finished = True

    async with _client(routerhub_emulator) as client, anyio.create_task_group() as group:
        group.start_soon(generate, client)
        # The script changes in the server's thread: there is no event to await.
        with anyio.fail_after(2):
            while len(app.faults):  # noqa: ASYNC110 - all three calls are stalled now
                await anyio.sleep(0.01)
        cancelled_at = time.monotonic()
        group.cancel_scope.cancel()
    assert time.monotonic() - cancelled_at < 0.5
    assert not finished
    # The server still finishes the three stalled requests: let them end in this test.
    with anyio.fail_after(3):
        while app.log.count < 3:  # noqa: ASYNC110 - as above
            await anyio.sleep(0.02)


@pytest.mark.parametrize("n", [0, -1, 17, True, 2.0])
async def test_bad_n_is_rejected_before_sending(
    routerhub_emulator: EmulatorServer, n: object
) -> None:
    """n outside 1..MAX_VARIATIONS (or not an int) is an InvalidInputError, nothing sent."""
    async with _client(routerhub_emulator) as client:
        with pytest.raises(InvalidInputError, match="n must be"):
            await client.generate_image("a red fox", n=n)  # type: ignore[call-overload]
    assert routerhub_emulator.app.log.count == 0


async def test_bad_options_raise_the_input_error_not_a_variation_failure(
    routerhub_emulator: EmulatorServer,
) -> None:
    """An unsupported option with n is the same InvalidInputError as without, unsent."""
    async with _client(routerhub_emulator) as client:
        with pytest.raises(InvalidInputError, match="image_size"):
            await client.generate_image("a red fox", image_size="4K", n=3)
    assert routerhub_emulator.app.log.count == 0


async def test_edit_image_with_n_returns_variations(client: AsyncImageClient) -> None:
    """edit_image(n=2, seed=5) edits twice with seeds 5 and 6."""
    source = (await client.generate_image("a cat")).images[0]
    result = await client.edit_image(source, "make it blue", seed=5, n=2)
    assert result.seeds == (5, 6)
    assert len(result.images) == 2
    assert result.images[0].data != result.images[1].data


def test_sync_facade_forwards_n(routerhub_emulator: EmulatorServer) -> None:
    """ImageClient.generate_image(n=2) returns the async client's Variations."""
    with ImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url) as client:
        result = client.generate_image("a red fox", seed=3, n=2)
    assert isinstance(result, Variations)
    assert result.seeds == (3, 4)
    assert len(result.images) == 2


def test_cli_generate_n_saves_numbered_files(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """`generate -n 3 -o out/` writes out/image-1.png .. out/image-3.png."""
    env = {"ROUTERHUB_API_KEY": routerhub_emulator.api_key}
    args = ["--base-url", routerhub_emulator.base_url, "generate", "a fox", "-n", "3"]
    result = CliRunner().invoke(main, [*args, "-o", f"{tmp_path}/out/"], env=env)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["image-1.png", "image-2.png", "image-3.png"]


def test_cli_generate_n_reports_a_failed_variation(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """A failed variation is a warning on stderr; the others are still saved."""
    routerhub_emulator.app.script(Fault.status(400))
    env = {"ROUTERHUB_API_KEY": routerhub_emulator.api_key}
    args = ["--base-url", routerhub_emulator.base_url, "generate", "a fox", "-n", "2"]
    result = CliRunner().invoke(main, [*args, "-o", f"{tmp_path}/fox.png"], env=env)
    assert result.exit_code == 0, result.output
    assert "failed" in result.stderr
    assert len(list(tmp_path.glob("fox-*.png"))) == 1


async def test_wrong_size_is_recorded_and_warned(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A 64x64 answer to 16:9 at 1K sets option_mismatches and warns."""
    routerhub_emulator.app.script(Fault.wrong_size(64, 64))
    with pytest.warns(ImageOptionsIgnoredWarning, match="16:9"):
        response = await client.generate_image("a wide sea", aspect_ratio="16:9", image_size="1K")
    assert {m.option for m in response.option_mismatches} == {"aspect_ratio", "image_size"}
    assert (response.option_mismatches[0].width, response.option_mismatches[0].height) == (64, 64)


async def test_right_size_has_no_mismatch(client: AsyncImageClient) -> None:
    """An answer of the asked ratio and size carries no mismatch (and no warning)."""
    response = await client.generate_image("a wide sea", aspect_ratio="16:9", image_size="1K")
    assert (response.images[0].width, response.images[0].height) == (1344, 768)
    assert response.option_mismatches == ()


async def test_unrequested_options_are_not_checked(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Without aspect_ratio or image_size any pixel size is accepted."""
    routerhub_emulator.app.script(Fault.wrong_size(64, 32))
    response = await client.generate_image("a fox")
    assert response.option_mismatches == ()


@pytest.mark.parametrize("size", list(IMAGE_TOKENS))
@pytest.mark.parametrize("ratio", list(PIXELS_1K))
def test_every_real_dimension_matches_its_options(ratio: str, size: str) -> None:
    """The pixel sizes the real models return for each ratio and size pass the check."""
    width, height = image_pixels(ratio, size)
    image = GeneratedImage(data=_png_header(width, height))
    assert option_mismatches([image], aspect_ratio=ratio, image_size=size) == ()


def test_swapped_ratio_and_next_size_mismatch() -> None:
    """A 9:16 image answering 16:9, or a 2K one answering 1K, is a mismatch."""
    tall = GeneratedImage(data=_png_header(768, 1344))
    big = GeneratedImage(data=_png_header(2048, 2048))
    assert [m.option for m in option_mismatches([tall], aspect_ratio="16:9", image_size=None)] == [
        "aspect_ratio"
    ]
    assert [m.option for m in option_mismatches([big], aspect_ratio="1:1", image_size="1K")] == [
        "image_size"
    ]


async def test_reask_is_off_by_default(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Without a policy a text-only answer comes back as is, after one call."""
    routerhub_emulator.app.script(Fault.text_only())
    response = await client.generate_image("a fox")
    assert response.images == []
    assert routerhub_emulator.app.log.count == 1


async def test_reask_asks_again_after_a_text_only_answer(
    routerhub_emulator: EmulatorServer,
) -> None:
    """reask_no_image=2: a NO_IMAGE answer is asked again; call.reasks counts it."""
    routerhub_emulator.app.script(Fault.text_only())
    policies = CallPolicies(reask_no_image=2)
    async with _client(routerhub_emulator, policies=policies) as client:
        response = await client.generate_image("a fox")
    assert len(response.images) == 1
    assert response.call is not None
    assert response.call.reasks == 1
    assert routerhub_emulator.app.log.count == 2


async def test_reask_stops_at_its_limit(routerhub_emulator: EmulatorServer) -> None:
    """Text-only answers past the limit are returned: 1 + reask_no_image calls at most."""
    routerhub_emulator.app.script(*[Fault.text_only()] * 3)
    async with _client(routerhub_emulator, policies=CallPolicies(reask_no_image=1)) as client:
        response = await client.generate_image("a fox")
    assert response.finish_reason == "NO_IMAGE"
    assert response.call is not None
    assert response.call.reasks == 1
    assert routerhub_emulator.app.log.count == 2
    routerhub_emulator.app.faults.clear()


async def test_reask_skips_text_only_requests(routerhub_emulator: EmulatorServer) -> None:
    """A request for text only is never asked again for an image."""
    async with _client(routerhub_emulator, policies=CallPolicies(reask_no_image=2)) as client:
        response = await client.generate_image("describe a fox", text_only=True)
    assert response.text
    assert routerhub_emulator.app.log.count == 1


async def test_fallback_model_answers_when_the_first_stays_unavailable(
    routerhub_emulator: EmulatorServer,
) -> None:
    """After its retries a 503 model gives way to the fallback; call names it."""
    routerhub_emulator.app.script(Fault.status(503), Fault.status(503))
    policies = CallPolicies(fallback_models=["gemini-3.1-flash-image-preview"])
    async with _client(routerhub_emulator, policies=policies, max_retries=1) as client:
        with instant_retries():
            response = await client.generate_image("a fox")
    assert response.model_version == "gemini-3.1-flash-image-preview"
    assert response.call is not None
    assert response.call.fallback_model == FLASH_31
    paths = [entry.model for entry in routerhub_emulator.app.log.entries]
    assert paths[-1] is not None
    assert paths[-1].endswith("gemini-3.1-flash-image-preview")


async def test_fallback_is_off_by_default(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Without a policy an UNAVAILABLE model is raised after its retries."""
    routerhub_emulator.app.script(*[Fault.status(503)] * 5)
    with pytest.raises(UnavailableError):
        await client.generate_image("a fox", max_retries=1)
    routerhub_emulator.app.faults.clear()


@pytest.mark.parametrize(
    "settings",
    [{"reask_no_image": -1}, {"reask_no_image": True}, {"fallback_models": "gemini-3-pro"}],
)
def test_bad_policies_are_rejected(settings: dict[str, object]) -> None:
    """A negative reask count or a lone string of models is an InvalidInputError."""
    with pytest.raises(InvalidInputError):
        CallPolicies(**settings)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        CallPolicies(fallback_models="gemini-3.1-flash-image-preview")  # type: ignore[arg-type]
