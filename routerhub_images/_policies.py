"""Opt-in call policies: ask again after a text-only answer, fall back to other models.

Both are off by default because every extra call is billed. Each re-ask and each
fallback is logged and counted in the answer's ``call`` (`CallInfo`).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

import attrs

from . import _constants as consts
from ._enums import FinishReason
from ._errors import InvalidInputError, UnavailableError
from ._models import normalize_model_name
from ._types import GenerateContentResponse

__all__ = ["CallPolicies", "run_with_policies"]

logger = logging.getLogger(consts.LOGGER_NAME)

_REASKED_REASONS = frozenset({None, FinishReason.STOP, FinishReason.NO_IMAGE})
"""Finish reasons of an image-less answer worth asking again (not a safety refusal)."""


def _non_negative(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInputError(f"{attribute.name} must be an int >= 0, not {value!r}")


def _model_names(names: Sequence[str]) -> tuple[str, ...]:
    if isinstance(names, str):
        raise InvalidInputError("fallback_models must be a list of model names, not a str")
    return tuple(normalize_model_name(name) for name in names)


@attrs.frozen(kw_only=True)
class CallPolicies:
    """Extra calls the client may make on your behalf; none by default (each is billed).

    Attributes:
        reask_no_image: Ask again, up to this many times, when an image call answers with
            no image part (text only, ``finishReason`` ``NO_IMAGE`` or ``STOP``); never
            after a blocked prompt or a safety refusal.
        fallback_models: Models to try in order when the requested one still answers
            ``UNAVAILABLE`` (503) after its retries.

    Raises:
        InvalidInputError: a negative ``reask_no_image`` or a malformed model name.
    """

    reask_no_image: int = attrs.field(default=0, validator=_non_negative)
    fallback_models: tuple[str, ...] = attrs.field(default=(), converter=_model_names)


Send = Callable[[str], Awaitable[GenerateContentResponse]]
"""Sends the request to one model (its canonical name) and returns the answer."""


async def run_with_policies(
    send: Send, model: str, policies: CallPolicies, *, wants_image: bool
) -> GenerateContentResponse:
    """Call *model*, then its fallbacks while each stays UNAVAILABLE; re-ask as allowed."""
    models = (model, *policies.fallback_models)
    for position, name in enumerate(models):
        try:
            response = await _reasking(send, name, policies.reask_no_image if wants_image else 0)
        except UnavailableError:
            if position == len(models) - 1:
                raise
            logger.warning("%s stayed unavailable; falling back to %s", name, models[position + 1])
            continue
        if position and response.call is not None:
            response = attrs.evolve(response, call=attrs.evolve(response.call, fallback_model=name))
        return response
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


async def _reasking(send: Send, model: str, reasks: int) -> GenerateContentResponse:
    response = await send(model)
    done = 0
    while done < reasks and _worth_reasking(response):
        done += 1
        logger.info(
            "%s answered without an image (%s); asking again (%d of %d)",
            model,
            response.finish_reason,
            done,
            reasks,
        )
        response = await send(model)
    if done and response.call is not None:
        response = attrs.evolve(response, call=attrs.evolve(response.call, reasks=done))
    return response


def _worth_reasking(response: GenerateContentResponse) -> bool:
    return (
        not response.images and not response.blocked and response.finish_reason in _REASKED_REASONS
    )
