"""Fixtures and settings shared by the tests."""

from __future__ import annotations

import functools
import os
import pathlib
import ssl
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import respx
from hypothesis import settings

# Property tests run their full example counts in CI (CI=true) and a tenth of them in a
# local run; `client_helpers.examples` scales each test's own count by the profile.
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=10)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from client_helpers import BASE_URL, KEY  # noqa: E402 - after the profile it reads

from routerhub_images import AsyncImageClient, instant_retries  # noqa: E402
from routerhub_images._constants import API_KEY_ENV, BASE_URL_ENV  # noqa: E402
from routerhub_images.emulator import EmulatorApp, EmulatorServer, create_app  # noqa: E402

_create_ssl_context = httpx.create_ssl_context


@functools.cache
def _default_ssl_context(
    trust_env: bool, cert_file: str | None, cert_dir: str | None
) -> ssl.SSLContext:
    return _create_ssl_context(trust_env=trust_env)


def _shared_default_ssl_context(
    verify: Any = True, cert: Any = None, trust_env: bool = True
) -> ssl.SSLContext:
    if verify is not True or cert is not None:
        return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)
    # Keyed on what httpx reads: a test naming its own CA bundle gets a context of its own.
    if not trust_env:
        return _default_ssl_context(False, None, None)
    environ = os.environ
    return _default_ssl_context(True, environ.get("SSL_CERT_FILE"), environ.get("SSL_CERT_DIR"))


@pytest.fixture(scope="session", autouse=True)
def _one_default_ssl_context() -> Iterator[None]:
    """Clients with the same CA settings share one SSL context instead of building their own."""
    # httpx (and httpx-aiohttp) load the whole CA bundle for every client they build: done
    # for each of the suite's hundreds of clients, it was the largest cost of a run.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(httpx, "create_ssl_context", _shared_default_ssl_context)
        patch.setattr("httpx._transports.default.create_ssl_context", _shared_default_ssl_context)
        yield


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
