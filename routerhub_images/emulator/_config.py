"""The emulator's settings and its table of models, sizes and aspect ratios."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

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

_BASE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_EXTREME_RATIOS = ("1:4", "4:1", "1:8", "8:1")

DIMENSIONS_1K: Mapping[str, tuple[int, int]] = {
    "1:1": (1024, 1024),
    "2:3": (832, 1248),
    "3:2": (1248, 832),
    "3:4": (864, 1184),
    "4:3": (1184, 864),
    "4:5": (896, 1152),
    "5:4": (1152, 896),
    "9:16": (768, 1344),
    "16:9": (1344, 768),
    "21:9": (1536, 672),
    "1:4": (512, 2048),
    "4:1": (2048, 512),
    "1:8": (352, 2816),
    "8:1": (2816, 352),
}
"""Pixel width and height of a 1K image per aspect ratio, as the real models answer."""

SIZE_SCALE = {"512": (1, 2), "1K": (1, 1), "2K": (2, 1), "4K": (4, 1)}
"""``imageSize`` as a fraction (numerator, denominator) of the 1K dimensions."""


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


MODELS: Mapping[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("gemini-2.5-flash-image", ("1K",), _BASE_RATIOS, signs_thoughts=False),
        ModelSpec(
            "gemini-3-pro-image-preview", ("1K", "2K", "4K"), _BASE_RATIOS, signs_thoughts=True
        ),
        ModelSpec(
            "gemini-3.1-flash-image-preview",
            ("512", "1K", "2K", "4K"),
            _BASE_RATIOS + _EXTREME_RATIOS,
            signs_thoughts=True,
        ),
    )
}
"""The emulated models by name (without the ``google/`` prefix)."""


def image_dimensions(aspect_ratio: str, image_size: str) -> tuple[int, int]:
    """Return the ``(width, height)`` the real models produce for a ratio and size."""
    width, height = DIMENSIONS_1K[aspect_ratio]
    num, den = SIZE_SCALE[image_size]
    return width * num // den, height * num // den


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
