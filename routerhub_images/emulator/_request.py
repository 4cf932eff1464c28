"""What a generation request asks for, checked against the model's capabilities."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from ._config import MODELS, ModelSpec
from ._errors import ApiError
from ._signatures import check_model_turns
from ._wire import normalize

SUPPORTED_INPUT_MIME_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/webp", "image/heic", "image/heif", "image/gif"}
)
"""Input image types the image models accept inline."""

DEFAULT_MODALITIES = ("TEXT", "IMAGE")
"""``responseModalities`` when the request names none."""

_ROLES = ("user", "model")
_PREFIX = "* GenerateContentRequest."


@dataclasses.dataclass(frozen=True)
class ImageRequest:
    """A validated request: the parts of it that shape the answer.

    Attributes:
        model: The model asked for.
        prompt: The text of every text part, joined by newlines.
        images: ``(mime_type, data)`` of every inline input image, in order.
        modalities: Upper-case response modalities (``TEXT``, ``IMAGE``).
        aspect_ratio: ``imageConfig.aspectRatio``, if given.
        image_size: ``imageConfig.imageSize``, if given.
        seed: ``generationConfig.seed``, if given.
    """

    model: ModelSpec
    prompt: str
    images: tuple[tuple[str, bytes], ...]
    modalities: tuple[str, ...]
    aspect_ratio: str | None
    image_size: str | None
    seed: int | None


def resolve_model(path_model: str) -> ModelSpec:
    """Find the model a path names, with or without ``models/`` and ``google/``.

    Raises:
        ApiError: 404 ``NOT_FOUND`` for a model the emulator does not serve.
    """
    name = path_model.removeprefix("models/").removeprefix("google/")
    spec = MODELS.get(name)
    if spec is None:
        message = (
            f"models/{path_model} is not found for API version v1beta, "
            "or is not supported for generateContent."
        )
        raise ApiError(404, message)
    return spec


def parse_request(
    raw: bytes, model: ModelSpec, *, signing_key: bytes | None = None
) -> ImageRequest:
    """Validate a raw request body for ``model``.

    With ``signing_key``, the thought signatures of replayed model turns are checked too.

    Raises:
        ApiError: 400 ``INVALID_ARGUMENT`` with Google's message for the first problem.
    """
    try:
        body = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "Invalid JSON payload received: body must be valid JSON.") from None
    request = normalize(body)
    contents = _contents(request)
    if signing_key is not None:
        check_model_turns(contents, model, signing_key)
    config = request.get("generationConfig", {})
    image_config = config.get("imageConfig", {})
    aspect_ratio = image_config.get("aspectRatio")
    image_size = image_config.get("imageSize")
    _check_image_config(model, aspect_ratio, image_size)
    return ImageRequest(
        model=model,
        prompt="\n".join(_texts(contents)),
        images=tuple(_images(contents)),
        modalities=_modalities(config, model),
        aspect_ratio=aspect_ratio,
        image_size=image_size,
        seed=config.get("seed"),
    )


def _contents(request: dict[str, Any]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = request.get("contents", [])
    if not contents:
        raise ApiError(400, f"{_PREFIX}contents: contents is not specified\n")
    for index, content in enumerate(contents):
        _check_content(content, f"contents[{index}]")
    return contents


def _check_content(content: dict[str, Any], path: str) -> None:
    if content.get("role", "user") not in _ROLES:
        raise ApiError(400, "Please use a valid role: user, model.")
    parts = content.get("parts", [])
    if not parts:
        raise ApiError(400, f"{_PREFIX}{path}.parts: contents.parts must not be empty.\n")
    for index, part in enumerate(parts):
        _check_part(part, f"{path}.parts[{index}]")


def _check_part(part: dict[str, Any], path: str) -> None:
    if "inlineData" in part:
        _check_blob(part["inlineData"])
        return
    if "text" in part or "fileData" in part:
        return
    for kind in ("functionCall", "functionResponse", "executableCode", "codeExecutionResult"):
        if kind in part:
            raise ApiError(400, f"{_PREFIX}{path}.data: {kind} is not supported by image models.")
    if "thoughtSignature" not in part:
        message = "required oneof field 'data' must have one initialized field"
        raise ApiError(400, f"{_PREFIX}{path}.data: {message}\n")


def _check_blob(blob: dict[str, Any]) -> None:
    mime_type = blob.get("mimeType", "")
    if mime_type.lower() not in SUPPORTED_INPUT_MIME_TYPES:
        raise ApiError(400, f"Unsupported MIME type: {mime_type}")
    if not blob.get("data"):
        raise ApiError(
            400,
            "Unable to submit request because it has an empty inlineData parameter. "
            "Add a value to the parameter and try again.",
        )


def _texts(contents: list[dict[str, Any]]) -> list[str]:
    return [part["text"] for content in contents for part in content["parts"] if "text" in part]


def _images(contents: list[dict[str, Any]]) -> list[tuple[str, bytes]]:
    blobs = [part["inlineData"] for c in contents for part in c["parts"] if "inlineData" in part]
    return [(blob["mimeType"].lower(), blob["data"]) for blob in blobs]


def _modalities(config: dict[str, Any], model: ModelSpec) -> tuple[str, ...]:
    asked = tuple(m for m in config.get("responseModalities", []) if m != "MODALITY_UNSPECIFIED")
    unsupported = sorted(set(asked) - set(DEFAULT_MODALITIES))
    if unsupported:
        message = (
            f"The requested combination of response modalities ({', '.join(unsupported)}) "
            f"is not supported by the model models/{model.name}."
        )
        raise ApiError(400, message)
    return asked or DEFAULT_MODALITIES


def _check_image_config(model: ModelSpec, aspect_ratio: str | None, image_size: str | None) -> None:
    path = f"{_PREFIX}generation_config.image_config"
    if aspect_ratio is not None and aspect_ratio not in model.aspect_ratios:
        supported = ", ".join(model.aspect_ratios)
        message = f"Unsupported aspect ratio {aspect_ratio!r} for models/{model.name}"
        raise ApiError(400, f"{path}.aspect_ratio: {message}; supported: {supported}.")
    if image_size is not None and image_size not in model.image_sizes:
        supported = ", ".join(model.image_sizes)
        message = f"Unsupported image size {image_size!r} for models/{model.name}"
        raise ApiError(400, f"{path}.image_size: {message}; supported: {supported}.")
