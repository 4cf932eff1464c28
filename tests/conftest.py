"""Fixtures shared by the respx unit tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import respx
from client_helpers import BASE_URL


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    """A respx router for the test's base URL; unrouted requests fail the test."""
    with respx.mock(base_url=BASE_URL, assert_all_called=False) as router:
        yield router
