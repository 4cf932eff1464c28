"""Usage by modality, estimated cost, and batch totals, over real HTTP to the emulator."""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal

import pytest
from click.testing import CliRunner

from routerhub_images import (
    GEMINI_2_5_FLASH_IMAGE,
    GEMINI_3_PRO_IMAGE_PREVIEW,
    PRICES,
    AsyncImageClient,
    ModalityTokenCount,
    ModelPrice,
    UsageMetadata,
    estimate_cost,
    instant_retries,
    model_prices,
    set_model_price,
)
from routerhub_images._pricing import total_usage
from routerhub_images.batch import MANIFEST_NAME, BatchJob, BatchRunner, read_manifest
from routerhub_images.batch._manifest import loads_entry
from routerhub_images.cli import main
from routerhub_images.emulator import EmulatorServer

pytestmark = pytest.mark.integration

MILLION = Decimal(1_000_000)


@pytest.fixture
async def client(routerhub_emulator: EmulatorServer) -> AsyncIterator[AsyncImageClient]:
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url
    ) as client:
        with instant_retries():
            yield client


@pytest.fixture
def restore_prices() -> Iterator[None]:
    yield
    for model in PRICES:
        set_model_price(model, None)


async def test_usage_reports_tokens_by_modality(client: AsyncImageClient) -> None:
    """A generated image is 1290 output IMAGE tokens beside the TEXT ones, per modality."""
    usage = (await client.generate_image("a red fox")).usage_metadata
    assert usage is not None
    assert usage.image_tokens == 1290
    assert usage.text_tokens > 0
    assert usage.image_tokens + usage.text_tokens == usage.candidates_token_count
    assert usage.prompt_tokens_of("TEXT") == usage.prompt_token_count
    assert usage.prompt_tokens_of("IMAGE") == 0
    assert usage.thinking_tokens == 0


async def test_input_images_are_prompt_image_tokens(client: AsyncImageClient) -> None:
    """An edit's input image is counted in the prompt's IMAGE tokens."""
    source = (await client.generate_image("a cat")).images[0]
    usage = (await client.edit_image(source, "make it blue")).usage_metadata
    assert usage is not None
    assert usage.prompt_tokens_of("IMAGE") == 258


async def test_thinking_tokens_are_reported(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Draft images of a thinking model come back as thoughtsTokenCount."""
    routerhub_emulator.app.config.draft_images = 1
    response = await client.generate_image("a fox", model=GEMINI_3_PRO_IMAGE_PREVIEW)
    assert response.usage_metadata is not None
    assert response.usage_metadata.thinking_tokens == 1290


async def test_cost_of_a_flash_image_is_googles_per_image_price(
    client: AsyncImageClient,
) -> None:
    """1290 image tokens at $30/M is Google's $0.0387 per image, plus the prompt's cents."""
    response = await client.generate_image("a red fox")
    usage = response.usage_metadata
    assert usage is not None
    cost = response.cost
    assert cost is not None
    assert isinstance(cost.usd, Decimal)
    expected = (usage.prompt_token_count or 0) * Decimal("0.30") + 1290 * Decimal(30)
    assert cost.usd == expected / MILLION
    assert Decimal("0.0387") <= cost.usd < Decimal("0.0388")
    # Gemini 2.5 Flash Image has no published text output price: left out, and said so.
    assert cost.unpriced_tokens == usage.text_tokens


async def test_thinking_is_priced_as_text_output(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Gemini 3 Pro Image: image tokens at $120/M, text and thinking at $12/M."""
    routerhub_emulator.app.config.draft_images = 1
    response = await client.generate_image("a fox", model=GEMINI_3_PRO_IMAGE_PREVIEW)
    usage = response.usage_metadata
    assert usage is not None
    assert response.cost is not None
    expected = (
        (usage.prompt_token_count or 0) * Decimal(2)
        + usage.image_tokens * Decimal(120)
        + (usage.text_tokens + usage.thinking_tokens) * Decimal(12)
    ) / MILLION
    assert response.cost.usd == expected
    assert response.cost.unpriced_tokens == 0


async def test_a_user_price_overrides_the_table(
    client: AsyncImageClient, restore_prices: None
) -> None:
    """set_model_price replaces the estimate's prices (RouterHub may price differently)."""
    set_model_price(
        GEMINI_2_5_FLASH_IMAGE,
        ModelPrice(input_text=None, input_image=None, output_text=None, output_image=Decimal(1)),
    )
    response = await client.generate_image("a red fox")
    assert response.cost is not None
    assert response.cost.usd == Decimal(1290) / MILLION
    set_model_price(GEMINI_2_5_FLASH_IMAGE, None)
    assert model_prices()[GEMINI_2_5_FLASH_IMAGE] == PRICES[GEMINI_2_5_FLASH_IMAGE]


def test_no_usage_or_unknown_model_has_no_estimate() -> None:
    """Without usage, or for a model the table does not know, the estimate is None."""
    usage = UsageMetadata(prompt_token_count=10)
    assert estimate_cost(None, GEMINI_2_5_FLASH_IMAGE) is None
    assert estimate_cost(usage, "acme/painter-1") is None
    assert estimate_cost(usage, None) is None
    assert estimate_cost(usage, "gemini-2.5-flash-image") is not None


def test_total_usage_sums_counts_and_modalities() -> None:
    """Summed usage adds each count and each modality's tokens."""
    one = UsageMetadata(
        prompt_token_count=3,
        candidates_token_count=1300,
        candidates_tokens_details=[
            ModalityTokenCount(modality="IMAGE", token_count=1290),
            ModalityTokenCount(modality="TEXT", token_count=10),
        ],
        thoughts_token_count=5,
    )
    total = total_usage([one, None, one])
    assert (total.prompt_token_count, total.candidates_token_count) == (6, 2600)
    assert (total.image_tokens, total.text_tokens, total.thinking_tokens) == (2580, 20, 10)


async def test_variations_sum_usage_and_cost(client: AsyncImageClient) -> None:
    """Variations report the usage and estimated cost of all their calls together."""
    result = await client.generate_image("a red fox", seed=1, n=3)
    assert result.usage.image_tokens == 3 * 1290
    costs = [r.cost for r in result.responses if r is not None]
    assert result.cost is not None
    assert result.cost.usd == sum((c.usd for c in costs if c is not None), Decimal(0))


async def test_batch_manifest_records_usage_by_modality_and_cost(
    client: AsyncImageClient, tmp_path: pathlib.Path
) -> None:
    """Each manifest line has image/text tokens and a cost; the summary totals them."""
    jobs = [BatchJob.create(f"a fox, take {i}") for i in range(3)]
    summary = await BatchRunner(client, tmp_path, concurrency=3, rpm=60_000.0).run(jobs)
    entries = read_manifest(tmp_path / MANIFEST_NAME)
    usages = [e.usage for e in entries if e.usage is not None]
    assert len(usages) == 3
    assert all(u.image_tokens == 1290 and u.text_tokens > 0 for u in usages)
    assert all(u.estimated_cost_usd is not None for u in usages)
    assert summary.image_tokens == 3 * 1290
    assert summary.text_tokens == sum(u.text_tokens for u in usages)
    assert summary.estimated_cost_usd == sum(
        (Decimal(u.estimated_cost_usd or 0) for u in usages), Decimal(0)
    )
    assert summary.images_per_minute > 0


def test_old_manifest_lines_load_without_the_new_fields() -> None:
    """A line written before usage by modality loads with zeros and no cost."""
    line = {
        "job_id": "j1",
        "prompt_hash": "h",
        "status": "ok",
        "usage": {"prompt_tokens": 3, "candidates_tokens": 1300, "total_tokens": 1303},
    }
    entry = loads_entry(json.dumps(line).encode())
    assert entry.usage is not None
    assert (entry.usage.image_tokens, entry.usage.estimated_cost_usd) == (0, None)


def test_cli_batch_prints_cost_and_token_totals(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """The batch summary shows tokens by modality, the estimated cost and images/min."""
    jobs = tmp_path / "jobs.txt"
    jobs.write_text("an otter\na fox\n", encoding="utf-8")
    env = {"ROUTERHUB_API_KEY": routerhub_emulator.api_key}
    args = ["--base-url", routerhub_emulator.base_url, "batch", str(jobs), "-o", str(tmp_path)]
    result = CliRunner().invoke(main, args, env=env)
    assert result.exit_code == 0, result.output
    assert "2,580 / " in result.stdout  # two images' output image tokens
    assert "estimated cost" in result.stdout
    assert "$0.07" in result.stdout  # two Gemini 2.5 Flash images at about $0.039
    assert "images/min" in result.stdout
