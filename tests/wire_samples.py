"""Sample requests and recorded responses shared by the wire-model tests."""

from __future__ import annotations

import json
import pathlib
from typing import Any

from routerhub_images._types import (
    Blob,
    Content,
    FileData,
    GenerateContentRequest,
    GenerateContentResponse,
    GenerationConfig,
    ImageConfig,
    Part,
    SafetySetting,
    ThinkingConfig,
)

DATA = pathlib.Path(__file__).parent / "data"
FIXTURES = ["response_text_image.json", "response_blocked.json", "response_thoughts.json"]

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
    "53de0000000c4944415478da63f8cfc0000003010100c9fe92ef0000000049454e44ae426082"
)


def load_fixture(name: str) -> dict[str, Any]:
    """The JSON of a recorded response in ``tests/data``."""
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def text_to_image() -> GenerateContentRequest:
    return GenerateContentRequest(
        contents=[Content(role="user", parts=[Part(text="an otter on a lake at dawn")])],
        generation_config=GenerationConfig(
            response_modalities=["IMAGE"],
            image_config=ImageConfig(aspect_ratio="16:9", image_size="2K"),
        ),
    )


def edit_with_inline_data() -> GenerateContentRequest:
    return GenerateContentRequest(
        contents=[
            Content(
                role="user",
                parts=[
                    Part(text="make the sky purple"),
                    Part(inline_data=Blob(mime_type="image/png", data=PNG_1X1)),
                    Part(file_data=FileData(file_uri="https://example.com/f/abc")),
                ],
            )
        ]
    )


def full_generation_config() -> GenerationConfig:
    return GenerationConfig(
        candidate_count=1,
        stop_sequences=["END"],
        max_output_tokens=8192,
        temperature=0.7,
        top_p=0.95,
        top_k=40,
        seed=1234,
        response_mime_type="text/plain",
        response_schema={"type": "OBJECT", "properties": {"caption": {"type": "STRING"}}},
        response_json_schema={"type": "object", "properties": {"caption": {"type": "string"}}},
        presence_penalty=0.1,
        frequency_penalty=0.2,
        response_logprobs=True,
        logprobs=3,
        enable_enhanced_civic_answers=False,
        response_modalities=["TEXT", "IMAGE"],
        speech_config={"voiceConfig": {"prebuiltVoiceConfig": {"voiceName": "Kore"}}},
        thinking_config=ThinkingConfig(
            include_thoughts=True, thinking_budget=1024, thinking_level="HIGH"
        ),
        image_config=ImageConfig(aspect_ratio="1:1", image_size="1K"),
        media_resolution="MEDIA_RESOLUTION_HIGH",
    )


def with_everything() -> GenerateContentRequest:
    return GenerateContentRequest(
        contents=[Content(role="user", parts=[Part(text="a watercolor fox")])],
        generation_config=full_generation_config(),
        safety_settings=[
            SafetySetting(category="HARM_CATEGORY_HARASSMENT", threshold="BLOCK_ONLY_HIGH"),
            SafetySetting(category="HARM_CATEGORY_DANGEROUS_CONTENT", threshold="OFF"),
        ],
        system_instruction=Content(parts=[Part(text="You are an illustrator.")]),
        cached_content="cachedContents/abc123",
    )


def thinking_only() -> GenerateContentRequest:
    return GenerateContentRequest(
        contents=[Content(role="user", parts=[Part(text="a lighthouse")])],
        generation_config=GenerationConfig(
            thinking_config=ThinkingConfig(include_thoughts=True, thinking_level="LOW")
        ),
    )


def multi_turn_replay() -> GenerateContentRequest:
    answer = GenerateContentResponse.from_dict(load_fixture("response_thoughts.json"))
    model_turn = answer.candidates[0].content
    assert model_turn is not None
    return GenerateContentRequest(
        contents=[
            Content(role="user", parts=[Part(text="a lighthouse at sunset")]),
            model_turn,
            Content(role="user", parts=[Part(text="now at night")]),
        ]
    )


REQUESTS = [text_to_image, edit_with_inline_data, with_everything, thinking_only, multi_turn_replay]
