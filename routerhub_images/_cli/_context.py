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
from routerhub_images._transport import Limits, TransportName
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
        base_url: ``--base-url``; None lets the client read ``$ROUTERHUB_BASE_URL``.
        force_emulator: ``--emulator``: use the in-process emulator even with a key.
        transport: ``--transport``: what carries the requests to the service (the
            in-process emulator needs none).
        limits: The client's pool limits; None for the library's defaults.
        debug: ``--debug``: tracebacks on errors and the library's debug log.
        emulator_app: The app the in-process emulator runs; tests inject one to script
            faults. Created on first use when None.
    """

    api_key: str | None = None
    base_url: str | None = None
    force_emulator: bool = False
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
        """
        if not self.uses_emulator:
            return AsyncImageClient(
                api_key=self.api_key,
                base_url=self.base_url,
                transport=self.transport,
                limits=self.limits,
            )
        click.echo(FORCED_NOTICE if self.force_emulator else NO_KEY_NOTICE, err=True)
        if self.emulator_app is None:
            self.emulator_app = create_app()
        return in_process_client(self.emulator_app)

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
