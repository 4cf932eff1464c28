"""Several variations of one prompt: n concurrent calls gathered into one result.

Gemini image models reject ``candidateCount`` > 1, so ``generate_image(..., n=4)`` makes
four calls at once on the client's pool, each under its retries and cooldown.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
import attrs

from . import _constants as consts
from ._errors import InvalidInputError, RouterHubError, VariationsFailedError
from ._images import GeneratedImage
from ._pricing import CostEstimate, total_usage
from ._types import GenerateContentResponse, UsageMetadata

__all__ = ["VariationFailure", "Variations", "VariationsFailedError", "run_variations"]


@attrs.frozen(kw_only=True)
class VariationFailure:
    """Why one variation gave no image.

    Attributes:
        index: The variation's position (0-based, in request order).
        seed: The seed it was sent with (None when no seed was given).
        error: The library exception: an API error, or `NoImageError` /
            `PromptBlockedError` for an answer without an image.
        response: The answer, when one came back without an image.
    """

    index: int
    seed: int | None
    error: RouterHubError
    response: GenerateContentResponse | None = None


@attrs.frozen(kw_only=True)
class Variations:
    """The result of ``generate_image(..., n=...)``: every image, in request order.

    Attributes:
        responses: One entry per variation, in request order; None where no answer came.
        seeds: The seed each variation was sent with (``seed, seed + 1, ...``).
        failures: The variations that gave no image, and why.
    """

    responses: tuple[GenerateContentResponse | None, ...]
    seeds: tuple[int | None, ...]
    failures: tuple[VariationFailure, ...] = ()

    @property
    def images(self) -> list[GeneratedImage]:
        """The final images of every variation that succeeded, in request order."""
        failed = {f.index for f in self.failures}
        return [
            image
            for index, response in enumerate(self.responses)
            if response is not None and index not in failed
            for image in response.images
        ]

    @property
    def ok(self) -> bool:
        """True when every variation returned an image."""
        return not self.failures

    @property
    def usage(self) -> UsageMetadata:
        """Token counts summed over every answer (answers without an image included)."""
        return total_usage(r.usage_metadata for r in self.responses if r is not None)

    @property
    def cost(self) -> CostEstimate | None:
        """The summed estimated cost of every answer; None when none could be priced."""
        costs = [r.cost for r in self.responses if r is not None]
        priced = [c for c in costs if c is not None]
        return sum(priced[1:], priced[0]) if priced else None


Call = Callable[[int | None], Awaitable[GenerateContentResponse]]
"""Makes one variation's call with the given seed."""


async def run_variations(
    call: Call, n: int, *, seed: int | None, require_all: bool = False
) -> Variations:
    """Run *n* calls at once (seeds ``seed + i``) and gather them in request order.

    Cancelling the caller cancels every call. With *require_all*, the first failure
    cancels the calls still running.

    Raises:
        InvalidInputError: *n* is not an int from 1 to `MAX_VARIATIONS`, or a call
            rejected its input (before sending).
        VariationsFailedError: none returned an image, or one failed with *require_all*.
    """
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= consts.MAX_VARIATIONS:
        raise InvalidInputError(f"n must be an int from 1 to {consts.MAX_VARIATIONS}, not {n!r}")
    seeds = tuple(None if seed is None else seed + i for i in range(n))
    responses: list[GenerateContentResponse | None] = [None] * n
    failures: list[VariationFailure] = []
    rejected: list[InvalidInputError] = []

    async def one(index: int, scope: anyio.CancelScope) -> None:
        try:
            responses[index] = response = await call(seeds[index])
            response.require_images()
        except InvalidInputError as exc:
            rejected.append(exc)
            scope.cancel()
        except RouterHubError as exc:
            failures.append(
                VariationFailure(
                    index=index, seed=seeds[index], error=exc, response=responses[index]
                )
            )
            if require_all:
                scope.cancel()

    async with anyio.create_task_group() as group:
        for index in range(n):
            group.start_soon(one, index, group.cancel_scope)
    if rejected:
        raise rejected[0]
    result = Variations(
        responses=tuple(responses),
        seeds=seeds,
        failures=tuple(sorted(failures, key=lambda f: f.index)),
    )
    failed = len(failures)
    if failed == n or (require_all and failed):
        first = result.failures[0]
        raise VariationsFailedError(
            f"{failed} of {n} variations failed; variation {first.index + 1}: {first.error}",
            variations=result,
        ) from first.error
    return result
