"""Entry point of the ``routerhub-images`` console script; the commands live in ``_cli``."""

from __future__ import annotations

from ._cli import ExitCode, main

__all__ = ["ExitCode", "main"]
