"""The emulator's endpoint in-process: generation, images, auth, routing, response shape."""

from __future__ import annotations

import base64
import time
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest
from emulator_helpers import (
    AUTH,
    MODEL,
    decode_png,
    error_of,
    generate,
    image_bytes,
    image_parts,
    png_of,
    prompt,
    url,
)

from routerhub_images import emulator
from routerhub_images.emulator import EmulatorApp, EmulatorConfig, create_app, image_dimensions
from routerhub_images.emulator._png import png_dimensions, synthesize_png


def test_all_lists_the_public_names() -> None:
    """``__all__`` names exactly the package's public attributes."""
    public = {
        name
        for name in vars(emulator)
        if not name.startswith(("_", "@")) and name not in {"annotations", "pytest_plugin"}
    }
    assert set(emulator.__all__) == public


async def test_generates_a_valid_png(emulator_http: httpx.AsyncClient) -> None:
    """A prompt yields a decodable 1024x1024 PNG sent as standard base64."""
    response = await generate(emulator_http)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    image = decode_png(image_bytes(response.json()))
    assert image.size == (1024, 1024)
    assert image.format == "PNG"


async def test_response_has_gemini_shape(emulator_http: httpx.AsyncClient) -> None:
    """The answer carries a model candidate with text then image, STOP, usage and ids."""
    payload = (await generate(emulator_http)).json()
    (candidate,) = payload["candidates"]
    assert candidate["content"]["role"] == "model"
    assert candidate["finishReason"] == "STOP"
    assert candidate["index"] == 0
    text, image = candidate["content"]["parts"]
    assert "a red fox" in text["text"]
    assert image["inlineData"]["mimeType"] == "image/png"
    assert payload["modelVersion"] == "gemini-2.5-flash-image"
    assert payload["responseId"]


async def test_usage_counts_image_tokens(emulator_http: httpx.AsyncClient) -> None:
    """usageMetadata bills 1290 tokens for a 1K image and adds up to its total."""
    usage = (await generate(emulator_http)).json()["usageMetadata"]
    details = {d["modality"]: d["tokenCount"] for d in usage["candidatesTokensDetails"]}
    assert details["IMAGE"] == 1290
    assert usage["candidatesTokenCount"] == sum(details.values())
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"]
    assert usage["promptTokensDetails"][0]["modality"] == "TEXT"


async def test_same_prompt_gives_same_image(emulator_http: httpx.AsyncClient) -> None:
    """Generation is deterministic in the prompt."""
    first = image_bytes((await generate(emulator_http)).json())
    second = image_bytes((await generate(emulator_http)).json())
    assert first == second


async def test_different_prompts_give_different_pixels(emulator_http: httpx.AsyncClient) -> None:
    """Two prompts produce visibly different pictures."""
    fox = decode_png(image_bytes((await generate(emulator_http, prompt("a fox"))).json()))
    owl = decode_png(image_bytes((await generate(emulator_http, prompt("an owl"))).json()))
    assert fox.getpixel((10, 10)) != owl.getpixel((10, 10))
    assert fox.tobytes() != owl.tobytes()


async def test_seed_changes_the_image(emulator_http: httpx.AsyncClient) -> None:
    """``generationConfig.seed`` is mixed into the pixels."""
    one = await generate(emulator_http, prompt(generationConfig={"seed": 1}))
    two = await generate(emulator_http, prompt(generationConfig={"seed": 2}))
    assert image_bytes(one.json()) != image_bytes(two.json())


@pytest.mark.parametrize(
    ("ratio", "size"),
    [
        ("1:1", (1024, 1024)),
        ("2:3", (832, 1248)),
        ("3:2", (1248, 832)),
        ("3:4", (864, 1184)),
        ("4:3", (1184, 864)),
        ("4:5", (896, 1152)),
        ("5:4", (1152, 896)),
        ("9:16", (768, 1344)),
        ("16:9", (1344, 768)),
        ("21:9", (1536, 672)),
    ],
)
async def test_aspect_ratio_sets_dimensions(
    emulator_http: httpx.AsyncClient, ratio: str, size: tuple[int, int]
) -> None:
    """imageConfig.aspectRatio gives the real model's 1K dimensions."""
    body = prompt(generationConfig={"imageConfig": {"aspectRatio": ratio}})
    assert decode_png(image_bytes((await generate(emulator_http, body)).json())).size == size


@pytest.mark.parametrize(
    ("model", "ratio", "image_size", "size"),
    [
        ("google/gemini-3-pro-image-preview", "16:9", "2K", (2688, 1536)),
        ("google/gemini-3-pro-image-preview", "1:1", "4K", (4096, 4096)),
        ("google/gemini-3.1-flash-image-preview", "1:1", "512", (512, 512)),
        ("google/gemini-3.1-flash-image-preview", "1:4", "1K", (512, 2048)),
        ("google/gemini-3.1-flash-image-preview", "8:1", "1K", (2816, 352)),
    ],
)
async def test_image_size_scales_dimensions(
    emulator_http: httpx.AsyncClient, model: str, ratio: str, image_size: str, size: tuple[int, int]
) -> None:
    """imageConfig.imageSize halves, doubles or quadruples the 1K dimensions."""
    config = {"imageConfig": {"aspectRatio": ratio, "imageSize": image_size}}
    response = await generate(emulator_http, prompt(generationConfig=config), model=model)
    assert decode_png(image_bytes(response.json())).size == size


def test_extreme_ratios_are_about_one_megapixel_in_multiples_of_16() -> None:
    """1:4, 4:1, 1:8 and 8:1 at 1K keep ~1 MP and 16-pixel alignment."""
    for ratio in ("1:4", "4:1", "1:8", "8:1"):
        width, height = image_dimensions(ratio, "1K")
        assert width % 16 == 0
        assert height % 16 == 0
        assert 0.9e6 < width * height < 1.1e6


def test_png_synthesis_of_4k_is_fast() -> None:
    """A 4096x4096 PNG is built in well under a second and is valid."""
    started = time.perf_counter()
    data = synthesize_png(b"speed-test", 4096, 4096)
    assert time.perf_counter() - started < 0.75
    assert decode_png(data).size == (4096, 4096)


def test_png_dimensions_reads_the_header() -> None:
    """png_dimensions reads a PNG's size and rejects other bytes."""
    assert png_dimensions(png_of(33, 17)) == (33, 17)
    assert png_dimensions(b"GIF89a" + bytes(30)) is None


async def test_edit_keeps_the_input_png_size(emulator_http: httpx.AsyncClient) -> None:
    """An edit of a PNG answers with an image of the input's dimensions."""
    source = base64.b64encode(png_of(320, 240)).decode()
    body = prompt("make it blue")
    body["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/png", "data": source}})
    payload = (await generate(emulator_http, body)).json()
    assert decode_png(image_bytes(payload)).size == (320, 240)
    assert payload["usageMetadata"]["promptTokensDetails"][1] == {
        "modality": "IMAGE",
        "tokenCount": 258,
    }


async def test_edit_with_image_config_uses_the_config(emulator_http: httpx.AsyncClient) -> None:
    """imageConfig wins over the input image's dimensions."""
    source = base64.b64encode(png_of(320, 240)).decode()
    body = prompt("wider", generationConfig={"imageConfig": {"aspectRatio": "16:9"}})
    body["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/png", "data": source}})
    assert decode_png(image_bytes((await generate(emulator_http, body)).json())).size == (1344, 768)


async def test_edit_depends_on_the_input_bytes(emulator_http: httpx.AsyncClient) -> None:
    """The same instruction on two input images gives two different outputs."""
    outputs = []
    for colour in ((0, 0, 0), (255, 255, 255)):
        body = prompt("sharpen")
        data = base64.b64encode(png_of(64, 64, colour)).decode()
        body["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/png", "data": data}})
        outputs.append(image_bytes((await generate(emulator_http, body)).json()))
    assert outputs[0] != outputs[1]


async def test_edit_of_a_jpeg_picks_1k(emulator_http: httpx.AsyncClient) -> None:
    """A non-PNG input (size unknown to the emulator) gives a 1K square."""
    body = prompt("recolour")
    jpeg = base64.b64encode(b"\xff\xd8\xff\xe0 not really a jpeg").decode()
    body["contents"][0]["parts"].append({"inlineData": {"mimeType": "image/jpeg", "data": jpeg}})
    assert decode_png(image_bytes((await generate(emulator_http, body)).json())).size == (
        1024,
        1024,
    )


async def test_text_modality_returns_no_image(emulator_http: httpx.AsyncClient) -> None:
    """responseModalities ["TEXT"] answers with text only."""
    body = prompt(generationConfig={"responseModalities": ["TEXT"]})
    payload = (await generate(emulator_http, body)).json()
    (part,) = payload["candidates"][0]["content"]["parts"]
    assert set(part) == {"text"}
    details = payload["usageMetadata"]["candidatesTokensDetails"]
    assert [d["modality"] for d in details] == ["TEXT"]


async def test_image_modality_returns_only_the_image(emulator_http: httpx.AsyncClient) -> None:
    """responseModalities ["Image"] (any case) answers with the image alone."""
    body = prompt(generationConfig={"responseModalities": ["Image"]})
    (part,) = (await generate(emulator_http, body)).json()["candidates"][0]["content"]["parts"]
    assert "inlineData" in part


async def test_blocked_word_blocks_the_prompt(emulator_http: httpx.AsyncClient) -> None:
    """A prompt with "forbidden" gets 200, promptFeedback.blockReason and no candidates."""
    response = await generate(emulator_http, prompt("a Forbidden castle"))
    assert response.status_code == 200
    payload = response.json()
    assert "candidates" not in payload
    assert payload["promptFeedback"]["blockReason"] == "SAFETY"
    assert any(r.get("blocked") for r in payload["promptFeedback"]["safetyRatings"])


async def test_blocked_word_matches_whole_words_only(emulator_http: httpx.AsyncClient) -> None:
    """ "unforbiddenly" does not trip the blocked rule."""
    payload = (await generate(emulator_http, prompt("unforbiddenly"))).json()
    assert "candidates" in payload


async def test_blocked_words_are_configurable(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """config.blocked_words replaces the default rule."""
    app.config.blocked_words = ("kittens",)
    assert "promptFeedback" in (await generate(emulator_http, prompt("kittens"))).json()
    assert "candidates" in (await generate(emulator_http, prompt("forbidden"))).json()


async def test_image_safety_word_withholds_the_image(emulator_http: httpx.AsyncClient) -> None:
    """A prompt with "unsafe-image" ends with IMAGE_SAFETY and no image."""
    payload = (await generate(emulator_http, prompt("an unsafe-image please"))).json()
    (candidate,) = payload["candidates"]
    assert candidate["finishReason"] == "IMAGE_SAFETY"
    assert "content" not in candidate


async def test_draft_images_come_first_as_thoughts(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """draft_images sends signed thought images before the signed final image."""
    app.config.draft_images = 2
    parts = (await generate(emulator_http)).json()["candidates"][0]["content"]["parts"]
    drafts = [p for p in parts if p.get("thought")]
    assert len(drafts) == 2
    assert parts[:2] == drafts
    assert all("inlineData" in p and base64.b64decode(p["thoughtSignature"]) for p in drafts)
    assert "thoughtSignature" in parts[-1]
    assert "thought" not in parts[-1]


async def test_gemini_3_signs_its_final_image(emulator_http: httpx.AsyncClient) -> None:
    """Gemini 3 models put a thoughtSignature on the final image even without drafts."""
    response = await generate(emulator_http, model="google/gemini-3-pro-image-preview")
    (image,) = image_parts(response.json())
    assert base64.b64decode(image["thoughtSignature"], validate=True)


async def test_gemini_2_5_sends_no_signature(emulator_http: httpx.AsyncClient) -> None:
    """gemini-2.5-flash-image answers without thought signatures."""
    (image,) = image_parts((await generate(emulator_http)).json())
    assert "thoughtSignature" not in image


@pytest.mark.parametrize(
    "model",
    [
        "google/gemini-2.5-flash-image",
        "gemini-2.5-flash-image",
        "models/gemini-3-pro-image-preview",
        "models/google/gemini-3.1-flash-image-preview",
    ],
)
async def test_model_name_forms_are_accepted(emulator_http: httpx.AsyncClient, model: str) -> None:
    """The path model may carry google/ and models/ prefixes or neither."""
    response = await generate(emulator_http, model=model)
    assert response.status_code == 200
    assert response.json()["modelVersion"] == model.rsplit("/", maxsplit=1)[-1]


async def test_unknown_model_is_not_found(emulator_http: httpx.AsyncClient) -> None:
    """An unknown model answers 404 NOT_FOUND in Google's format."""
    response = await generate(emulator_http, model="google/gemini-9-ultra")
    assert response.status_code == 404
    assert error_of(response)["status"] == "NOT_FOUND"
    assert error_of(response)["code"] == 404


async def test_unknown_path_is_not_found(emulator_http: httpx.AsyncClient) -> None:
    """Any other path answers 404 in Google's error format."""
    response = await emulator_http.post("/v1/models", json={}, headers=AUTH)
    assert response.status_code == 404
    assert error_of(response)["status"] == "NOT_FOUND"


async def test_wrong_method_is_not_allowed(emulator_http: httpx.AsyncClient) -> None:
    """GET on the endpoint answers 405 with Allow: POST."""
    response = await emulator_http.get(url(), headers=AUTH)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_of(response)["code"] == 405


@pytest.mark.parametrize(
    "headers",
    [
        {"authorization": "Bearer rh_emulator"},
        {"Authorization": "bearer rh_emulator"},
        {"x-goog-api-key": "rh_emulator"},
    ],
)
async def test_both_auth_styles_are_accepted(
    emulator_http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """Bearer and x-goog-api-key both authenticate."""
    assert (await generate(emulator_http, headers=headers)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"authorization": "Bearer wrong-key"},
        {"x-goog-api-key": "wrong-key"},
        {"authorization": "Basic cmg6ZW11bGF0b3I="},
    ],
)
async def test_missing_or_wrong_key_is_unauthenticated(
    emulator_http: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    """No key or a wrong key answers 401 UNAUTHENTICATED without echoing the key."""
    response = await generate(emulator_http, headers=headers)
    assert response.status_code == 401
    assert error_of(response)["status"] == "UNAUTHENTICATED"
    assert "wrong-key" not in response.text


async def test_accepted_keys_are_configurable(emulator_http: httpx.AsyncClient) -> None:
    """EmulatorConfig.api_keys sets the keys the server accepts."""
    app = create_app(EmulatorConfig(api_keys=("k1", "k2")))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://e") as other:
        assert (await generate(other, headers={"x-goog-api-key": "k2"})).status_code == 200
        assert (await generate(other)).status_code == 401
    assert app.api_key == "k1"


async def test_log_records_auth_style_not_key(
    app: EmulatorApp, emulator_http: httpx.AsyncClient
) -> None:
    """The request log names the header style and never holds the key."""
    await generate(emulator_http, headers={"authorization": "Bearer rh_emulator"})
    await generate(emulator_http)
    await generate(emulator_http, headers={})
    assert [e.auth for e in app.log.entries] == ["bearer", "x-goog-api-key", None]
    assert "rh_emulator" not in repr(app.log.entries)
    assert [e.model for e in app.log.entries] == [MODEL] * 3
    assert app.log.statuses == [200, 200, 401]


async def test_lifespan_is_acknowledged(app: EmulatorApp) -> None:
    """The app answers ASGI lifespan startup and shutdown."""
    incoming: list[MutableMapping[str, Any]] = [
        {"type": "lifespan.startup"},
        {"type": "lifespan.shutdown"},
    ]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return incoming.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
