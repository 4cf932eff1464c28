"""Clients wired to an in-process emulator: no server, no sockets, no key needed."""

from __future__ import annotations

from typing import Any

from routerhub_images._client import AsyncImageClient
from routerhub_images._http import asgi_transport
from routerhub_images._sync import ImageClient

from ._app import EmulatorApp
from ._config import DEFAULT_API_KEY

IN_PROCESS_BASE_URL = "http://emulator.invalid"
"""Base URL of an in-process client; ``.invalid`` never resolves, so nothing can leave."""


def in_process_client(app: EmulatorApp | None = None, **options: Any) -> AsyncImageClient:
    """An `AsyncImageClient` whose requests go straight to ``app`` (a new emulator if None).

    ``options`` are passed to `AsyncImageClient` (``max_retries``, ``default_model``, ...).
    The emulator's default key is used; nothing travels over a network, so the usual
    refusal of clear-text ``http://`` does not apply.
    """
    return AsyncImageClient(
        DEFAULT_API_KEY,
        base_url=IN_PROCESS_BASE_URL,
        transport=asgi_transport(app if app is not None else EmulatorApp()),
        allow_insecure_http=True,
        **options,
    )


def in_process_sync_client(app: EmulatorApp | None = None, **options: Any) -> ImageClient:
    """An `ImageClient` (blocking) whose requests go straight to ``app`` (a new emulator if None).

    The blocking twin of `in_process_client`, for notebooks and scripts: ``options`` are
    passed to `ImageClient`, the emulator's default key is used and nothing travels over a
    network. Close it with ``with`` or ``close()`` like any `ImageClient`.
    """
    return ImageClient(
        DEFAULT_API_KEY,
        base_url=IN_PROCESS_BASE_URL,
        transport=asgi_transport(app if app is not None else EmulatorApp()),
        allow_insecure_http=True,
        **options,
    )
