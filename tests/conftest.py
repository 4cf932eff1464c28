"""Fixtures and settings shared by the tests."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import respx
from hypothesis import settings

# Property tests run their full example counts in CI (CI=true) and a tenth of them in a
# local run; `client_helpers.examples` scales each test's own count by the profile.
settings.register_profile("ci", max_examples=100)
settings.register_profile("dev", max_examples=10)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

from client_helpers import BASE_URL  # noqa: E402 - after the profile it reads


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """A respx router for the test's base URL; unrouted requests fail the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router
