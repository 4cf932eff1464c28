"""The emulator's settings, and its models as read from the library's table."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from routerhub_images._models import MODELS as LIBRARY_MODELS
from routerhub_images._models import ModelInfo, image_pixels

DEFAULT_API_KEY = "rh_emulator"
"""The key the emulator accepts unless configured otherwise."""

DEFAULT_BLOCKED_WORDS = ("forbidden",)
"""Prompt words that make the emulator block the prompt (``promptFeedback.blockReason``)."""

DEFAULT_IMAGE_SAFETY_WORDS = ("unsafe-image",)
"""Prompt words that make the emulator withhold the image (``finishReason: IMAGE_SAFETY``)."""

IMAGE_TOKENS = {"512": 645, "1K": 1290, "2K": 1680, "4K": 2520}
"""Output tokens billed per generated image, by ``imageSize`` (1290 at 1K, as Gemini bills)."""

INPUT_IMAGE_TOKENS = 258
"""Prompt tokens billed per input image."""


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """What one emulated model supports.

    Attributes:
        name: The model id without the ``google/`` prefix (also its ``modelVersion``).
        image_sizes: Accepted ``imageConfig.imageSize`` values.
        aspect_ratios: Accepted ``imageConfig.aspectRatio`` values.
        signs_thoughts: Whether the model signs its final image with a ``thoughtSignature``.
    """

    name: str
    image_sizes: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    signs_thoughts: bool


def _spec(info: ModelInfo) -> ModelSpec:
    # The thinking models are the ones that draft, and they sign their final image.
    return ModelSpec(
        name=info.name.removeprefix("google/"),
        image_sizes=info.image_sizes,
        aspect_ratios=info.aspect_ratios,
        signs_thoughts=info.draft_images,
    )


MODELS: Mapping[str, ModelSpec] = {spec.name: spec for spec in map(_spec, LIBRARY_MODELS.values())}
"""The emulated models by name (without the ``google/`` prefix), from the library's table."""

image_dimensions = image_pixels


@dataclasses.dataclass
class EmulatorConfig:
    """Settings of an emulator; mutable while it runs (each request reads them afresh).

    Attributes:
        api_keys: Keys accepted in ``Authorization: Bearer`` or ``x-goog-api-key``.
        seed: Mixed into every generated image, so one seed gives reproducible pixels.
        latency: Seconds every request waits before it is answered.
        latency_jitter: Up to this many extra seconds, drawn uniformly from a generator
            seeded with ``seed``.
        rate_limit_rpm: Requests per minute the token bucket refills; ``None`` disables it.
        rate_limit_burst: Bucket capacity; ``None`` means ``max(1, floor(rate_limit_rpm))``,
            like a per-minute quota.
        blocked_words: Prompt words (whole words, any case) that block the prompt.
        image_safety_words: Prompt words that end the candidate with ``IMAGE_SAFETY``.
        draft_images: Number of ``thought: true`` draft images sent before the final one.
    """

    api_keys: tuple[str, ...] = (DEFAULT_API_KEY,)
    seed: int = 0
    latency: float = 0.0
    latency_jitter: float = 0.0
    rate_limit_rpm: float | None = None
    rate_limit_burst: int | None = None
    blocked_words: tuple[str, ...] = DEFAULT_BLOCKED_WORDS
    image_safety_words: tuple[str, ...] = DEFAULT_IMAGE_SAFETY_WORDS
    draft_images: int = 0
