"""The ``models`` and ``emulator`` commands: what the library knows, and a local server."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable

import click

from routerhub_images._constants import API_KEY_ENV, BASE_URL_ENV, DEFAULT_MODEL
from routerhub_images._models import MODELS
from routerhub_images.emulator import DEFAULT_API_KEY, EmulatorConfig, Fault, serve
from routerhub_images.emulator._server import DEFAULT_HOST, DEFAULT_PORT

from ._errors import InputError

UVICORN_MISSING = (
    "the emulator server needs uvicorn: pip install 'routerhub-images[emulator]' "
    "(the other commands run the emulator in-process without it)"
)
"""The error when ``emulator`` is run without the ``emulator`` extra."""


_NAMED_FAULTS: dict[str, Callable[[], Fault]] = {
    "html": Fault.html,
    "wrapped": lambda: Fault.wrapped(503),
    "disconnect": Fault.disconnect,
    "truncated-json": Fault.truncated_json,
    "bad-base64": Fault.bad_base64,
}


def _fault(name: str) -> Fault:
    """The fault a ``--fail`` value names: an HTTP status code or a named misbehaviour."""
    if name.isdigit() and 400 <= int(name) <= 599:
        return Fault.status(int(name))
    if name in _NAMED_FAULTS:
        return _NAMED_FAULTS[name]()
    raise click.BadParameter(
        f"{name!r} is neither an HTTP error code nor one of {', '.join(sorted(_NAMED_FAULTS))}",
        param_hint="--fail",
    )


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
    "--jitter",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="Up to this many extra seconds of random latency per answer.",
)
@click.option(
    "--burst",
    type=click.IntRange(min=1),
    metavar="N",
    help="Requests the rate limiter lets through at once (default: one minute's worth).",
)
@click.option(
    "--draft-images",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Gemini-3-style thought draft images sent before the final one.",
)
@click.option(
    "--fail",
    "failures",
    multiple=True,
    metavar="FAULT",
    help="Answer the next request with FAULT, in order; repeatable. FAULT is an HTTP code "
    f"(503, 429, ...) or one of: {', '.join(sorted(_NAMED_FAULTS))}.",
)
@click.option(
    "--key",
    "keys",
    multiple=True,
    metavar="KEY",
    help=f"An API key to accept; repeatable [default: {DEFAULT_API_KEY}].",
)
def emulator(  # noqa: PLR0917 - click passes one argument per option
    host: str,
    port: int,
    latency: float,
    rate_limit: float | None,
    jitter: float,
    burst: int | None,
    draft_images: int,
    failures: tuple[str, ...],
    keys: tuple[str, ...],
) -> None:
    """Serve the emulator over HTTP until interrupted (needs uvicorn).

    Point a client at it with ROUTERHUB_BASE_URL=http://HOST:PORT and a key it accepts.
    """
    if importlib.util.find_spec("uvicorn") is None:
        raise InputError(UVICORN_MISSING)  # the exit code of every missing extra
    faults = [_fault(name) for name in failures]
    config = EmulatorConfig(
        api_keys=keys or (DEFAULT_API_KEY,),
        latency=latency,
        latency_jitter=jitter,
        rate_limit_rpm=rate_limit,
        rate_limit_burst=burst,
        draft_images=draft_images,
    )
    shown_key = DEFAULT_API_KEY if not keys else "the key(s) given with --key"
    click.echo(
        f"emulator on http://{host}:{port}: set {BASE_URL_ENV}=http://{host}:{port} and "
        f"{API_KEY_ENV} to {shown_key}; Ctrl-C stops it",
        err=True,
    )
    serve(config, host, port, faults=faults)
