"""An ImageOptionsIgnoredWarning names the caller's line, not the library's."""

from __future__ import annotations

import pytest
import respx
from client_helpers import MODEL, ok

from routerhub_images import AsyncImageClient, ImageOptionsIgnoredWarning


async def test_the_size_warning_points_at_the_awaiting_line(
    mock: respx.MockRouter, mocked_client: AsyncImageClient
) -> None:
    """The warning's file is this test file (the canned 4x4 image is not 16:9)."""
    mock.post(f"/v1beta/models/{MODEL}:generateContent").mock(return_value=ok())
    with pytest.warns(ImageOptionsIgnoredWarning) as caught:
        await mocked_client.generate_image("a red fox", model=MODEL, aspect_ratio="16:9")
    assert [w.filename for w in caught] == [__file__]
