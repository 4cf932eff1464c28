"""Whether returned images honour the requested aspect ratio and image size.

Users of these models report ``aspectRatio`` and ``imageSize`` silently ignored; the
client compares each final image's pixel size (read from its header) with what was
asked, records the differences on the response and warns.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Sequence
from fractions import Fraction

import attrs

from . import _constants as consts
from ._images import GeneratedImage
from ._models import ratio_value, size_pixels

__all__ = ["ImageOptionsIgnoredWarning", "OptionMismatch", "option_mismatches", "warn_mismatches"]


class ImageOptionsIgnoredWarning(UserWarning):
    """A returned image does not have the requested aspect ratio or image size.

    Filter it like any warning category, e.g.
    ``warnings.simplefilter("ignore", ImageOptionsIgnoredWarning)``.
    """


@attrs.frozen(kw_only=True)
class OptionMismatch:
    """One requested image option a returned image does not match.

    Attributes:
        option: ``"aspect_ratio"`` or ``"image_size"``.
        requested: The value asked for (``"16:9"``, ``"2K"``).
        width: The returned image's width in pixels.
        height: The returned image's height in pixels.
        index: Which final image of the response (0-based).
    """

    option: str
    requested: str
    width: int
    height: int
    index: int = 0

    def __str__(self) -> str:
        return (
            f"{self.option} {self.requested} was requested but image {self.index + 1} "
            f"is {self.width}x{self.height}"
        )


def _ratio_matches(ratio: str, width: int, height: int) -> bool:
    if ":" not in ratio:
        return True  # not a ratio the check understands
    return abs(Fraction(width, height) / ratio_value(ratio) - 1) <= consts.RATIO_TOLERANCE


def _size_matches(size: str, width: int, height: int) -> bool:
    if not size.rstrip("K").isdigit():
        return True  # not a size the check understands
    # The edge of a size is that of its square image; other ratios keep about its area.
    edge = size_pixels(size)
    return math.isclose(width * height, edge * edge, rel_tol=consts.SIZE_AREA_TOLERANCE)


def option_mismatches(
    images: Sequence[GeneratedImage], *, aspect_ratio: str | None, image_size: str | None
) -> tuple[OptionMismatch, ...]:
    """The requested options each image does not match (images of unknown size pass).

    Sizes the checks do not understand (not ``NK`` or a number) are not checked.
    """
    checks = (
        ("aspect_ratio", aspect_ratio, _ratio_matches),
        ("image_size", image_size, _size_matches),
    )
    found: list[OptionMismatch] = []
    for index, image in enumerate(images):
        width, height = image.width, image.height
        if not width or not height:
            continue
        found.extend(
            OptionMismatch(
                option=option, requested=requested, width=width, height=height, index=index
            )
            for option, requested, matches in checks
            if requested and not matches(requested, width, height)
        )
    return tuple(found)


def warn_mismatches(mismatches: Sequence[OptionMismatch], model: str) -> None:
    """Emit one `ImageOptionsIgnoredWarning` naming every mismatch, if there is any."""
    if mismatches:
        listed = "; ".join(str(m) for m in mismatches)
        warnings.warn(
            f"{model} ignored image options: {listed}",
            ImageOptionsIgnoredWarning,
            stacklevel=_caller_level(),
        )


_PACKAGE_DIR = os.path.dirname(__file__) + os.sep


def _caller_level() -> int:
    """The stacklevel of the nearest frame outside this package: the caller's own code.

    An awaited call keeps its callers' frames on the stack, so from an async call this
    names the line that awaited the library (from the sync facade's loop thread, the
    event loop's code).
    """
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
