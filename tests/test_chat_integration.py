"""Chat sessions over real HTTP against the emulator on uvicorn (127.0.0.1)."""

from __future__ import annotations

import base64
import os
import pathlib
import sys
import threading
import time
from collections.abc import AsyncIterator

import anyio
import attrs
import pytest

from routerhub_images import (
    AsyncChat,
    AsyncImageClient,
    Chat,
    ChatBusyError,
    Content,
    ImageClient,
    InvalidArgumentError,
    Part,
    instant_retries,
)
from routerhub_images.emulator import EmulatorServer, Fault

pytestmark = pytest.mark.integration

MODEL = "gemini-3-pro-image-preview"

RESUME = """
import sys
from routerhub_images import AsyncChat, AsyncImageClient
import anyio

async def main():
    async with AsyncImageClient(sys.argv[1], base_url=sys.argv[2]) as client:
        chat = AsyncChat.load(sys.argv[3], client=client)
        for prompt in sys.argv[4:]:
            (await chat.send(prompt)).require_images()
        chat.save(sys.argv[3])

anyio.run(main)
"""


@pytest.fixture(params=["httpx", "aiohttp"])
async def client(
    request: pytest.FixtureRequest, routerhub_emulator: EmulatorServer
) -> AsyncIterator[AsyncImageClient]:
    if request.param == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    async with AsyncImageClient(
        routerhub_emulator.api_key,
        base_url=routerhub_emulator.base_url,
        transport=request.param,
    ) as client:
        with instant_retries():
            yield client


def _digests(chat: AsyncChat | Chat) -> list[bytes]:
    return [image.data for images in chat.images for image in images]


async def test_five_turns_saved_in_one_process_resume_in_another(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """Three turns here, two more in a child process from the saved file: all signed."""
    routerhub_emulator.app.config.draft_images = 1
    server = routerhub_emulator
    async with AsyncImageClient(server.api_key, base_url=server.base_url) as client:
        chat = client.chat(MODEL)
        for prompt in ("a lighthouse", "make it night", "add a boat"):
            (await chat.send(prompt)).require_images()
        path = chat.save(tmp_path / "s.json")
        args = [server.api_key, server.base_url, str(path), "add fog", "make it dawn"]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        await anyio.run_process([sys.executable, "-c", RESUME, *args], check=True, env=env)
        resumed = AsyncChat.load(path, client=client)
    assert len(resumed.images) == 5
    assert resumed.history[:6] == chat.history
    assert len(set(_digests(resumed))) == 5  # each edit a new image
    replies = resumed.history[1::2]
    assert all(p.thought_signature for c in replies for p in c.parts if p.is_image)


async def test_images_follow_the_whole_conversation(client: AsyncImageClient) -> None:
    """The same conversation gives the same images; a different past, a different image."""
    first, second = client.chat(MODEL), client.chat(MODEL)
    for chat in (first, second):
        await chat.send("a lighthouse")
        await chat.send("make it night")
    other = client.chat(MODEL)
    await other.send("a castle")
    await other.send("make it night")
    assert _digests(first) == _digests(second)
    assert _digests(other)[1] != _digests(first)[1]


async def test_undo_then_same_edit_gives_the_same_image(client: AsyncImageClient) -> None:
    """undo() restores the earlier state exactly: resending the edit repeats its image."""
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    await chat.send("make it night")
    night = chat.last_image
    chat.undo()
    assert len(chat.images) == 1
    await chat.send("make it night")
    assert chat.last_image == night


async def test_fork_tries_two_edits_from_one_point(client: AsyncImageClient) -> None:
    """Two forks of one chat diverge; the original is untouched."""
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    night, storm = chat.fork(), chat.fork()
    await night.send("make it night")
    await storm.send("add a storm")
    assert len(chat.images) == 1
    assert night.history[:2] == storm.history[:2] == chat.history
    assert night.last_image != storm.last_image


async def test_failed_middle_turn_leaves_history_and_can_be_retried(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A 400 on turn two keeps turn one as it was; the same turn then succeeds."""
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    before = chat.to_json()
    routerhub_emulator.app.script(Fault.status(400))
    with pytest.raises(InvalidArgumentError):
        await chat.send("make it night")
    assert chat.to_json() == before
    (await chat.send("make it night")).require_images()
    assert len(chat.images) == 2


async def test_blocked_middle_turn_leaves_history(client: AsyncImageClient) -> None:
    """A blocked prompt is returned as .blocked and not added to the history."""
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    before = chat.history
    assert (await chat.send("something forbidden")).blocked
    assert chat.history == before


async def test_concurrent_send_is_refused(
    client: AsyncImageClient, routerhub_emulator: EmulatorServer
) -> None:
    """A second send while one runs raises ChatBusyError; one turn is kept."""
    routerhub_emulator.app.config.latency = 0.2
    chat = client.chat(MODEL)
    errors: list[BaseException] = []

    async def send(prompt: str) -> None:
        try:
            await chat.send(prompt)
        except ChatBusyError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as group:
        group.start_soon(send, "a lighthouse")
        await anyio.sleep(0.05)
        group.start_soon(send, "a castle")
    assert len(errors) == 1
    assert len(chat.history) == 2


def test_blocking_chat_refuses_a_second_thread(routerhub_emulator: EmulatorServer) -> None:
    """Two threads sending on one blocking Chat do not interleave: one is refused."""
    routerhub_emulator.app.config.latency = 0.2
    outcomes: list[str] = []
    with ImageClient(routerhub_emulator.api_key, base_url=routerhub_emulator.base_url) as client:
        chat = client.chat(MODEL)

        def send(prompt: str) -> None:
            try:
                chat.send(prompt)
                outcomes.append("sent")
            except ChatBusyError:
                outcomes.append("busy")

        threads = [threading.Thread(target=send, args=(p,)) for p in ("a", "b")]
        threads[0].start()
        time.sleep(0.05)
        threads[1].start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["busy", "sent"]
        assert len(chat.history) == 2
        chat.send("make it night")
        assert len(chat.images) == 2


async def test_emulator_rejects_a_model_turn_without_its_signature(
    client: AsyncImageClient,
) -> None:
    """A Gemini 3 image part replayed without thoughtSignature is Google's 400."""
    first = await client.generate_image("a lighthouse", model=MODEL)
    turn = first.candidates[0].content
    assert turn is not None
    stripped = attrs.evolve(
        turn, parts=[attrs.evolve(p, thought_signature=None) for p in turn.parts]
    )
    with pytest.raises(InvalidArgumentError, match="missing a thought_signature in content"):
        await client.generate_content(MODEL, [Content.user("a"), stripped, Content.user("b")])


@pytest.mark.parametrize("signature", [b"invented", None])
async def test_emulator_rejects_an_altered_signature(
    client: AsyncImageClient, signature: bytes | None
) -> None:
    """An invented signature, or a real one moved to other content, is 'Corrupted'."""
    first = await client.generate_image("a lighthouse", model=MODEL)
    turn = first.candidates[0].content
    assert turn is not None
    image = next(p for p in turn.parts if p.is_image)
    if signature is None:  # the real signature on another image
        other = Part.from_bytes(base64.b64decode(_OTHER_PNG))
        forged = attrs.evolve(other, thought_signature=image.thought_signature)
    else:
        forged = attrs.evolve(image, thought_signature=signature)
    turn = attrs.evolve(turn, parts=[forged])
    with pytest.raises(InvalidArgumentError, match="Corrupted thought signature"):
        await client.generate_content(MODEL, [Content.user("a"), turn, Content.user("b")])


_OTHER_PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC"
)


def test_google_genai_chat_works_for_two_turns(routerhub_emulator: EmulatorServer) -> None:
    """google-genai's chats.create(...).send_message(...) keeps signatures the emulator accepts."""
    genai = pytest.importorskip("google.genai")
    types = pytest.importorskip("google.genai.types")
    client = genai.Client(
        api_key=routerhub_emulator.api_key,
        http_options=types.HttpOptions(
            base_url=routerhub_emulator.base_url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )
    chat = client.chats.create(model=MODEL)
    first = chat.send_message("a lighthouse")
    second = chat.send_message("make it night")
    images = [
        p.inline_data.data
        for r in (first, second)
        for p in r.candidates[0].content.parts
        if p.inline_data and not p.thought
    ]
    assert len(images) == 2
    assert images[0] != images[1]
