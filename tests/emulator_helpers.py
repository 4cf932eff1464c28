"""Shared helpers for the emulator tests."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx
from PIL import Image

from routerhub_images.emulator import DEFAULT_API_KEY

MODEL = "google/gemini-2.5-flash-image"
AUTH = {"x-goog-api-key": DEFAULT_API_KEY}


def url(model: str = MODEL) -> str:
    return f"/v1beta/models/{model}:generateContent"


def prompt(text: str = "a red fox", **extra: Any) -> dict[str, Any]:
    return {"contents": [{"role": "user", "parts": [{"text": text}]}], **extra}


async def generate(
    client: httpx.AsyncClient,
    body: Any = None,
    *,
    model: str = MODEL,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    return await client.post(
        url(model),
        json=prompt() if body is None else body,
        headers=AUTH if headers is None else headers,
    )


def image_parts(payload: dict[str, Any]) -> list[dict[str, Any]]:
    parts = payload["candidates"][0]["content"]["parts"]
    return [p for p in parts if "inlineData" in p and not p.get("thought")]


def image_bytes(payload: dict[str, Any]) -> bytes:
    (part,) = image_parts(payload)
    return base64.b64decode(part["inlineData"]["data"], validate=True)


def decode_png(data: bytes) -> Image.Image:
    Image.open(io.BytesIO(data)).verify()
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def png_of(width: int, height: int, colour: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def error_of(response: httpx.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error
