"""What the global options decide: which service to call, and how to run one call on it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import click

from routerhub_images import _constants as consts
from routerhub_images._client import AsyncImageClient
from routerhub_images._config import Limits, TransportName
from routerhub_images._errors import InvalidInputError
from routerhub_images._models import MODELS, model_info
from routerhub_images.emulator import EmulatorApp, create_app, in_process_client

from ._errors import to_cli_error
from ._text import printable

T = TypeVar("T")

NO_KEY_NOTICE = f"no {consts.API_KEY_ENV} set: using the built-in emulator (no network, no credits)"
"""Printed on stderr when a command falls back to the emulator for want of a key."""

FORCED_NOTICE = "--emulator: using the built-in emulator (no network, no credits)"
"""Printed on stderr when ``--emulator`` asked for the emulator."""


@dataclasses.dataclass
class CliState:
    """The global options, shared by every command through ``click``'s context object.

    Attributes:
        api_key: The key from ``--api-key`` or ``$ROUTERHUB_API_KEY``; None when unset.
        base_url: ``--base-url`` or ``$ROUTERHUB_BASE_URL`` (None with ``--emulator``);
            either one needs a key.
        base_url_from_env: Whether ``base_url`` came from ``$ROUTERHUB_BASE_URL``.
        force_emulator: ``--emulator``: use the in-process emulator even with a key.
        allow_insecure_http: ``--allow-insecure-http``: send the key over ``http://``
            to a host that is not loopback.
        strict_options: False with ``--no-strict-options``: let aspect ratios and image
            sizes through that the model table does not list.
        transport: ``--transport``: what carries the requests to the service (the
            in-process emulator needs none).
        limits: The client's pool limits; None for the library's defaults.
        debug: ``--debug``: tracebacks on errors and the library's debug log.
        emulator_app: The app the in-process emulator runs; tests inject one to script
            faults. Created on first use when None.
    """

    api_key: str | None = None
    base_url: str | None = None
    base_url_from_env: bool = False
    force_emulator: bool = False
    allow_insecure_http: bool = False
    strict_options: bool = True
    transport: TransportName = "httpx"
    limits: Limits | None = None
    debug: bool = False
    emulator_app: EmulatorApp | None = None

    @property
    def uses_emulator(self) -> bool:
        """Whether commands run against the in-process emulator."""
        return self.force_emulator or not self.api_key

    def open_client(self) -> AsyncImageClient:
        """Create the client the global options ask for, announcing the emulator on stderr.

        Raises:
            ConfigurationError: the key or base URL cannot work (the caller reports it).
            click.UsageError: a base URL without a key (the emulator would ignore it).
        """
        if self.base_url and not self.api_key:
            raise click.UsageError(self._no_key_message())
        if not self.uses_emulator:
            return AsyncImageClient(
                api_key=self.api_key,
                base_url=self.base_url,
                transport=self.transport,
                limits=self.limits,
                allow_insecure_http=self.allow_insecure_http,
                strict_options=self.strict_options,
            )
        click.echo(FORCED_NOTICE if self.force_emulator else NO_KEY_NOTICE, err=True)
        if self.emulator_app is None:
            self.emulator_app = create_app()
        return in_process_client(self.emulator_app, strict_options=self.strict_options)

    def _no_key_message(self) -> str:
        if not self.base_url_from_env:
            return f"--base-url needs an API key: pass --api-key or set {consts.API_KEY_ENV}."
        return (
            f"${consts.BASE_URL_ENV} needs an API key, as --base-url does: pass --api-key or "
            f"set {consts.API_KEY_ENV} (or unset {consts.BASE_URL_ENV} to use the emulator)."
        )

    def run(self, call: Callable[[AsyncImageClient], Awaitable[T]]) -> T:
        """Open a client, await ``call(client)`` on a new event loop, and close the client.

        Library and OS errors come out as a `CliError` carrying the right exit code.
        """

        async def main() -> T:
            async with self.open_client() as client:
                return await call(client)

        return self.guard(lambda: asyncio.run(main()))

    def guard(self, call: Callable[[], T]) -> T:
        """Return ``call()``; an exception comes out as a `CliError` with the right exit code."""
        try:
            return call()
        except Exception as error:
            raise self.cli_error(error) from error

    def cli_error(self, error: BaseException) -> click.ClickException:
        """The `CliError` for *error*, with the key redacted (and a traceback if debugging)."""
        if isinstance(error, click.ClickException):
            return error
        return to_cli_error(error, secret=self.api_key, debug=self.debug)


def warn_if_unknown_model(name: str | None) -> None:
    """Warn on stderr that a well-formed model the table does not know is sent anyway.

    A malformed name is left to the client, which refuses it with a typed error.
    """
    try:
        known = name is None or model_info(name) is not None
    except InvalidInputError:
        return
    if not known:
        click.echo(
            f"warning: model {name!r} is not one this version knows ({', '.join(MODELS)}); "
            "sending it anyway",
            err=True,
        )


class _PrintableFormatter(logging.Formatter):
    """Log lines may quote the server (error messages): no terminal controls."""

    def format(self, record: logging.LogRecord) -> str:
        return printable(super().format(record))


def enable_debug_logging() -> Callable[[], None]:
    """Send the library's debug log to stderr (it never holds the key or a body).

    Returns:
        A function that undoes it, for ``ctx.call_on_close``.
    """
    logger = logging.getLogger(consts.LOGGER_NAME)
    handler = logging.StreamHandler()
    handler.setFormatter(_PrintableFormatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)

    def undo() -> None:
        logger.removeHandler(handler)
        logger.setLevel(previous)

    return undo


no_strict_options = click.option(
    "--no-strict-options",
    "strict_options",
    is_flag=True,
    flag_value=False,
    default=True,
    help="Send aspect ratios and image sizes the model table does not list yet.",
)
"""The option of every command that checks image options against the model table."""
