"""Fixtures and settings shared by the tests."""

from __future__ import annotations

import os
import pathlib
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import respx
from hypothesis import settings

# Property tests run their full example counts in CI (CI=true) and a tenth of them in a
# local run, the same examples every run (derandomized: a red run can be replayed);
# `client_helpers.examples` scales each test's own count by the profile.
settings.register_profile("ci", max_examples=100, derandomize=True)
settings.register_profile("dev", max_examples=10, derandomize=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from client_helpers import BASE_URL, KEY  # noqa: E402 - after the profile it reads

from routerhub_images import AsyncImageClient, instant_retries  # noqa: E402
from routerhub_images._constants import API_KEY_ENV, BASE_URL_ENV  # noqa: E402
from routerhub_images.emulator import EmulatorApp, EmulatorServer, create_app  # noqa: E402


@pytest.fixture
def no_retry_sleeps() -> Iterator[None]:
    """Retries skip their waits for the test (apply with ``usefixtures``)."""
    with instant_retries():
        yield


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """A respx router for the test's base URL; unrouted requests fail the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router


@pytest.fixture
async def mocked_client() -> AsyncIterator[AsyncImageClient]:
    """An AsyncImageClient for the test's base URL, answered by the `mock` router."""
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        yield client


@pytest.fixture
async def emulator_client(routerhub_emulator: EmulatorServer) -> AsyncIterator[AsyncImageClient]:
    """An AsyncImageClient over real HTTP to the session's emulator on 127.0.0.1."""
    async with AsyncImageClient(
        routerhub_emulator.api_key, base_url=routerhub_emulator.base_url
    ) as client:
        yield client


@pytest.fixture
def app() -> EmulatorApp:
    """A fresh in-process emulator app."""
    return create_app()


@pytest.fixture
async def asgi_client(app: EmulatorApp) -> AsyncIterator[AsyncImageClient]:
    """An AsyncImageClient in-process on `app`, without sockets."""
    transport = httpx.ASGITransport(app=app)
    async with AsyncImageClient(
        api_key=app.api_key, base_url="http://127.0.0.1", transport=transport
    ) as client:
        yield client


@pytest.fixture
async def emulator_http(app: EmulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    """A raw httpx client in-process on `app`, for the emulator's own tests."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as client:
        yield client


@pytest.fixture
def workdir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A temporary working directory with no key and no base URL in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    return tmp_path
