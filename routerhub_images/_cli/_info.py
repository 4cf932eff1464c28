"""The ``models`` and ``emulator`` commands: what the library knows, and a local server."""

from __future__ import annotations

import importlib.util

import click

from routerhub_images._constants import API_KEY_ENV, BASE_URL_ENV, DEFAULT_MODEL
from routerhub_images._models import MODELS
from routerhub_images.emulator import DEFAULT_API_KEY, EmulatorConfig, serve
from routerhub_images.emulator._server import DEFAULT_HOST, DEFAULT_PORT

from ._errors import CliError

UVICORN_MISSING = (
    "the emulator server needs uvicorn: pip install 'routerhub-images[emulator]' "
    "(the other commands run the emulator in-process without it)"
)
"""The error when ``emulator`` is run without the ``emulator`` extra."""


@click.command()
def models() -> None:
    """List the known models with their image sizes and aspect ratios."""
    for index, info in enumerate(MODELS.values()):
        if index:
            click.echo()
        default = " (default)" if info.name == DEFAULT_MODEL else ""
        click.echo(click.style(info.name, bold=True) + default)
        click.echo(f"  {info.description}")
        click.echo(f"  image sizes:   {', '.join(info.image_sizes)}")
        click.echo(f"  aspect ratios: {', '.join(info.aspect_ratios)}")


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Interface to bind.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Delay before every answer.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0, min_open=True),
    metavar="RPM",
    help="Requests per minute before answering 429 (default: no limit).",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY",
    help=f"An API key to accept; repeatable [default: {DEFAULT_API_KEY}].",
)
def emulator(
    host: str, port: int, latency: float, rate_limit: float | None, keys: tuple[str, ...]
) -> None:
    """Serve the emulator over HTTP until interrupted (needs uvicorn).

    Point a client at it with ROUTERHUB_BASE_URL=http://HOST:PORT and a key it accepts.
    """
    if importlib.util.find_spec("uvicorn") is None:
        raise CliError(UVICORN_MISSING)
    config = EmulatorConfig(
        api_keys=keys or (DEFAULT_API_KEY,), latency=latency, rate_limit_rpm=rate_limit
    )
    shown_key = DEFAULT_API_KEY if not keys else "the key(s) given with --key"
    click.echo(
        f"emulator on http://{host}:{port}: set {BASE_URL_ENV}=http://{host}:{port} and "
        f"{API_KEY_ENV} to {shown_key}; Ctrl-C stops it",
        err=True,
    )
    serve(config, host, port)
