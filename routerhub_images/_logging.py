"""Opt-in logging from the environment, like peers' ``OPENAI_LOG``.

``ROUTERHUB_IMAGES_LOG=debug`` (or ``info``) attaches a stderr handler to the
``routerhub_images`` logger. Nothing the library logs contains a key or a body.
"""

from __future__ import annotations

import logging
import os

from ._constants import LOG_ENV, LOGGER_NAME

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}

_handler = logging.StreamHandler()
_handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))


def setup_from_env() -> None:
    """Attach a stderr handler at the level ``$ROUTERHUB_IMAGES_LOG`` names, if set."""
    level = _LEVELS.get(os.environ.get(LOG_ENV, "").strip().lower())
    if level is None:
        return
    logger = logging.getLogger(LOGGER_NAME)
    if _handler not in logger.handlers:
        logger.addHandler(_handler)
    logger.setLevel(level)
