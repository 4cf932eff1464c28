"""Exit codes, and turning any failure into one line on stderr with the right code."""

from __future__ import annotations

import enum
import traceback
from typing import IO, Any

import click

from routerhub_images._config import INSECURE_HTTP_HINT
from routerhub_images._errors import (
    APIConnectionError,
    APIStatusError,
    ConfigurationError,
    ImageTypeError,
    InvalidInputError,
    NoImageError,
    ResponseError,
    RouterHubError,
)
from routerhub_images._models import STRICT_OPTIONS_HINT

from ._text import printable

REDACTED = "<redacted>"
"""What the API key is replaced with wherever it would be printed."""

CLI_HINTS = {
    STRICT_OPTIONS_HINT: "pass --no-strict-options for values newer than this table",
    INSECURE_HTTP_HINT: "pass --allow-insecure-http",
}
"""The library's hints, which name Python arguments, and what the CLI says instead."""


class ExitCode(enum.IntEnum):
    """The process exit codes of ``routerhub-images``; each failure class has its own."""

    OK = 0
    """Everything worked."""
    FAILURE = 1
    """Anything else: a bug, an unexpected exception (``--debug`` shows its traceback)."""
    USAGE = 2
    """The command line is wrong (click's own code for usage errors)."""
    INPUT = 3
    """Our side is wrong: missing or unreadable image, bad aspect ratio, empty prompt, an
    output path that cannot be written, a missing optional dependency, ..."""
    API = 4
    """The service failed: an API error, no answer, a malformed answer, or no image."""
    BATCH_PARTIAL = 5
    """A batch finished but some of its jobs failed."""
    INTERRUPTED = 130
    """Ctrl-C (SIGINT), as shells report a process killed by it."""


class CliError(click.ClickException):
    """A failure to report as ``error: message`` on stderr; each subclass has its exit code."""

    exit_code = ExitCode.FAILURE

    def __init__(self, message: str):
        # A newline in a server message would break the one-line promise.
        super().__init__(" ".join(printable(message).split()))

    def show(self, file: IO[Any] | None = None) -> None:
        """Print ``error: <message>`` to stderr (styled only on a terminal)."""
        click.echo(f"{click.style('error:', fg='red', bold=True)} {self.message}", err=True)


class InputError(CliError):
    """Exit code 3: the user's input is wrong."""

    exit_code = ExitCode.INPUT


class APIError(CliError):
    """Exit code 4: the service failed or returned no image."""

    exit_code = ExitCode.API


class BatchFailedError(CliError):
    """Exit code 5: some batch jobs failed."""

    exit_code = ExitCode.BATCH_PARTIAL


_ERRORS: dict[int, type[CliError]] = {
    ExitCode.INPUT: InputError,
    ExitCode.API: APIError,
    ExitCode.BATCH_PARTIAL: BatchFailedError,
}


def exit_code_for(error: BaseException) -> ExitCode:
    """The exit code of a library (or OS) exception."""
    if isinstance(error, InvalidInputError | ConfigurationError | ImageTypeError | OSError):
        return ExitCode.INPUT
    if isinstance(error, APIStatusError | APIConnectionError | ResponseError | NoImageError):
        return ExitCode.API
    return ExitCode.FAILURE


def describe(error: BaseException) -> str:
    """One human line for an exception, saying how hard we tried when it was an API call."""
    if isinstance(error, OSError) and error.strerror:
        where = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{where}"
    message = str(error) or type(error).__name__
    for library_hint, cli_hint in CLI_HINTS.items():
        message = message.replace(library_hint, cli_hint)
    if isinstance(error, RouterHubError) and not isinstance(error, InvalidInputError):
        call = error.call
        if call is not None and call.attempts > 1:
            message += f" (after {call.attempts} attempts)"
        request_id = getattr(error, "request_id", None)
        if request_id:
            message += f" [request id {request_id}]"
    if exit_code_for(error) == ExitCode.FAILURE and not isinstance(error, RouterHubError):
        message = f"{type(error).__name__}: {message} (rerun with --debug for a traceback)"
    return message


def redact(text: str, secret: str | None) -> str:
    """Replace every occurrence of *secret* in *text*; a too-short secret is left alone."""
    if not secret or len(secret) < 4:
        return text
    return text.replace(secret, REDACTED)


def to_cli_error(error: BaseException, *, secret: str | None, debug: bool) -> CliError:
    """Turn an exception into a `CliError`; with *debug*, print its traceback first."""
    # Controls go before redacting: one inside the key would hide it from `redact`.
    if debug:
        formatted = "".join(traceback.format_exception(error))
        click.echo(redact(printable(formatted), secret), err=True, nl=False)
    cls = _ERRORS.get(exit_code_for(error), CliError)
    return cls(redact(printable(describe(error)), secret))
