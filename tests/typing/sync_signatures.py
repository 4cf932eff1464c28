"""Typing test, checked by ``mypy --strict``: the public signatures of `ImageClient`.

Each blocking method must accept exactly the arguments of its `AsyncImageClient` twin and
return what the twin's coroutine returns; mypy rejects this file the moment they drift.
At run time the checks only bind the methods (no call is made).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any, ParamSpec, TypeVar

from typing_extensions import assert_type

from routerhub_images import (
    AsyncChat,
    AsyncImageClient,
    Chat,
    GenerateContentResponse,
    GeneratedImage,
    Limits,
    RetryPolicy,
    UsageMetadata,
    Variations,
)
from routerhub_images._sync import ImageClient

P = ParamSpec("P")
R = TypeVar("R")


def blocking_twin_of(
    method: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[[Callable[P, R]], None]:
    """Return a check that accepts a callable taking ``method``'s parameters, returning R."""

    def check(twin: Callable[P, R]) -> None:
        del twin

    return check


def async_twin_of(
    method: Callable[P, R],
) -> Callable[[Callable[P, Coroutine[Any, Any, R]]], None]:
    """The converse check: a coroutine function taking ``method``'s parameters."""

    def check(twin: Callable[P, Coroutine[Any, Any, R]]) -> None:
        del twin

    return check


def same_arguments_as(method: Callable[P, Any]) -> Callable[[Callable[P, Any]], None]:
    """A check that accepts a callable taking ``method``'s parameters, whatever it returns."""

    def check(twin: Callable[P, Any]) -> None:
        del twin

    return check


def test_methods_take_the_same_arguments_both_ways() -> None:
    """Each ImageClient method and its AsyncImageClient twin accept the same arguments."""
    sync, async_ = ImageClient("rh_key"), AsyncImageClient("rh_key")
    blocking_twin_of(async_.generate_content)(sync.generate_content)
    async_twin_of(sync.generate_content)(async_.generate_content)
    blocking_twin_of(async_.generate_image)(sync.generate_image)
    async_twin_of(sync.generate_image)(async_.generate_image)
    blocking_twin_of(async_.edit_image)(sync.edit_image)
    async_twin_of(sync.edit_image)(async_.edit_image)
    blocking_twin_of(async_.aclose)(sync.close)
    async_twin_of(sync.close)(async_.aclose)
    same_arguments_as(async_.chat)(sync.chat)
    same_arguments_as(sync.chat)(async_.chat)
    sync.close()


def test_chat_send_takes_the_same_arguments_both_ways() -> None:
    """Chat.send and AsyncChat.send accept the same arguments and return the same answer."""
    sync, async_ = ImageClient("rh_key"), AsyncImageClient("rh_key")
    chat, async_chat = sync.chat(), async_.chat()
    blocking_twin_of(async_chat.send)(chat.send)
    async_twin_of(chat.send)(async_chat.send)
    sync.close()


def test_constructors_take_the_same_settings() -> None:
    """ImageClient() takes AsyncImageClient()'s settings (http_client aside)."""
    settings: dict[str, Any] = {
        "base_url": "https://example.com",
        "max_retries": 1,
        "max_response_bytes": 1 << 20,
    }
    ImageClient("rh_key", **settings).close()
    AsyncImageClient("rh_key", **settings)


def pinned_signatures(client: ImageClient, image: GeneratedImage) -> None:
    """Never run: mypy checks the public surface as a user would write it."""
    assert_type(client.generate_image("a fox"), GenerateContentResponse)
    assert_type(
        client.generate_image("a fox", aspect_ratio="16:9", seed=1), GenerateContentResponse
    )
    assert_type(client.generate_content(None, "a fox"), GenerateContentResponse)
    assert_type(client.edit_image([image, b"..."], "make it red"), GenerateContentResponse)
    assert_type(client.close(), None)
    assert_type(client.closed, bool)
    assert_type(client.base_url, str)
    assert_type(client.default_model, str)
    assert_type(client.retry, RetryPolicy)
    assert_type(client.strict_options, bool)
    assert_type(client.limits, Limits | None)
    with ImageClient() as opened:
        assert_type(opened, ImageClient)

    generate: Callable[..., GenerateContentResponse] = client.generate_image
    edit: Callable[[Sequence[GeneratedImage], str], GenerateContentResponse] = client.edit_image
    close: Callable[[], None] = client.close
    del generate, edit, close


def pinned_chat_signatures(client: ImageClient, image: GeneratedImage) -> None:
    """Never run: the blocking chat's surface, as a user would write it."""
    chat = client.chat("gemini-3-pro-image-preview", aspect_ratio="16:9")
    assert_type(chat, Chat)
    assert_type(chat.send("a lighthouse", images=[image], image_size="2K"), GenerateContentResponse)
    assert_type(chat.fork(), Chat)
    assert_type(chat.undo(), None)
    assert_type(chat.rewind(2), None)
    assert_type(chat.last_image, GeneratedImage | None)
    assert_type(chat.usage, UsageMetadata)
    assert_type(Chat.from_json(chat.to_json(), client=client), Chat)
    assert_type(Chat.load(chat.save("s.json"), client=client), Chat)


async def pinned_async_chat_signatures(client: AsyncImageClient) -> None:
    """Never run: the async chat's surface; `AsyncChat` mirrors `Chat` with awaited sends."""
    chat = client.chat("gemini-3-pro-image-preview", aspect_ratio="16:9")
    assert_type(chat, AsyncChat)
    assert_type(await chat.send("a lighthouse", image_size="2K"), GenerateContentResponse)
    assert_type(chat.fork(), AsyncChat)
    assert_type(AsyncChat.from_json(chat.to_json(), client=client), AsyncChat)
    assert_type(AsyncChat.load(chat.save("s.json"), client=client), AsyncChat)


def pinned_variations_overloads(client: ImageClient, image: GeneratedImage, n: int | None) -> None:
    """Never run: ``n=`` an int gives `Variations`; without it a `GenerateContentResponse`."""
    assert_type(client.generate_image("a fox", n=4), Variations)
    assert_type(client.generate_image("a fox", n=4, require_all=True), Variations)
    assert_type(client.generate_image("a fox", n=None), GenerateContentResponse)
    assert_type(client.generate_image("a fox", require_all=True), GenerateContentResponse)
    assert_type(client.generate_image("a fox", n=n), GenerateContentResponse | Variations)
    assert_type(client.edit_image(image, "make it red", n=2), Variations)
    assert_type(client.edit_image([image], "make it red"), GenerateContentResponse)


async def pinned_async_variations_overloads(
    client: AsyncImageClient, image: GeneratedImage, n: int | None
) -> None:
    """Never run: the async client's overloads answer as the blocking client's do."""
    assert_type(await client.generate_image("a fox", n=4), Variations)
    assert_type(await client.generate_image("a fox", n=4, require_all=True), Variations)
    assert_type(await client.generate_image("a fox"), GenerateContentResponse)
    assert_type(await client.generate_image("a fox", n=n), GenerateContentResponse | Variations)
    assert_type(await client.edit_image(image, "make it red", n=2), Variations)
    assert_type(await client.edit_image([image], "make it red"), GenerateContentResponse)
