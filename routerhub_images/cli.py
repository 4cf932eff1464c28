"""Entry point of the ``routerhub-images`` console script; the commands live in ``_cli``.

The command line needs the ``cli`` extra (click and rich), which a library user need not
install. Without it, ``main`` prints one line naming the extra and exits with code 3
(``ExitCode.INPUT``, the command line's code for a missing optional dependency).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from ._cli import ExitCode, main

__all__ = ["ExitCode", "main"]

CLI_EXTRA = "routerhub-images[cli]"
"""The extra that installs what the command line needs."""

CLI_PACKAGES = ("click", "rich")
"""The packages of the ``cli`` extra."""

MISSING_EXTRA_EXIT_CODE = 3
"""``ExitCode.INPUT``, which cannot be imported without click."""


def __getattr__(name: str) -> Any:
    """Load ``ExitCode`` and ``main`` from ``_cli``; ``main`` works without the extra too."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        from . import _cli  # noqa: PLC0415 - click and rich are an optional extra
    except ModuleNotFoundError as exc:
        if name != "main" or (exc.name or "").partition(".")[0] not in CLI_PACKAGES:
            raise
        return _missing_extra
    return getattr(_cli, name)


def _missing_extra(*args: object, **kwargs: object) -> NoReturn:
    """Say which extra the command line needs, and exit."""
    print(
        f"error: the routerhub-images command line needs click and rich: pip install '{CLI_EXTRA}'",
        file=sys.stderr,
    )
    sys.exit(MISSING_EXTRA_EXIT_CODE)
