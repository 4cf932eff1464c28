"""Pytest fixtures for testing code that calls RouterHub, registered as a ``pytest11`` plugin.

Installing ``routerhub-images`` makes these fixtures available in every test suite:

``routerhub_emulator_server``
    Session-scoped: one ``EmulatorServer`` on a free loopback port, started on first use
    and stopped at the end of the session. Its state carries over between tests.

``routerhub_emulator``
    Function-scoped: the same running server, reset before the test — no pending faults,
    an empty request log (requests still in flight from earlier tests take no new fault
    and are not logged), a full rate limiter and the session's original settings. Use
    this one unless you mean to share state between tests.

``routerhub_emulator_app``
    Function-scoped: a fresh in-process ``EmulatorApp`` for ``httpx.ASGITransport``; needs
    no uvicorn and no sockets.

The server fixtures need uvicorn (``pip install 'routerhub-images[emulator]'``);
``routerhub_emulator_app`` does not. The fixtures are plain (not async), so they serve any
test; an ``async def`` test needs an async test plugin such as pytest-asyncio, with the
test marked ``@pytest.mark.asyncio`` or ``asyncio_mode = "auto"`` in the pytest settings.
A plain ``def`` test using ``ImageClient`` needs none.

Example::

    @pytest.mark.asyncio
    async def test_retries_overload(routerhub_emulator):
        routerhub_emulator.app.script(Fault.status(503))
        client = AsyncImageClient(
            api_key=routerhub_emulator.api_key, base_url=routerhub_emulator.base_url
        )
        ...
        assert routerhub_emulator.app.log.count == 2

The plugin imports nothing heavy: uvicorn is loaded only when a server fixture is used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from ._app import EmulatorApp
from ._server import EmulatorServer


@pytest.fixture(scope="session")
def routerhub_emulator_server() -> Iterator[EmulatorServer]:
    """Run one emulator server for the whole session (state is shared between tests)."""
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def routerhub_emulator(routerhub_emulator_server: EmulatorServer) -> Iterator[EmulatorServer]:
    """Yield the session's emulator server, reset to a clean state for this test."""
    app = routerhub_emulator_server.app
    original = app.config
    app.config = dataclasses.replace(original)
    app.reset()
    yield routerhub_emulator_server
    app.config = original


@pytest.fixture
def routerhub_emulator_app() -> EmulatorApp:
    """Return a fresh in-process emulator app, for ``httpx.ASGITransport``."""
    return EmulatorApp()
