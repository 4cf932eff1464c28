"""Estimated cost of a call: a per-model price table and the estimate from usage.

Prices are Google's published per-token prices for the Gemini Developer API, in USD per
million tokens, as `decimal.Decimal` (no float rounding in totals). RouterHub may price
differently: replace an entry with `set_model_price`, or pass your own table to
`estimate_cost`. Every figure here is an estimate, never a bill.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import attrs

from ._errors import InvalidInputError
from ._models import (
    GEMINI_2_5_FLASH_IMAGE,
    GEMINI_3_1_FLASH_IMAGE_PREVIEW,
    GEMINI_3_PRO_IMAGE_PREVIEW,
    normalize_model_name,
)

if TYPE_CHECKING:
    from ._types import ModalityTokenCount, UsageMetadata

__all__ = [
    "PRICES",
    "CostEstimate",
    "ModelPrice",
    "estimate_cost",
    "model_prices",
    "set_model_price",
    "total_usage",
]

PRICE_SOURCE = "https://ai.google.dev/gemini-api/docs/pricing"
"""Where the default prices come from (Google's Gemini Developer API pricing page)."""

PRICES_READ_ON = "2026-12-03"
"""The date the default prices were read (quoted from the source, standard tier)."""

_MILLION = Decimal(1_000_000)


@attrs.frozen(kw_only=True)
class ModelPrice:
    """USD per million tokens for one model; ``None`` where no price was found.

    Attributes:
        input_text: Prompt text tokens (cached ones are priced as uncached).
        input_image: Prompt image tokens.
        output_text: Output text tokens, and thinking tokens (billed as output).
        output_image: Output image tokens.
        source: Where the prices come from.
        read_on: When they were read (``YYYY-MM-DD``).
    """

    input_text: Decimal | None
    input_image: Decimal | None
    output_text: Decimal | None
    output_image: Decimal | None
    source: str = PRICE_SOURCE
    read_on: str = PRICES_READ_ON


_DEFAULTS = {
    GEMINI_2_5_FLASH_IMAGE: ModelPrice(
        input_text=Decimal("0.30"),
        input_image=Decimal("0.30"),
        output_text=None,  # not confirmed: the quotations give only the image output price
        output_image=Decimal("30"),
    ),
    GEMINI_3_PRO_IMAGE_PREVIEW: ModelPrice(
        input_text=Decimal("2"),
        input_image=Decimal("2"),
        output_text=Decimal("12"),
        output_image=Decimal("120"),
    ),
    GEMINI_3_1_FLASH_IMAGE_PREVIEW: ModelPrice(
        input_text=Decimal("0.50"),
        input_image=Decimal("0.50"),
        output_text=Decimal("3"),
        output_image=Decimal("60"),
    ),
}

_prices: dict[str, ModelPrice] = dict(_DEFAULTS)

PRICES: Mapping[str, ModelPrice] = types.MappingProxyType(_DEFAULTS)
"""Google's published prices by canonical model name, as shipped (read-only).

Source: https://ai.google.dev/gemini-api/docs/pricing (standard, non-batch tier), checked on
2026-12-03 against quotations of that page (it could not be opened from here): every image
output price matches the per-image figure Google prints beside it ($0.039 for a 1290-token
image at $30/M; $0.134 per 1K/2K and $0.24 per 4K image at $120/M; $0.067 per 1K image at
$60/M). No text output price for Gemini 2.5 Flash Image could be confirmed (the quotations
give only its image output price): it is ``None``, and those tokens count in
``unpriced_tokens``.
"""


def model_prices() -> Mapping[str, ModelPrice]:
    """The prices `estimate_cost` uses by default: `PRICES` with `set_model_price` changes."""
    return types.MappingProxyType(_prices)


def set_model_price(model: str, price: ModelPrice | None) -> None:
    """Replace the default price of *model* (None restores the shipped one, or removes it).

    Raises:
        InvalidInputError: *model* is malformed or *price* is not a `ModelPrice`.
    """
    name = normalize_model_name(model)
    if price is None:
        _prices.pop(name, None)
        if name in _DEFAULTS:
            _prices[name] = _DEFAULTS[name]
        return
    if not isinstance(price, ModelPrice):
        raise InvalidInputError(f"price must be a ModelPrice, not {type(price).__name__}")
    _prices[name] = price


@attrs.frozen(kw_only=True)
class CostEstimate:
    """An estimated cost in USD (`Decimal`), computed from reported token counts.

    Attributes:
        usd: The estimate; tokens without a price count as zero.
        unpriced_tokens: Tokens the table has no price for (left out of ``usd``).
    """

    usd: Decimal
    unpriced_tokens: int = 0

    def __add__(self, other: CostEstimate) -> CostEstimate:
        """The sum of two estimates."""
        return CostEstimate(
            usd=self.usd + other.usd, unpriced_tokens=self.unpriced_tokens + other.unpriced_tokens
        )


def estimate_cost(
    usage: UsageMetadata | None,
    model: str | None,
    prices: Mapping[str, ModelPrice] | None = None,
) -> CostEstimate | None:
    """Estimate what a call cost from its usage and the model's prices.

    Prompt tokens are priced by modality (text or image; without per-modality details all
    as text), output tokens likewise, and thinking tokens at the text output price.

    Args:
        usage: The answer's ``usage_metadata``.
        model: The model that answered (``modelVersion``), with or without ``google/``.
        prices: A price table by canonical model name; None for `model_prices`.

    Returns:
        The estimate, or None when there is no usage or no price for the model.
    """
    if usage is None or not model:
        return None
    try:
        name = normalize_model_name(model)
    except InvalidInputError:
        return None
    price = (model_prices() if prices is None else prices).get(name)
    if price is None:
        return None
    # Image tokens at the image price; the rest of a total is text.
    prompt_images = usage.prompt_tokens_of("IMAGE")
    output_images = usage.image_tokens
    priced = [
        (prompt_images, price.input_image),
        (max(0, (usage.prompt_token_count or 0) - prompt_images), price.input_text),
        (output_images, price.output_image),
        (max(0, (usage.candidates_token_count or 0) - output_images), price.output_text),
        (usage.thinking_tokens, price.output_text),
    ]
    usd = sum((count * rate for count, rate in priced if rate is not None), Decimal(0))
    unpriced = sum(count for count, rate in priced if rate is None)
    return CostEstimate(usd=usd / _MILLION, unpriced_tokens=unpriced)


def total_usage(usages: Iterable[UsageMetadata | None]) -> UsageMetadata:
    """Sum every token count, per-modality details included, over several answers."""
    from ._types import UsageMetadata  # noqa: PLC0415 - import cycle

    present = [u for u in usages if u is not None]
    sums: dict[str, Any] = {}
    for field in attrs.fields(UsageMetadata):  # every count and details list; not extra
        if field.name.endswith("_details"):
            sums[field.name] = _sum_details(getattr(u, field.name) for u in present)
        elif field.name.endswith("_count"):
            sums[field.name] = sum(getattr(u, field.name) or 0 for u in present)
    return UsageMetadata(**sums)


def _sum_details(lists: Iterable[Iterable[ModalityTokenCount]]) -> tuple[ModalityTokenCount, ...]:
    from ._types import ModalityTokenCount  # noqa: PLC0415 - import cycle

    sums: dict[str, int] = {}
    for items in lists:
        for item in items:
            key = item.modality or "MODALITY_UNSPECIFIED"
            sums[key] = sums.get(key, 0) + (item.token_count or 0)
    return tuple(ModalityTokenCount(modality=m, token_count=c) for m, c in sums.items())
