"""The ``routerhub-images`` command group and its global options."""

from __future__ import annotations

import click

from routerhub_images import __version__
from routerhub_images._constants import API_KEY_ENV
from routerhub_images._transport import TransportName

from ._batch import batch
from ._context import CliState, enable_debug_logging
from ._images import edit, generate
from ._info import emulator, models

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(context_settings=CONTEXT_SETTINGS)
@click.option(
    "--api-key",
    envvar=API_KEY_ENV,
    show_envvar=True,
    metavar="KEY",
    help="RouterHub API key. Without one, commands use the built-in emulator.",
)
@click.option(
    "--base-url",
    metavar="URL",
    help="Service URL [default: $ROUTERHUB_BASE_URL, then https://api.routerhub.ai].",
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
    transport: TransportName,
    debug: bool,
) -> None:
    r"""Generate and edit images with RouterHub's Gemini-format image API.

    With no API key (or with --emulator) every command runs against a built-in
    emulator: real PNGs, no network, no credits.

    \b
    Exit codes: 0 ok, 1 other failure, 2 usage error, 3 input error
    (missing or unreadable file, bad option value, empty prompt), 4 API error
    (including no image returned), 5 some batch jobs failed.
    """
    if force_emulator and base_url:
        raise click.UsageError("--emulator and --base-url cannot be used together.")
    if base_url and not (api_key and api_key.strip()):
        raise click.UsageError(f"--base-url needs an API key: pass --api-key or set {API_KEY_ENV}.")
    state = ctx.ensure_object(CliState)
    state.api_key = api_key.strip() if api_key and api_key.strip() else None
    state.base_url = base_url
    state.force_emulator = force_emulator
    state.transport = transport
    state.debug = debug
    if debug:
        ctx.call_on_close(enable_debug_logging())


for _command in (generate, edit, batch, models, emulator):
    main.add_command(_command)
