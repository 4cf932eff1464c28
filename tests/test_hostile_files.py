"""Hostile inputs: devices, FIFOs, sockets and huge files as images; byte-like images; limits."""

from __future__ import annotations

import os
import pathlib
import socket
import sys
from collections.abc import AsyncIterator, Callable

import anyio
import anyio.lowlevel
import pytest
import respx
from client_helpers import BASE_URL, KEY, PNG, URL, ok, sent_json

from routerhub_images import (
    MAX_REQUEST_BYTES,
    AsyncImageClient,
    ImageInputError,
    InvalidInputError,
    Part,
    instant_retries,
)
from routerhub_images._sync import ImageClient
from routerhub_images.batch import BatchJob, BatchRunner
from routerhub_images.emulator import EmulatorServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="FIFOs and devices are POSIX")

TRANSPORTS = ["httpx", "aiohttp"]
NOT_AN_IMAGE_SIZE = 30 * 1024 * 1024
"""A large file (sparse, so it costs no disk) whose read would stall an event loop."""


@pytest.fixture(params=TRANSPORTS)
async def capped_client(
    request: pytest.FixtureRequest, routerhub_emulator: EmulatorServer
) -> AsyncIterator[AsyncImageClient]:
    """A client on each transport, to the session's emulator, capped at 100 kB requests."""
    if request.param == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        transport=request.param,
        max_request_bytes=100_000,
    ) as client:
        with instant_retries():
            yield client


def _fifo(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    return path


def _socket(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "s.png"
    server = socket.socket(socket.AF_UNIX)
    server.bind(os.fspath(path))
    server.close()  # the socket file stays behind
    return path


def _dev_zero(tmp_path: pathlib.Path) -> pathlib.Path:
    del tmp_path
    return pathlib.Path("/dev/zero")


def _directory(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "folder.png"
    path.mkdir()
    return path


def _symlink_to_fifo(tmp_path: pathlib.Path) -> pathlib.Path:
    link = tmp_path / "link.png"
    link.symlink_to(_fifo(tmp_path))
    return link


NOT_REGULAR = pytest.mark.parametrize(
    ("make", "kind"),
    [
        (_dev_zero, "a character device"),
        (_fifo, "a FIFO"),
        (_symlink_to_fifo, "a FIFO"),
        (_socket, "a socket"),
        (_directory, "a directory"),
    ],
    ids=["dev-zero", "fifo", "symlink-to-fifo", "socket", "directory"],
)


def _sparse(path: pathlib.Path, size: int, head: bytes = b"") -> pathlib.Path:
    with path.open("wb") as file:
        file.write(head)
        file.truncate(size)
    return path


@NOT_REGULAR
async def test_edit_refuses_what_is_not_a_regular_file(
    capped_client: AsyncImageClient,
    routerhub_emulator: EmulatorServer,
    tmp_path: pathlib.Path,
    make: Callable[[pathlib.Path], pathlib.Path],
    kind: str,
) -> None:
    """/dev/zero, a FIFO, a socket or a directory is an ImageInputError at once, unsent."""
    path = make(tmp_path)
    with anyio.fail_after(2), pytest.raises(ImageInputError) as caught:
        await capped_client.edit_image(path, "make it blue")
    assert str(path) in str(caught.value)
    assert kind in str(caught.value)
    assert routerhub_emulator.app.log.count == 0


@NOT_REGULAR
def test_part_from_file_refuses_what_is_not_a_regular_file(
    tmp_path: pathlib.Path, make: Callable[[pathlib.Path], pathlib.Path], kind: str
) -> None:
    """Part.from_file names the path and what it is instead of reading forever or blocking."""
    path = make(tmp_path)
    with pytest.raises(ImageInputError, match=kind):
        Part.from_file(path)


async def test_generate_content_refuses_a_fifo_path(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """A FIFO among generate_content's contents is refused without blocking, unsent."""
    with anyio.fail_after(2), pytest.raises(ImageInputError, match="FIFO"):
        await capped_client.generate_content(None, ["make it blue", _fifo(tmp_path)])
    assert routerhub_emulator.app.log.count == 0


async def test_a_file_over_the_limit_is_refused_unsent(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """A file larger than the base64 capacity of max_request_bytes names that limit."""
    path = _sparse(tmp_path / "big.png", 75_001, head=PNG)
    with pytest.raises(ImageInputError, match="larger than 75000 bytes"):
        await capped_client.edit_image(path, "make it blue")
    assert routerhub_emulator.app.log.count == 0


async def test_a_file_within_the_limit_is_sent(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """A regular image file under the limit still reaches the server and gets an answer."""
    path = tmp_path / "small.png"
    path.write_bytes(PNG)
    response = await capped_client.edit_image(path, "make it blue")
    assert response.images
    assert routerhub_emulator.app.log.count == 1


def test_part_from_file_reads_no_more_than_max_bytes(tmp_path: pathlib.Path) -> None:
    """A file that fits is read whole; one byte more is refused, naming the limit."""
    path = tmp_path / "exact.png"
    path.write_bytes(PNG)
    assert Part.from_file(path, max_bytes=len(PNG)).inline_data is not None
    with pytest.raises(ImageInputError, match=f"larger than {len(PNG) - 1} bytes"):
        Part.from_file(path, max_bytes=len(PNG) - 1)


def test_part_from_file_is_bounded_by_default(tmp_path: pathlib.Path) -> None:
    """By default a file larger than MAX_REQUEST_BYTES' base64 capacity is refused unread."""
    capacity = MAX_REQUEST_BYTES // 4 * 3
    path = _sparse(tmp_path / "huge.png", capacity + 1, head=PNG)
    with pytest.raises(ImageInputError, match=f"larger than {capacity} bytes"):
        Part.from_file(path)


async def test_a_request_body_over_the_limit_is_refused_unsent(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A body over max_request_bytes is an InvalidInputError naming the limit, never sent."""
    with pytest.raises(InvalidInputError, match="max_request_bytes limit of 100000 bytes"):
        await capped_client.generate_image("a fox " * 20_000)
    assert routerhub_emulator.app.log.count == 0


async def test_image_bytes_over_the_limit_are_refused_unsent(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """Image bytes whose base64 overflows the limit are refused before sending."""
    with pytest.raises(InvalidInputError, match="limit of 100000 bytes"):
        await capped_client.edit_image(PNG + bytes(80_000), "make it blue")
    assert routerhub_emulator.app.log.count == 0


@pytest.mark.parametrize(
    "call",
    [
        lambda c, path: c.edit_image(path, "make it blue"),
        lambda c, path: c.generate_content(None, ["make it blue", path]),
    ],
    ids=["edit_image", "generate_content"],
)
async def test_the_loop_keeps_running_while_a_large_file_is_read(
    tmp_path: pathlib.Path, call: Callable[[AsyncImageClient, pathlib.Path], object]
) -> None:
    """A 30 MB file is read in a worker thread: a concurrent task runs meanwhile."""
    path = _sparse(tmp_path / "large.png", NOT_AN_IMAGE_SIZE)
    ticks = 0
    reading = True

    async def ticker() -> None:
        nonlocal ticks
        while reading:
            ticks += 1
            await anyio.lowlevel.checkpoint()

    async with AsyncImageClient(KEY, base_url=BASE_URL) as client, anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        await anyio.lowlevel.checkpoint()  # the ticker's first tick
        before = ticks
        with pytest.raises(ImageInputError, match="is not a PNG"):
            await call(client, path)  # type: ignore[misc]
        reading = False
    assert ticks > before


@pytest.mark.parametrize("wrap", [bytearray, memoryview], ids=["bytearray", "memoryview"])
async def test_byte_like_images_are_sent_as_bytes(
    mock: respx.MockRouter, wrap: Callable[[bytes], object]
) -> None:
    """edit_image(bytearray(...)) and memoryview send exactly what bytes would."""
    route = mock.post(URL).mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        await client.edit_image(PNG, "make it blue")
        await client.edit_image(wrap(PNG), "make it blue")  # type: ignore[arg-type]
        await client.generate_content(None, wrap(PNG))  # type: ignore[arg-type]
    as_bytes, as_wrapped, as_contents = (sent_json(c.request) for c in route.calls)
    assert as_wrapped == as_bytes
    assert as_contents["contents"][0]["parts"] == as_bytes["contents"][0]["parts"][1:]


async def test_a_bytearray_edit_gets_an_image_back(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A bytearray image travels over real HTTP and the server answers with an image."""
    response = await capped_client.edit_image(bytearray(PNG), "make it blue")
    assert response.images
    assert routerhub_emulator.app.log.count == 1


async def test_an_unusable_image_lists_the_accepted_types() -> None:
    """edit_image(123, ...) names every type an image may be."""
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        with pytest.raises(InvalidInputError) as caught:
            await client.edit_image(123, "make it blue")  # type: ignore[arg-type]
    message = str(caught.value)
    assert "cannot use int as an image" in message
    for name in ("bytes", "bytearray", "memoryview", "str", "os.PathLike", "Part"):
        assert name in message
    assert "GeneratedImage" in message


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "100"])
def test_max_request_bytes_must_be_a_positive_int(value: object) -> None:
    """A bad max_request_bytes is an InvalidInputError at construction, for both clients."""
    with pytest.raises(InvalidInputError, match="max_request_bytes"):
        AsyncImageClient(KEY, max_request_bytes=value)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="max_request_bytes"):
        ImageClient(KEY, max_request_bytes=value)  # type: ignore[arg-type]


def test_max_request_bytes_defaults_to_the_published_limit() -> None:
    """Both clients default to MAX_REQUEST_BYTES; None turns the limit off."""
    assert AsyncImageClient(KEY).max_request_bytes == MAX_REQUEST_BYTES == 100_000_000
    assert AsyncImageClient(KEY, max_request_bytes=None).max_request_bytes is None
    with ImageClient(KEY, max_request_bytes=5_000) as client:
        assert client.max_request_bytes == 5_000


def test_the_sync_client_keeps_to_max_request_bytes(routerhub_emulator: EmulatorServer) -> None:
    """ImageClient forwards max_request_bytes: an oversized body is refused, unsent."""
    with (
        ImageClient(
            routerhub_emulator.api_key, base_url=routerhub_emulator.base_url, max_request_bytes=500
        ) as client,
        pytest.raises(InvalidInputError, match="limit of 500 bytes"),
    ):
        client.generate_image("a fox " * 200)
    assert routerhub_emulator.app.log.count == 0


async def test_batch_jobs_naming_hostile_files_fail_with_the_typed_error(
    capped_client: AsyncImageClient, routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """Jobs naming /dev/zero or a FIFO fail with ImageInputError; a good job still succeeds."""
    good = tmp_path / "good.png"
    good.write_bytes(PNG)
    jobs = [
        BatchJob.create("make it blue", id="zero", images=["/dev/zero"]),
        BatchJob.create("make it blue", id="fifo", images=[_fifo(tmp_path)]),
        BatchJob.create("make it blue", id="good", images=[good]),
    ]
    results = {}
    with anyio.fail_after(5):
        async for result in BatchRunner(capped_client, tmp_path / "out", rpm=60_000.0).iter_results(
            jobs
        ):
            results[result.job.id] = result
    assert results["good"].ok
    for job_id, kind in (("zero", "character device"), ("fifo", "FIFO")):
        assert not results[job_id].ok
        assert isinstance(results[job_id].exception, ImageInputError)
        assert kind in str(results[job_id].exception)
    assert routerhub_emulator.app.log.count == 1
