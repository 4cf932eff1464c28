"""Review of chats (#15) and variations/accounting (#17): the gaps, over real HTTP."""

from __future__ import annotations

import asyncio
import inspect
import logging
import pathlib
import warnings
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from routerhub_images import (
    GEMINI_2_5_FLASH_IMAGE,
    GEMINI_3_1_FLASH_IMAGE_PREVIEW,
    GEMINI_3_PRO_IMAGE_PREVIEW,
    PRICES,
    AsyncImageClient,
    CallPolicies,
    ImageClient,
    ModalityTokenCount,
    UsageMetadata,
    estimate_cost,
    instant_retries,
)
from routerhub_images._pricing import PRICE_SOURCE, total_usage
from routerhub_images._sync import EventLoopBlockedWarning
from routerhub_images.emulator import EmulatorServer, Fault
from routerhub_images.emulator._config import INPUT_IMAGE_TOKENS

pytestmark = pytest.mark.integration

MODEL = "gemini-3-pro-image-preview"


@pytest.fixture
async def client(routerhub_emulator: EmulatorServer) -> AsyncIterator[AsyncImageClient]:
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url
    ) as client:
        with instant_retries():
            yield client


def _image_output(tokens: int) -> UsageMetadata:
    return UsageMetadata(
        candidates_token_count=tokens,
        candidates_tokens_details=[ModalityTokenCount(modality="IMAGE", token_count=tokens)],
    )


async def test_chat_usage_keeps_tokens_by_modality(client: AsyncImageClient) -> None:
    """chat.usage sums each answer's image and prompt tokens by modality, not only totals."""
    chat = client.chat(MODEL)
    first = await chat.send("a lighthouse")
    second = await chat.send("make it night")
    answers = [r.usage_metadata for r in (first, second)]
    assert all(u is not None and u.image_tokens for u in answers)
    assert chat.usage.image_tokens == sum(u.image_tokens for u in answers if u)
    assert chat.usage.prompt_tokens_of("IMAGE") == sum(
        u.prompt_tokens_of("IMAGE") for u in answers if u
    )
    assert chat.usage.prompt_tokens_of("IMAGE") > 0  # the second turn sends the first image back


async def test_chat_image_given_as_a_str_is_read_as_a_path(
    client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """send(images=["photo.png"]) sends the file's bytes as an image, never the name as text."""
    first = await client.generate_image("a cat")
    photo = first.images[0].save(tmp_path / "photo.png")
    chat = client.chat(MODEL)
    response = await chat.send("put a hat on it", images=[str(photo)])
    usage = response.usage_metadata
    assert usage is not None
    assert usage.prompt_tokens_of("IMAGE") == INPUT_IMAGE_TOKENS
    parts = chat.history[0].parts
    assert [p.text for p in parts] == ["put a hat on it", None]
    assert parts[1].inline_data is not None
    assert parts[1].inline_data.data == photo.read_bytes()


async def test_blocking_chat_in_a_running_loop_warns_at_the_callers_line(
    routerhub_emulator: EmulatorServer,
) -> None:
    """Chat.send called from a coroutine warns once, pointing at the line that called send."""
    with ImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url) as sync:
        chat = sync.chat(MODEL)
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            line = inspect.currentframe().f_lineno + 1  # type: ignore[union-attr]
            chat.send("a lighthouse")
            chat.send("make it night")
        await asyncio.sleep(0)
    blocked = [w for w in record if w.category is EventLoopBlockedWarning]
    assert [(w.filename, w.lineno) for w in blocked] == [(__file__, line)]


async def test_reask_is_logged(
    routerhub_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Each re-ask after a text-only answer is logged on the library's logger."""
    routerhub_emulator.app.script(Fault.text_only())
    caplog.set_level(logging.INFO, logger="routerhub_images")
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        policies=CallPolicies(reask_no_image=1),
    ) as client:
        response = await client.generate_image("a fox")
    assert response.images
    asked = [r for r in caplog.records if "asking again" in r.getMessage()]
    assert len(asked) == 1
    assert "NO_IMAGE" in asked[0].getMessage()


async def test_fallback_is_logged(
    routerhub_emulator: EmulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A fallback to the next model is logged as a warning naming both models."""
    routerhub_emulator.app.script(Fault.status(503), Fault.status(503))
    policies = CallPolicies(fallback_models=["gemini-3.1-flash-image-preview"])
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        policies=policies,
        max_retries=1,
    ) as client:
        with instant_retries():
            response = await client.generate_image("a fox")
    assert response.images
    [record] = [r for r in caplog.records if "falling back" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "gemini-2.5-flash-image" in record.getMessage()
    assert "gemini-3.1-flash-image-preview" in record.getMessage()


def test_total_usage_sums_every_count_and_detail() -> None:
    """total_usage adds tool-use and cache counts and details too, not only the common ones."""
    one = UsageMetadata(
        tool_use_prompt_token_count=3,
        cache_tokens_details=[ModalityTokenCount(modality="TEXT", token_count=5)],
        tool_use_prompt_tokens_details=[ModalityTokenCount(modality="TEXT", token_count=3)],
    )
    total = total_usage([one, None, one])
    assert total.tool_use_prompt_token_count == 6
    assert total.cache_tokens_details == (ModalityTokenCount(modality="TEXT", token_count=10),)
    assert total.tool_use_prompt_tokens_details == (
        ModalityTokenCount(modality="TEXT", token_count=6),
    )


@pytest.mark.parametrize(
    ("model", "tokens", "per_image"),
    [
        (GEMINI_2_5_FLASH_IMAGE, 1290, "0.039"),
        (GEMINI_3_PRO_IMAGE_PREVIEW, 1120, "0.134"),
        (GEMINI_3_PRO_IMAGE_PREVIEW, 2000, "0.24"),
        (GEMINI_3_1_FLASH_IMAGE_PREVIEW, 1120, "0.067"),
    ],
)
def test_shipped_prices_give_googles_per_image_figures(
    model: str, tokens: int, per_image: str
) -> None:
    """The per-token image prices give the per-image prices Google publishes beside them."""
    cost = estimate_cost(_image_output(tokens), model, prices=PRICES)
    assert cost is not None
    assert cost.usd.quantize(Decimal(per_image)) == Decimal(per_image)
    assert PRICES[model].source == PRICE_SOURCE


def test_unconfirmed_text_output_price_stays_unpriced() -> None:
    """Gemini 2.5 Flash Image text output has no confirmed price: counted, never guessed."""
    usage = UsageMetadata(
        candidates_token_count=10,
        candidates_tokens_details=[ModalityTokenCount(modality="TEXT", token_count=10)],
    )
    cost = estimate_cost(usage, GEMINI_2_5_FLASH_IMAGE, prices=PRICES)
    assert cost is not None
    assert cost.usd == 0
    assert cost.unpriced_tokens == 10


async def test_a_variation_is_retried_under_the_clients_policy(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A 503 on one of three variations is retried: three images, four requests in all."""
    routerhub_emulator.app.script(Fault.status(503))
    result = await client.generate_image("a red fox", n=3)
    assert result.ok
    assert len(result.images) == 3
    attempts = sorted(r.call.attempts for r in result.responses if r and r.call)
    assert attempts == [1, 1, 2]
    assert routerhub_emulator.app.log.count == 4
