"""Tests for routerhub_images._models: names, the capability table, option validation."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from routerhub_images._constants import DEFAULT_MODEL
from routerhub_images._errors import InvalidInputError
from routerhub_images._models import (
    ASPECT_RATIOS,
    GEMINI_2_5_FLASH_IMAGE,
    GEMINI_3_1_FLASH_IMAGE_PREVIEW,
    GEMINI_3_PRO_IMAGE_PREVIEW,
    IMAGE_SIZES,
    MODELS,
    InvalidImageConfigError,
    InvalidModelError,
    ModelInfo,
    check_image_options,
    model_info,
    normalize_model_name,
)

BASE_RATIOS = ("1:1", "2:3", "3:2", "3:4", "4:3", "4:5", "5:4", "9:16", "16:9", "21:9")

# --- the table ------------------------------------------------------------------------------


def test_known_models() -> None:
    """MODELS holds exactly the three known models under their full names."""
    assert set(MODELS) == {
        "google/gemini-2.5-flash-image",
        "google/gemini-3-pro-image-preview",
        "google/gemini-3.1-flash-image-preview",
    }
    assert {GEMINI_2_5_FLASH_IMAGE, GEMINI_3_PRO_IMAGE_PREVIEW, GEMINI_3_1_FLASH_IMAGE_PREVIEW} == (
        set(MODELS)
    )


def test_models_keyed_by_own_name() -> None:
    """Every entry is stored under its own canonical name."""
    assert all(name == info.name for name, info in MODELS.items())


def test_models_is_read_only() -> None:
    """MODELS cannot be modified."""
    with pytest.raises(TypeError):
        MODELS["acme/x"] = MODELS[GEMINI_2_5_FLASH_IMAGE]  # type: ignore[index]


def test_default_model_is_known() -> None:
    """The client's default model is in the table."""
    assert DEFAULT_MODEL in MODELS


@pytest.mark.parametrize(
    ("name", "sizes", "ratios", "drafts"),
    [
        (GEMINI_2_5_FLASH_IMAGE, ("1K",), BASE_RATIOS, False),
        (GEMINI_3_PRO_IMAGE_PREVIEW, ("1K", "2K", "4K"), BASE_RATIOS, True),
        (
            GEMINI_3_1_FLASH_IMAGE_PREVIEW,
            ("512", "1K", "2K", "4K"),
            (*BASE_RATIOS, "1:4", "4:1", "1:8", "8:1"),
            True,
        ),
    ],
)
def test_model_capabilities(
    name: str, sizes: tuple[str, ...], ratios: tuple[str, ...], drafts: bool
) -> None:
    """Each model lists its sizes, aspect ratios and whether it returns draft images."""
    info = MODELS[name]
    assert (info.image_sizes, set(info.aspect_ratios), info.draft_images) == (
        sizes,
        set(ratios),
        drafts,
    )
    assert info.description


def test_aspect_ratios_union_tallest_to_widest() -> None:
    """ASPECT_RATIOS is the union of all models' ratios, ordered by width/height."""
    assert set(ASPECT_RATIOS) == {r for info in MODELS.values() for r in info.aspect_ratios}
    values = [int(w) / int(h) for w, h in (r.split(":") for r in ASPECT_RATIOS)]
    assert values == sorted(values)
    assert (ASPECT_RATIOS[0], ASPECT_RATIOS[-1]) == ("1:8", "8:1")


def test_image_sizes_union_smallest_first() -> None:
    """IMAGE_SIZES is the union of all models' sizes, smallest first."""
    assert IMAGE_SIZES == ("512", "1K", "2K", "4K")


def test_model_info_is_frozen() -> None:
    """ModelInfo entries cannot be modified."""
    with pytest.raises(AttributeError):
        MODELS[GEMINI_2_5_FLASH_IMAGE].draft_images = True  # type: ignore[misc]


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("google/gemini-2.5-flash-image", "google/gemini-2.5-flash-image"),
        ("gemini-2.5-flash-image", "google/gemini-2.5-flash-image"),
        ("models/gemini-2.5-flash-image", "google/gemini-2.5-flash-image"),
        ("models/google/gemini-2.5-flash-image", "google/gemini-2.5-flash-image"),
        ("gemini-9-ultra-image", "google/gemini-9-ultra-image"),
        ("acme/foo", "acme/foo"),
        ("models/acme/foo_v1.2", "acme/foo_v1.2"),
        ("models/models/x", "google/x"),
    ],
)
def test_normalize_model_name(name: str, expected: str) -> None:
    """Short, models/-prefixed and full names all normalize to vendor/model."""
    assert normalize_model_name(name) == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("gemini 2", "characters outside"),
        ("gemini\t2", "characters outside"),
        ("x?alt=sse", "characters outside"),
        ("x#frag", "characters outside"),
        ("x%2F..", "characters outside"),
        ("google\\x", "characters outside"),
        ("x:streamGenerateContent", "characters outside"),
        ("gémini", "characters outside"),
        ("../admin", r"'\.\.' segment"),
        ("google/../x", r"'\.\.' segment"),
        ("google/./x", r"'\.\.' segment"),
        ("a//b", "empty"),
        ("/google/x", "start or end"),
        ("google/x/", "start or end"),
    ],
)
def test_normalize_model_name_rejects(name: str, message: str) -> None:
    """Names that are empty or could alter the URL raise InvalidModelError."""
    with pytest.raises(InvalidModelError, match=message):
        normalize_model_name(name)


@pytest.mark.parametrize("name", [None, 3, b"google/x"])
def test_normalize_model_name_rejects_non_str(name: object) -> None:
    """A model name that is not a str raises InvalidModelError."""
    with pytest.raises(InvalidModelError, match="must be a str"):
        normalize_model_name(name)  # type: ignore[arg-type]


def test_invalid_model_error_is_value_error() -> None:
    """InvalidModelError is an InvalidInputError, hence a ValueError."""
    assert issubclass(InvalidModelError, InvalidInputError)
    assert issubclass(InvalidModelError, ValueError)


@given(st.text(alphabet="abgoogle/models.-_:?# %\\", max_size=30))
def test_normalized_names_are_safe_and_idempotent(name: str) -> None:
    """Any accepted name normalizes to a URL-safe vendor/model that normalizes to itself."""
    try:
        canonical = normalize_model_name(name)
    except InvalidModelError:
        return
    assert re.fullmatch(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)+", canonical)
    assert ".." not in canonical.split("/")
    assert normalize_model_name(canonical) == canonical


def test_model_path_segment_is_canonical_name() -> None:
    """The URL path segment is the canonical name."""
    assert normalize_model_name("models/gemini-3-pro-image-preview") == GEMINI_3_PRO_IMAGE_PREVIEW


def test_model_path_segment_rejects_method_forgery() -> None:
    """A colon, which would forge the API method, is rejected."""
    with pytest.raises(InvalidModelError):
        normalize_model_name("gemini-x:countTokens")


def test_model_info_known_and_unknown() -> None:
    """model_info normalizes the name and returns None for models not in the table."""
    assert model_info("gemini-2.5-flash-image") is MODELS[GEMINI_2_5_FLASH_IMAGE]
    assert model_info("acme/foo") is None


def test_model_info_type() -> None:
    """model_info returns ModelInfo instances."""
    assert isinstance(model_info(GEMINI_3_PRO_IMAGE_PREVIEW), ModelInfo)


# --- image size -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [("1k", "1K"), ("1K", "1K"), (" 2k ", "2K"), ("4K", "4K"), ("512", "512")],
)
def test_normalize_image_size(size: str, expected: str) -> None:
    """Known sizes are stripped and uppercased."""
    assert check_image_options(None, image_size=size)[1] == expected


@pytest.mark.parametrize("size", ["", "8K", "1024", "1 K", "K", "0K", "1.5K", "1KB", "large"])
def test_normalize_image_size_rejects(size: str) -> None:
    """Malformed or unknown sizes raise InvalidImageConfigError."""
    with pytest.raises(InvalidImageConfigError):
        check_image_options(None, image_size=size)


def test_normalize_image_size_rejects_non_str() -> None:
    """A size that is not a str raises InvalidImageConfigError."""
    with pytest.raises(InvalidImageConfigError, match="must be a str"):
        check_image_options(None, image_size=1024)  # type: ignore[arg-type]


# --- check_image_options ---------------------------------------------------------------------


def test_validate_normalizes() -> None:
    """Supported values come back stripped and with the size uppercased."""
    result = check_image_options(
        model_info("gemini-3-pro-image-preview"), aspect_ratio=" 21:9 ", image_size="4k"
    )
    assert result == ("21:9", "4K")


def test_validate_nothing_given() -> None:
    """With no options, the result is (None, None)."""
    assert check_image_options(model_info(GEMINI_2_5_FLASH_IMAGE)) == (None, None)


def test_validate_rejects_unsupported_size_with_hint() -> None:
    """A size the known model lacks is rejected, listing supported sizes and strict_options."""
    expected = (
        "image_size '4K' is not supported by google/gemini-2.5-flash-image (supported: 1K); "
        "pass strict_options=False to the client for values newer than this table"
    )
    with pytest.raises(InvalidImageConfigError, match=re.escape(expected)):
        check_image_options(model_info(GEMINI_2_5_FLASH_IMAGE), image_size="4k")


@pytest.mark.parametrize(
    ("model", "ratio", "accepted"),
    [
        (GEMINI_2_5_FLASH_IMAGE, "1:8", False),
        (GEMINI_3_PRO_IMAGE_PREVIEW, "4:1", False),
        (GEMINI_3_1_FLASH_IMAGE_PREVIEW, "1:8", True),
        (GEMINI_3_1_FLASH_IMAGE_PREVIEW, "7:3", False),
    ],
)
def test_validate_aspect_ratio_per_model(model: str, ratio: str, accepted: bool) -> None:
    """Extreme ratios are accepted only by the model that supports them."""
    if accepted:
        assert check_image_options(model_info(model), aspect_ratio=ratio) == (ratio, None)
    else:
        with pytest.raises(InvalidImageConfigError, match="supported: 1:1, 2:3"):
            check_image_options(model_info(model), aspect_ratio=ratio)


def test_validate_size_512_only_on_3_1_flash() -> None:
    """512 is accepted by Gemini 3.1 Flash Image and rejected by Gemini 3 Pro Image."""
    assert (
        check_image_options(model_info(GEMINI_3_1_FLASH_IMAGE_PREVIEW), image_size="512")[1]
        == "512"
    )
    with pytest.raises(InvalidImageConfigError, match="supported: 1K, 2K, 4K"):
        check_image_options(model_info(GEMINI_3_PRO_IMAGE_PREVIEW), image_size="512")


def test_validate_not_strict_allows_newer_values() -> None:
    """With strict=False a known model accepts well-formed values missing from the table."""
    result = check_image_options(
        model_info(GEMINI_2_5_FLASH_IMAGE), aspect_ratio="7:3", image_size="8k", strict=False
    )
    assert result == ("7:3", "8K")


def test_validate_unknown_model_checks_shape_only() -> None:
    """An unknown model accepts any W:H ratio and any known size."""
    assert check_image_options(model_info("acme/foo"), aspect_ratio="7:3", image_size="2k") == (
        "7:3",
        "2K",
    )


def test_validate_unknown_model_strict_size_must_be_known() -> None:
    """With strict on, an unknown model still needs a size from IMAGE_SIZES."""
    with pytest.raises(InvalidImageConfigError, match="strict_options=False"):
        check_image_options(model_info("acme/foo"), image_size="8K")
    assert check_image_options(model_info("acme/foo"), image_size="8K", strict=False) == (
        None,
        "8K",
    )


@pytest.mark.parametrize("strict", [True, False])
@pytest.mark.parametrize(
    "options",
    [
        {"aspect_ratio": "16x9"},
        {"aspect_ratio": "16:9:1"},
        {"aspect_ratio": "0:1"},
        {"aspect_ratio": ""},
        {"aspect_ratio": 1.5},
        {"image_size": "huge"},
        {"image_size": "2KB"},
        {"image_size": 2},
    ],
)
def test_validate_rejects_malformed(options: dict[str, object], strict: bool) -> None:
    """Malformed values are rejected whether strict or not, and for unknown models too."""
    for model in (GEMINI_2_5_FLASH_IMAGE, "acme/foo"):
        with pytest.raises(InvalidImageConfigError):
            check_image_options(model_info(model), strict=strict, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("strict", [True, False])
def test_validate_rejects_malformed_model(strict: bool) -> None:
    """A malformed model name is rejected even with strict=False."""
    with pytest.raises(InvalidModelError):
        check_image_options(model_info("../x"), aspect_ratio="1:1", strict=strict)
