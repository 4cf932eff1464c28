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
    AsyncImageClient,
    GenerateContentResponse,
    GeneratedImage,
    Limits,
    RetryPolicy,
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
