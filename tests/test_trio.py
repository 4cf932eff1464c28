"""The async client under trio: the retry loop, the cooldown and batches use anyio, not asyncio."""

from __future__ import annotations

import pathlib
import warnings

import pytest

from routerhub_images import (
    AsyncImageClient,
    ConfigurationError,
    EventLoopBlockedWarning,
    ImageClient,
    instant_retries,
)
from routerhub_images.batch import BatchJob, BatchRunner
from routerhub_images.emulator import EmulatorServer, Fault

trio = pytest.importorskip("trio")

pytestmark = pytest.mark.integration


def test_calls_retries_and_close_under_trio(routerhub_emulator: EmulatorServer) -> None:
    """Over real HTTP under trio: an image, a 503 retried, then the client closes."""
    routerhub_emulator.app.script(Fault.status(503))
    results: list[tuple[int, int]] = []

    async def main() -> None:
        client = AsyncImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url)
        async with client:
            with instant_retries():
                response = await client.generate_image("a fox under trio")
            assert response.call is not None
            results.append((len(response.images), response.call.attempts))
        assert client.closed

    trio.run(main)
    assert results == [(1, 2)]
    assert routerhub_emulator.app.log.count == 2


def test_one_client_serves_two_trio_runs(routerhub_emulator: EmulatorServer) -> None:
    """A client made outside trio serves two trio.run() calls in a row, then closes."""
    client = AsyncImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url)
    texts: list[str | None] = []

    async def generate() -> None:
        texts.append((await client.generate_image("a fox", text_only=True)).text)

    async def close() -> None:
        await client.aclose()

    trio.run(generate)
    trio.run(generate)
    trio.run(close)
    assert texts == ["Emulated answer to: a fox"] * 2


def test_a_batch_runs_under_trio(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """BatchRunner's workers, rate and file writes run on trio too."""
    jobs = [BatchJob(id=f"job-{i}", prompt=f"a fox, take {i}") for i in range(6)]

    async def main() -> int:
        client = AsyncImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url)
        async with client:
            summary = await BatchRunner(client, tmp_path, concurrency=3, rpm=6000).run(jobs)
        return summary.ok

    assert trio.run(main) == 6
    assert sorted(path.name for path in tmp_path.glob("*.png")) == [
        f"job-{i}.png" for i in range(6)
    ]


def test_the_aiohttp_transport_under_trio_says_so(routerhub_emulator: EmulatorServer) -> None:
    """aiohttp needs asyncio: under trio it is a ConfigurationError, not aiohttp's RuntimeError."""
    pytest.importorskip("httpx_aiohttp")

    async def main() -> None:
        client = AsyncImageClient(
            routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, transport="aiohttp"
        )
        async with client:
            with pytest.raises(ConfigurationError, match="asyncio only"):
                await client.generate_image("a fox")

    trio.run(main)
    assert routerhub_emulator.app.log.count == 0


def test_the_sync_client_inside_trio_works_and_warns_once(
    routerhub_emulator: EmulatorServer,
) -> None:
    """ImageClient called on trio's thread blocks that loop: it answers, and warns once."""
    texts: list[str | None] = []

    async def main() -> None:
        with ImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url) as sync:
            with pytest.warns(EventLoopBlockedWarning, match="AsyncImageClient"):
                texts.append(sync.generate_image("a fox", text_only=True).text)
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                texts.append(sync.generate_image("a fox", text_only=True).text)

    trio.run(main)
    assert texts == ["Emulated answer to: a fox"] * 2
