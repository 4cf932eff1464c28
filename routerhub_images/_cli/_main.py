"""The ``routerhub-images`` command group and its global options."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from routerhub_images import __version__
from routerhub_images._config import TransportName
from routerhub_images._constants import API_KEY_ENV, BASE_URL_ENV

from ._batch import batch
from ._chat import chat
from ._context import CliState, enable_debug_logging
from ._errors import ExitCode
from ._images import edit, generate
from ._info import emulator, models

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# "\b" keeps click from rewrapping the paragraph (it only works outside a raw docstring).
EXIT_CODES_HELP = """\b
Exit codes:
  0    ok
  1    other failure (a bug: rerun with --debug for a traceback)
  2    usage error
  3    input error: missing or unreadable file, bad option value, empty prompt,
       an output path that cannot be written, a missing optional dependency
  4    API error (including no image returned)
  5    some batch jobs failed
  130  interrupted (Ctrl-C)"""
"""The epilog of ``--help``: every exit code the command line uses."""


class _Group(click.Group):
    """The command group; Ctrl-C exits with 130 instead of click's ``Aborted!`` and 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise click.exceptions.Exit(ExitCode.INTERRUPTED) from None


@click.group(cls=_Group, context_settings=CONTEXT_SETTINGS, epilog=EXIT_CODES_HELP)
@click.option(
    "--api-key",
    envvar=API_KEY_ENV,
    show_envvar=True,
    metavar="KEY",
    help="RouterHub API key. Without one, commands use the built-in emulator.",
)
@click.option(
    "--base-url",
    envvar=BASE_URL_ENV,
    show_envvar=True,
    metavar="URL",
    help="Service URL [default: https://api.routerhub.ai]. Needs an API key, from the "
    "option or the environment alike: without one it is a usage error, not the emulator.",
)
@click.option(
    "--allow-insecure-http",
    is_flag=True,
    help="Send the key over http:// to a host that is not loopback (clear text).",
)
@click.option(
    "--emulator",
    "force_emulator",
    is_flag=True,
    help="Use the built-in emulator even when a key is set (no network, no credits).",
)
@click.option(
    "--transport",
    type=click.Choice(["httpx", "aiohttp"]),
    default="httpx",
    show_default=True,
    help="What carries the requests: httpx's own pool, or aiohttp (less CPU per request; "
    "needs routerhub-images[aiohttp]). The built-in emulator runs in process and ignores it.",
)
@click.option("--debug", is_flag=True, help="Show tracebacks and the library's debug log.")
@click.version_option(__version__, "-V", "--version", prog_name="routerhub-images")
@click.pass_context
def main(
    ctx: click.Context,
    /,
    *,
    api_key: str | None,
    base_url: str | None,
    force_emulator: bool,
    allow_insecure_http: bool,
    transport: TransportName,
    debug: bool,
) -> None:
    """Generate and edit images with RouterHub's Gemini-format image API.

    With no API key (or with --emulator) every command runs against a built-in
    emulator: real PNGs, no network, no credits.
    """
    from_env = ctx.get_parameter_source("base_url") is ParameterSource.ENVIRONMENT
    if force_emulator and base_url and not from_env:
        raise click.UsageError("--emulator and --base-url cannot be used together.")
    state = ctx.ensure_object(CliState)
    state.api_key = api_key.strip() if api_key and api_key.strip() else None
    state.base_url = None if force_emulator else base_url
    state.base_url_from_env = from_env
    state.force_emulator = force_emulator
    state.allow_insecure_http = allow_insecure_http
    state.transport = transport
    state.debug = debug
    if debug:
        ctx.call_on_close(enable_debug_logging())


for _command in (generate, edit, chat, batch, models, emulator):
    main.add_command(_command)
