"""Successful (HTTP 200) answers: generated images, blocked prompts, withheld images."""

from __future__ import annotations

import base64
import hashlib
import math
import re
from collections.abc import Iterable
from typing import Any

from ._config import (
    IMAGE_TOKENS,
    INPUT_IMAGE_TOKENS,
    EmulatorConfig,
    ModelSpec,
    image_dimensions,
)
from ._faults import Fault
from ._png import png_dimensions, synthesize_png
from ._request import ImageRequest
from ._signatures import sign, signing_key

MAX_KEPT_PIXELS = 4096 * 4096
"""An input PNG larger than this is not copied in size; the output falls back to 1K."""

_HARM_CATEGORIES = (
    "HARM_CATEGORY_SEXUALLY_EXPLICIT",
    "HARM_CATEGORY_HATE_SPEECH",
    "HARM_CATEGORY_HARASSMENT",
    "HARM_CATEGORY_DANGEROUS_CONTENT",
)


def answer(request: ImageRequest, config: EmulatorConfig, response_id: str) -> dict[str, Any]:
    """Build the ``GenerateContentResponse`` the emulator sends for a valid request."""
    seed = image_seed(request, config.seed)
    if mentions(request.prompt, config.blocked_words):
        body = blocked(request)
    elif "IMAGE" in request.modalities and mentions(request.prompt, config.image_safety_words):
        body = _candidate_body({"finishReason": "IMAGE_SAFETY", "index": 0}, request, 0)
        body["candidates"][0]["finishMessage"] = "Unable to show the generated image."
    else:
        body = generated(request, seed, config.draft_images, signing_key(config.seed))
    body["modelVersion"] = request.model.name
    body["responseId"] = response_id
    return body


def reshape(body: dict[str, Any], fault: Fault) -> dict[str, Any]:
    """Apply a fault that changes a success: a ``wrong_size`` image or a ``text_only`` answer."""
    for candidate in body.get("candidates", []):
        parts = candidate.get("content", {}).get("parts", [])
        if fault.kind == "text_only":
            text = "I can describe it, but I did not draw an image this time."
            candidate["content"]["parts"] = [p for p in parts if "text" in p] or [{"text": text}]
            candidate["finishReason"] = "NO_IMAGE"
            _drop_image_tokens(body.get("usageMetadata", {}))
            continue
        png = synthesize_png(b"wrong-size", fault.width, fault.height)
        for part in parts:
            if "inlineData" in part and not part.get("thought"):
                part["inlineData"]["data"] = base64.b64encode(png).decode()
    return body


def _drop_image_tokens(usage: dict[str, Any]) -> None:
    details = usage.get("candidatesTokensDetails", [])
    image = sum(d["tokenCount"] for d in details if d["modality"] == "IMAGE")
    usage["candidatesTokensDetails"] = [d for d in details if d["modality"] != "IMAGE"]
    usage["candidatesTokenCount"] = usage.get("candidatesTokenCount", 0) - image
    usage["totalTokenCount"] = usage.get("totalTokenCount", 0) - image


def mentions(prompt: str, words: Iterable[str]) -> bool:
    """Whether ``prompt`` contains any of ``words`` as a whole word, in any case."""
    return any(re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", prompt, re.I) for w in words)


def image_seed(request: ImageRequest, seed: int) -> bytes:
    """Derive the pixels' seed from the prompt, both seeds and every input image's bytes."""
    digest = hashlib.sha256(f"{seed}|{request.seed}|{request.prompt}".encode())
    for _, data in request.images:
        digest.update(hashlib.sha256(data).digest())
    return digest.digest()


def output_dimensions(request: ImageRequest) -> tuple[int, int]:
    """Pick the output size: ``imageConfig`` if given, else an input PNG's size, else 1K 1:1."""
    source = _input_png_dimensions(request)
    if source and request.aspect_ratio is None and request.image_size is None:
        return source
    ratio = request.aspect_ratio or (_nearest_ratio(request.model, *source) if source else "1:1")
    return image_dimensions(ratio, request.image_size or "1K")


def blocked(request: ImageRequest) -> dict[str, Any]:
    """Build the answer to a blocked prompt: ``promptFeedback`` and no candidates."""
    ratings: list[dict[str, Any]] = [
        {"category": category, "probability": "NEGLIGIBLE"} for category in _HARM_CATEGORIES
    ]
    ratings[-1] |= {"probability": "HIGH", "blocked": True}
    tokens = _prompt_tokens(request)
    usage = {
        "promptTokenCount": sum(tokens.values()),
        "totalTokenCount": sum(tokens.values()),
        "promptTokensDetails": _details(tokens),
    }
    feedback = {"blockReason": "SAFETY", "safetyRatings": ratings}
    return {"promptFeedback": feedback, "usageMetadata": usage}


def generated(request: ImageRequest, seed: bytes, drafts: int, key: bytes) -> dict[str, Any]:
    """Build a candidate with a short text and/or the image, after ``drafts`` draft images.

    Drafts, and the final image of a model that signs its thoughts, carry a
    ``thoughtSignature`` signed with ``key``.
    """
    parts: list[dict[str, Any]] = []
    width, height = output_dimensions(request)
    with_image = "IMAGE" in request.modalities
    if with_image:
        parts.extend(_draft(seed, index, width, height, key) for index in range(drafts))
    if "TEXT" in request.modalities:
        parts.append({"text": _caption(request)})
    if with_image:
        png = synthesize_png(seed, width, height)
        image = _image_part(png)
        if request.model.signs_thoughts or drafts:
            image["thoughtSignature"] = sign(key, data=png, mime_type="image/png")
        parts.append(image)
    candidate = {
        "content": {"role": "model", "parts": parts},
        "finishReason": "STOP",
        "index": 0,
    }
    image_tokens = IMAGE_TOKENS[request.image_size or "1K"] if with_image else 0
    body = _candidate_body(candidate, request, image_tokens)
    if drafts and with_image:
        body["usageMetadata"]["thoughtsTokenCount"] = drafts * image_tokens
        body["usageMetadata"]["totalTokenCount"] += drafts * image_tokens
    return body


def _candidate_body(
    candidate: dict[str, Any], request: ImageRequest, image_tokens: int
) -> dict[str, Any]:
    prompt = _prompt_tokens(request)
    output = {"TEXT": _text_tokens(_caption(request))} if "TEXT" in request.modalities else {}
    if image_tokens:
        output["IMAGE"] = image_tokens
    usage = {
        "promptTokenCount": sum(prompt.values()),
        "candidatesTokenCount": sum(output.values()),
        "totalTokenCount": sum(prompt.values()) + sum(output.values()),
        "promptTokensDetails": _details(prompt),
        "candidatesTokensDetails": _details(output),
    }
    return {"candidates": [candidate], "usageMetadata": usage}


def _prompt_tokens(request: ImageRequest) -> dict[str, int]:
    tokens = {"TEXT": _text_tokens(request.prompt)}
    if request.images:
        tokens["IMAGE"] = INPUT_IMAGE_TOKENS * len(request.images)
    return tokens


def _details(tokens: dict[str, int]) -> list[dict[str, Any]]:
    return [{"modality": modality, "tokenCount": count} for modality, count in tokens.items()]


def _text_tokens(text: str) -> int:
    return max(1, math.ceil(len(text) / 4))


def _caption(request: ImageRequest) -> str:
    subject = " ".join(request.prompt.split())[:60] or "your image"
    if "IMAGE" not in request.modalities:
        return f"Emulated answer to: {subject}"
    return f"Here is the {'edited' if request.images else 'generated'} image: {subject}"


def _draft(seed: bytes, index: int, width: int, height: int, key: bytes) -> dict[str, Any]:
    draft_seed = hashlib.sha256(seed + f"draft{index}".encode()).digest()
    png = synthesize_png(draft_seed, max(16, width // 2), max(16, height // 2))
    signature = sign(key, data=png, mime_type="image/png", thought=True)
    return _image_part(png) | {"thought": True, "thoughtSignature": signature}


def _image_part(png: bytes) -> dict[str, Any]:
    return {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(png).decode()}}


def _input_png_dimensions(request: ImageRequest) -> tuple[int, int] | None:
    for mime_type, data in request.images:
        size = png_dimensions(data) if mime_type == "image/png" else None
        if size and size[0] * size[1] <= MAX_KEPT_PIXELS:
            return size
    return None


def _nearest_ratio(model: ModelSpec, width: int, height: int) -> str:
    def distance(ratio: str) -> float:
        w, h = (int(n) for n in ratio.split(":"))
        return abs(math.log(w / h) - math.log(width / height))

    return min(model.aspect_ratios, key=distance)
