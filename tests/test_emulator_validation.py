"""The emulator validates requests as strictly as Google's parser, and as leniently."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_helpers import AUTH, decode_png, error_of, generate, image_bytes, png_of, prompt, url

from routerhub_images.emulator._schema import MESSAGES
from routerhub_images.emulator._wire import camel, decode_base64, snake

DISCOVERY = Path(__file__).parent / "data" / "generativelanguage-v1beta-discovery.json"
NEWER_THAN_DISCOVERY = {("ImageConfig", "imageSize"), ("ThinkingConfig", "thinkingLevel")}
PNG = base64.b64encode(png_of(8, 8)).decode()


def with_part(part: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": "edit"}, part]}], **extra}


def image(data: str = PNG, mime_type: str = "image/png") -> dict[str, Any]:
    return {"inlineData": {"mimeType": mime_type, "data": data}}


def test_field_table_matches_the_discovery_document() -> None:
    """Every message's known fields are the discovery document's, plus the newer ones."""
    schemas = json.loads(DISCOVERY.read_text())["schemas"]
    for message, fields in MESSAGES.items():
        documented = set(schemas[message]["properties"])
        added = {field for owner, field in NEWER_THAN_DISCOVERY if owner == message}
        assert set(fields) == documented | added, message


@pytest.mark.parametrize(("snake_name", "camel_name"), [("inline_data", "inlineData"), ("a", "a")])
def test_names_convert_both_ways(snake_name: str, camel_name: str) -> None:
    """snake_case and camelCase wire names convert into each other."""
    assert camel(snake_name) == camel_name
    assert snake(camel_name) == snake_name


@pytest.mark.parametrize(
    "text",
    [
        base64.b64encode(b"\xfb\xff\xfe").decode(),
        base64.urlsafe_b64encode(b"\xfb\xff\xfe").decode(),
        base64.b64encode(b"ab").decode().rstrip("="),
        base64.urlsafe_b64encode(b"\xfb\xffab").decode().rstrip("="),
    ],
)
def test_base64_variants_decode(text: str) -> None:
    """Standard and URL-safe base64 decode, with or without padding."""
    assert decode_base64(text) in {b"\xfb\xff\xfe", b"ab", b"\xfb\xffab"}


@pytest.mark.parametrize("text", ["abc$", "a", "ab=c", "abcde", "ab==="])
def test_bad_base64_is_rejected(text: str) -> None:
    """Characters outside both alphabets, bad lengths and stray padding are errors."""
    with pytest.raises(ValueError, match="base64"):
        decode_base64(text)


async def test_snake_case_request_is_accepted(emulator_http: httpx.AsyncClient) -> None:
    """A request written in snake_case works like its camelCase twin."""
    body = {
        "contents": [
            {
                "role": "user",
                "parts": [{"text": "x"}, {"inline_data": {"mime_type": "image/png", "data": PNG}}],
            }
        ],
        "generation_config": {
            "response_modalities": ["TEXT", "IMAGE"],
            "image_config": {"aspect_ratio": "3:2"},
            "thinking_config": {"include_thoughts": True, "thinking_budget": 0},
        },
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
    }
    response = await generate(emulator_http, body)
    assert response.status_code == 200, response.text
    assert decode_png(image_bytes(response.json())).size == (1248, 832)


async def test_url_safe_unpadded_image_is_accepted(emulator_http: httpx.AsyncClient) -> None:
    """Input image data may be URL-safe base64 without padding."""
    data = base64.urlsafe_b64encode(png_of(30, 10)).decode().rstrip("=")
    response = await generate(emulator_http, with_part(image(data)))
    assert decode_png(image_bytes(response.json())).size == (30, 10)


@pytest.mark.parametrize(
    "part",
    [
        {"fileData": {"mimeType": "image/png", "fileUri": "https://example.com/a.png"}},
        {"thought": True, "thoughtSignature": base64.b64encode(b"sig").decode()},
        {"text": "more", "thoughtSignature": "c2ln"},
    ],
)
async def test_other_valid_parts_are_accepted(
    emulator_http: httpx.AsyncClient, part: dict[str, Any]
) -> None:
    """fileData parts and signed thought-only parts are valid input."""
    assert (await generate(emulator_http, with_part(part))).status_code == 200


async def test_multi_turn_history_is_accepted(emulator_http: httpx.AsyncClient) -> None:
    """A conversation with model turns and a system instruction is valid."""
    body = {
        "systemInstruction": {"parts": [{"text": "be brief"}]},
        "contents": [
            {"role": "user", "parts": [{"text": "a cat"}]},
            {"role": "model", "parts": [image(), {"text": "here"}]},
            {"parts": [{"text": "now blue"}]},
        ],
        "generationConfig": {"temperature": "0.5", "candidateCount": 1, "seed": "7"},
        "tools": [{"googleSearch": {}}],
    }
    assert (await generate(emulator_http, body)).status_code == 200


async def test_null_fields_count_as_unset(emulator_http: httpx.AsyncClient) -> None:
    """A JSON null leaves a field unset, as in proto JSON."""
    body = prompt(generationConfig=None, safetySettings=None)
    assert (await generate(emulator_http, body)).status_code == 200


INVALID: list[tuple[str, Any, str]] = [
    ("no contents", {}, "contents is not specified"),
    ("empty contents", {"contents": []}, "contents is not specified"),
    ("empty parts", {"contents": [{"role": "user", "parts": []}]}, "must not be empty"),
    ("bad role", {"contents": [{"role": "system", "parts": [{"text": "x"}]}]}, "valid role"),
    ("empty part", with_part({}), "required oneof field 'data'"),
    ("thought without signature", with_part({"thought": True}), "required oneof field 'data'"),
    ("function call", with_part({"functionCall": {"name": "f"}}), "not supported"),
    ("two data fields", with_part({"text": "x", **image()}), "Oneof field 'data'"),
    ("bad base64", with_part(image("not base64!")), "Base64 decoding failed"),
    ("bad signature", with_part({"text": "x", "thoughtSignature": "@@"}), "Base64"),
    ("empty image", with_part(image("")), "empty inlineData"),
    ("bmp image", with_part(image(mime_type="image/bmp")), "Unsupported MIME type: image/bmp"),
    ("no mime type", with_part({"inlineData": {"data": PNG}}), "Unsupported MIME type"),
    (
        "unknown top-level field",
        prompt(foo=1),
        'Invalid JSON payload received. Unknown name "foo": Cannot find field.',
    ),
    (
        "unknown config field",
        prompt(generationConfig={"foo": 1}),
        "Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': "
        "Cannot find field.",
    ),
    (
        "unknown part field",
        with_part({"text": "x", "colour": "red"}),
        "Unknown name \"colour\" at 'contents[0].parts[1]'",
    ),
    (
        "unknown blob field",
        with_part({"inlineData": {"mimeType": "image/png", "data": PNG, "url": "x"}}),
        "at 'contents[0].parts[1].inline_data'",
    ),
    (
        "unknown image config field",
        prompt(generationConfig={"imageConfig": {"aspect": "1:1"}}),
        "at 'generation_config.image_config'",
    ),
    (
        "unknown thinking config field",
        prompt(generationConfig={"thinkingConfig": {"budget": 1}}),
        "at 'generation_config.thinking_config'",
    ),
    (
        "unknown safety setting field",
        prompt(safetySettings=[{"category": "HARM_CATEGORY_HARASSMENT", "level": 1}]),
        "at 'safety_settings[0]'",
    ),
    (
        "unknown file data field",
        with_part({"fileData": {"fileUri": "gs://x", "size": 3}}),
        "at 'contents[0].parts[1].file_data'",
    ),
    ("text not a string", with_part({"text": 5}), "'contents[0].parts[1].text' (TYPE_STRING)"),
    ("contents not a list", {"contents": {"parts": []}}, "Invalid value at 'contents'"),
    ("temperature not a number", prompt(generationConfig={"temperature": "hot"}), "TYPE_FLOAT"),
    ("seed not an integer", prompt(generationConfig={"seed": 1.5}), "TYPE_INT32"),
    ("thought not a bool", with_part({"text": "x", "thought": "yes"}), "TYPE_BOOL"),
    ("bad modality", prompt(generationConfig={"responseModalities": ["VIDEO"]}), "Modality"),
    ("audio modality", prompt(generationConfig={"responseModalities": ["AUDIO"]}), "AUDIO"),
    (
        "bad harm category",
        prompt(safetySettings=[{"category": "HARM_CATEGORY_RUDENESS", "threshold": "OFF"}]),
        "HarmCategory",
    ),
    ("body is a list", [prompt()], "Root element must be a message"),
    (
        "ratio not offered",
        prompt(generationConfig={"imageConfig": {"aspectRatio": "1:4"}}),
        "Unsupported aspect ratio '1:4'",
    ),
    (
        "size not offered",
        prompt(generationConfig={"imageConfig": {"imageSize": "2K"}}),
        "Unsupported image size '2K'",
    ),
    (
        "size in lower case",
        prompt(generationConfig={"imageConfig": {"imageSize": "1k"}}),
        "Unsupported image size '1k'",
    ),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
async def test_invalid_request_is_rejected(
    emulator_http: httpx.AsyncClient, body: Any, message: str
) -> None:
    """Each malformed request answers 400 INVALID_ARGUMENT with Google's message."""
    response = await generate(emulator_http, body)
    assert response.status_code == 400, response.text
    error = error_of(response)
    assert error == {"code": 400, "message": error["message"], "status": "INVALID_ARGUMENT"}
    assert message in error["message"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe", b'{"contents": ['])
async def test_body_must_be_json(emulator_http: httpx.AsyncClient, raw: bytes) -> None:
    """A body that is not JSON answers 400 "body must be valid JSON"."""
    response = await emulator_http.post(url(), content=raw, headers=AUTH)
    assert response.status_code == 400
    assert "body must be valid JSON" in error_of(response)["message"]


async def test_extreme_ratio_needs_gemini_3_1(emulator_http: httpx.AsyncClient) -> None:
    """1:8 and 512 are accepted by gemini-3.1-flash-image-preview only."""
    config = {"imageConfig": {"aspectRatio": "1:8", "imageSize": "512"}}
    ok = await generate(
        emulator_http, prompt(generationConfig=config), model="gemini-3.1-flash-image-preview"
    )
    assert decode_png(image_bytes(ok.json())).size == (176, 1408)
    refused = await generate(
        emulator_http, prompt(generationConfig=config), model="gemini-3-pro-image-preview"
    )
    assert refused.status_code == 400
