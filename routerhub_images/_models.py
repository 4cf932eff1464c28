"""Model names and what each known model supports, kept in one table.

The table describes the models as of this release. Newer models and new sizes or aspect
ratios keep working: a well-formed model name the table does not know is sent as is (its
options are only shape-checked), and the client's ``strict_options=False`` lets a value
through that this table does not list yet.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping
from fractions import Fraction

import attrs

from ._errors import InvalidImageConfigError, InvalidModelError


@attrs.frozen
class ModelInfo:
    """What one image model supports.

    Attributes:
        name: Canonical model name, ``google/...``.
        image_sizes: Accepted ``imageSize`` values, smallest first (``"1K"``, ...).
        aspect_ratios: Accepted ``aspectRatio`` values (``"16:9"``, ...).
        draft_images: Whether the model may return draft images in ``thought`` parts
            before the final one.
        description: One line for humans (CLI listings, docs).
    """

    name: str
    image_sizes: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    draft_images: bool
    description: str


GEMINI_2_5_FLASH_IMAGE = "google/gemini-2.5-flash-image"
"""Gemini 2.5 Flash Image ("Nano Banana"): fast, 1K output only."""

GEMINI_3_PRO_IMAGE_PREVIEW = "google/gemini-3-pro-image-preview"
"""Gemini 3 Pro Image (preview): highest quality, up to 4K, returns draft images."""

GEMINI_3_1_FLASH_IMAGE_PREVIEW = "google/gemini-3.1-flash-image-preview"
"""Gemini 3.1 Flash Image (preview): 512 to 4K, extra-wide and extra-tall ratios."""

_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")
_EXTREME_RATIOS = ("1:4", "4:1", "1:8", "8:1")

_TABLE = (
    ModelInfo(
        name=GEMINI_2_5_FLASH_IMAGE,
        image_sizes=("1K",),
        aspect_ratios=_RATIOS,
        draft_images=False,
        description="Gemini 2.5 Flash Image: fast generation and editing at 1K.",
    ),
    ModelInfo(
        name=GEMINI_3_PRO_IMAGE_PREVIEW,
        image_sizes=("1K", "2K", "4K"),
        aspect_ratios=_RATIOS,
        draft_images=True,
        description="Gemini 3 Pro Image (preview): highest quality, up to 4K.",
    ),
    ModelInfo(
        name=GEMINI_3_1_FLASH_IMAGE_PREVIEW,
        image_sizes=("512", "1K", "2K", "4K"),
        aspect_ratios=_RATIOS + _EXTREME_RATIOS,
        draft_images=True,
        description="Gemini 3.1 Flash Image (preview): 512 to 4K, ratios up to 8:1.",
    ),
)

STRICT_OPTIONS_HINT = "pass strict_options=False to the client for values newer than this table"
"""The end of an `InvalidImageConfigError` for a value the table does not list."""

MODELS: Mapping[str, ModelInfo] = types.MappingProxyType({info.name: info for info in _TABLE})
"""Known models by canonical name (read-only)."""


def ratio_value(ratio: str) -> Fraction:
    """The width over the height of an aspect ratio (``"16:9"`` is 16/9)."""
    width, height = ratio.split(":")
    return Fraction(int(width), int(height))


def size_pixels(size: str) -> int:
    """The nominal edge length of an image size (``"1K"`` is 1024)."""
    return int(size[:-1]) * 1024 if size.endswith("K") else int(size)


ASPECT_RATIOS: tuple[str, ...] = tuple(
    sorted({r for info in _TABLE for r in info.aspect_ratios}, key=ratio_value)
)
"""Every aspect ratio some known model supports, from the tallest to the widest."""

IMAGE_SIZES: tuple[str, ...] = tuple(
    sorted({s for info in _TABLE for s in info.image_sizes}, key=size_pixels)
)
"""Every image size some known model supports, smallest first."""

PIXELS_1K: Mapping[str, tuple[int, int]] = types.MappingProxyType(
    {
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
)
"""Width and height in pixels of a 1K image, per aspect ratio, as the models answer."""


def image_pixels(aspect_ratio: str, image_size: str) -> tuple[int, int]:
    """Return the ``(width, height)`` the models produce for a ratio in :data:`PIXELS_1K`.

    Other sizes scale the 1K dimensions: ``"2K"`` doubles them, ``"512"`` halves them.
    """
    width, height = PIXELS_1K[aspect_ratio]
    pixels = size_pixels(image_size)
    return width * pixels // 1024, height * pixels // 1024


_DEFAULT_VENDOR = "google"
_MODELS_PREFIX = "models/"
_NAME_CHARS_RE = re.compile(r"[A-Za-z0-9._/-]+")
_RATIO_RE = re.compile(r"[1-9][0-9]*:[1-9][0-9]*")
_SIZE_RE = re.compile(r"[1-9][0-9]*K?")


def normalize_model_name(name: str) -> str:
    """Return the canonical ``vendor/model`` form of a model name.

    ``gemini-x``, ``google/gemini-x``, ``models/gemini-x`` and ``models/google/gemini-x``
    all become ``google/gemini-x``; a name with another vendor (``acme/foo``) keeps it.
    Unknown models are accepted: only the shape is checked, because the name ends up in
    the URL path (``/v1beta/models/{name}:generateContent``).

    Raises:
        InvalidModelError: *name* is not a ``str``, is empty, has characters outside
            ``[A-Za-z0-9._/-]`` (spaces, ``:``, ``?``, ``#``, ``%``, backslash, ...), starts or
            ends with ``/``, or has an empty, ``.`` or ``..`` segment.
    """
    if not isinstance(name, str):
        raise InvalidModelError(f"model name must be a str, not {type(name).__name__}")
    _check_model_name(name)
    while name.startswith(_MODELS_PREFIX):
        name = name.removeprefix(_MODELS_PREFIX)
    return name if "/" in name else f"{_DEFAULT_VENDOR}/{name}"


def _check_model_name(name: str) -> None:
    if not name.strip():
        raise InvalidModelError("model name is empty")
    if not _NAME_CHARS_RE.fullmatch(name):
        bad = sorted({c for c in name if not _NAME_CHARS_RE.fullmatch(c)})
        raise InvalidModelError(
            f"model name {name!r} has characters outside [A-Za-z0-9._/-]: {''.join(bad)!r}"
        )
    if name.startswith("/") or name.endswith("/"):
        raise InvalidModelError(f"model name {name!r} must not start or end with '/'")
    if any(segment in ("", ".", "..") for segment in name.split("/")):
        raise InvalidModelError(f"model name {name!r} has an empty, '.' or '..' segment")


def model_info(name: str) -> ModelInfo | None:
    """Return what the model supports, or ``None`` if this table does not know it.

    Raises:
        InvalidModelError: *name* is malformed (see :func:`normalize_model_name`).
    """
    return MODELS.get(normalize_model_name(name))


def check_image_options(
    info: ModelInfo | None,
    *,
    aspect_ratio: str | None = None,
    image_size: str | None = None,
    strict: bool = True,
) -> tuple[str | None, str | None]:
    """Check an aspect ratio and image size for a model and return them normalized.

    For a model in :data:`MODELS` (*info*, from `model_info`) with *strict* on, each value
    must be one the model supports. For unknown models (*info* None) the ratio must look
    like ``W:H`` and the size must be one of :data:`IMAGE_SIZES`; with *strict* off any
    ``W:H`` ratio and any ``NK`` or bare number size pass, for values newer than this table.

    Returns:
        ``(aspect_ratio, image_size)``, stripped and with sizes uppercased (``"2K"``);
        ``None`` stays ``None``.

    Raises:
        InvalidImageConfigError: a value is malformed or not supported by the model.
    """
    ratio = _canonical("aspect_ratio", aspect_ratio, _RATIO_RE, "'16:9'")
    size = _canonical("image_size", image_size, _SIZE_RE, "'1K', '2K' or '512'")
    if strict and info is not None:
        supported_by = f"supported by {info.name}"
        _check_supported("aspect_ratio", ratio, info.aspect_ratios, supported_by)
        _check_supported("image_size", size, info.image_sizes, supported_by)
    elif strict:
        _check_supported("image_size", size, IMAGE_SIZES, "a known image size")
    return ratio, size


def _canonical(option: str, value: str | None, shape: re.Pattern[str], like: str) -> str | None:
    """Strip and uppercase a value (``" 2k "`` is ``"2K"``) and check its shape."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidImageConfigError(f"{option} must be a str, not {type(value).__name__}")
    canonical = value.strip().upper()
    if not shape.fullmatch(canonical):
        raise InvalidImageConfigError(f"{option} {value!r} is not like {like}")
    return canonical


def _check_supported(option: str, value: str | None, supported: tuple[str, ...], what: str) -> None:
    if value is None or value in supported:
        return
    raise InvalidImageConfigError(
        f"{option} {value!r} is not {what} (supported: {', '.join(supported)}); "
        + STRICT_OPTIONS_HINT
    )
