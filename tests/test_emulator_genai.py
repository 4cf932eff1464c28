"""Google's own SDK, google-genai, pointed at the emulator: it accepts what Google sends."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from routerhub_images.emulator import EmulatorServer

genai = pytest.importorskip("google.genai")
types = pytest.importorskip("google.genai.types")

pytestmark = pytest.mark.integration


def _client(server: EmulatorServer) -> object:
    return genai.Client(
        api_key=server.api_key,
        http_options=types.HttpOptions(
            base_url=server.base_url,
            api_version="v1beta",
            retry_options=types.HttpRetryOptions(attempts=1),
        ),
    )


def test_google_genai_generates_an_image(routerhub_emulator: EmulatorServer) -> None:
    """google-genai's request (x-goog-api-key, its own JSON) gets a PNG back."""
    client = _client(routerhub_emulator)
    response = client.models.generate_content(  # type: ignore[attr-defined]
        model="gemini-2.5-flash-image",
        contents="a cute otter",
        config=types.GenerateContentConfig(
            response_modalities=["TEXT", "IMAGE"],
            image_config=types.ImageConfig(aspect_ratio="16:9"),
        ),
    )
    images = [p.inline_data.data for p in response.candidates[0].content.parts if p.inline_data]
    assert len(images) == 1
    with Image.open(io.BytesIO(images[0])) as image:
        assert image.size == (1344, 768)
    assert routerhub_emulator.app.log.entries[-1].auth == "x-goog-api-key"


def test_google_genai_edit_round_trips_inline_data(routerhub_emulator: EmulatorServer) -> None:
    """An edit sent by google-genai (its base64 of the input image) is accepted."""
    client = _client(routerhub_emulator)
    source = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(source, format="PNG")
    response = client.models.generate_content(  # type: ignore[attr-defined]
        model="google/gemini-3-pro-image-preview",
        contents=[
            types.Part.from_bytes(data=source.getvalue(), mime_type="image/png"),
            "make it orange",
        ],
    )
    parts = response.candidates[0].content.parts
    assert any(p.inline_data for p in parts)
    assert routerhub_emulator.app.log.statuses == [200]
