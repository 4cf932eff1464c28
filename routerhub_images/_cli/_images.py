"""The ``generate`` and ``edit`` commands: one call, then save every image and print the text."""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Callable
from typing import Any

import click

from routerhub_images._constants import DEFAULT_MODEL
from routerhub_images._images import _EXTENSIONS, GeneratedImage
from routerhub_images._types import GenerateContentResponse

from ._context import CliState
from ._errors import APIError
from ._text import printable

SUFFIX_TYPES = {ext: mime for mime, ext in _EXTENSIONS.items()} | {".jpeg": "image/jpeg"}
"""File suffixes that name an image format, and the MIME type each one claims."""


@dataclasses.dataclass(frozen=True)
class ImageOptions:
    """The generation options ``generate`` and ``edit`` share (None: the server decides)."""

    model: str | None
    aspect_ratio: str | None
    image_size: str | None
    temperature: float | None
    seed: int | None
    system: str | None


_OPTION_NAMES = tuple(field.name for field in dataclasses.fields(ImageOptions))


def image_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add ``-o`` and the shared generation options; the command gets ``options``."""

    @functools.wraps(command)
    def collect(*args: Any, **kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in _OPTION_NAMES}
        command(*args, options=ImageOptions(**values), **kwargs)

    decorators = [
        click.option(
            "-o",
            "--output",
            type=click.Path(dir_okay=False, path_type=pathlib.Path),
            help="Where to save the image; several images become NAME-1.png, NAME-2.png, ... "
            "Missing directories are created.",
        ),
        click.option(
            "-m", "--model", metavar="NAME", help=f"Model to use [default: {DEFAULT_MODEL}]."
        ),
        click.option("-a", "--aspect-ratio", metavar="W:H", help="Aspect ratio, e.g. 16:9."),
        click.option("-s", "--image-size", metavar="SIZE", help="Image size: 512, 1K, 2K or 4K."),
        click.option("-t", "--temperature", type=float, help="Sampling temperature."),
        click.option("--seed", type=int, help="Seed for reproducible output."),
        click.option("--system", metavar="TEXT", help="A system instruction."),
    ]
    wrapped: Callable[..., None] = collect
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


@click.command()
@click.argument("prompt")
@image_options
@click.option("--text-only", is_flag=True, help="Ask for text only; nothing is saved.")
@click.pass_obj
def generate(
    state: CliState,
    /,
    *,
    prompt: str,
    output: pathlib.Path | None,
    text_only: bool,
    options: ImageOptions,
) -> None:
    """Generate an image from PROMPT and save it to -o/--output.

    Prints any text the model returns, then each saved file with its size.
    """
    if output is None and not text_only:
        raise click.UsageError("Missing option '-o' / '--output'.")
    response = state.run(
        lambda client: client.generate_image(
            prompt,
            model=options.model,
            aspect_ratio=options.aspect_ratio,
            image_size=options.image_size,
            seed=options.seed,
            temperature=options.temperature,
            text_only=text_only,
            system_instruction=options.system,
        )
    )
    if text_only:
        _print_text(state, response)
    else:
        assert output is not None  # noqa: S101 - checked above
        _save_all(state, response, output)


@click.command()
@click.argument("images", nargs=-1, required=True, metavar="IMAGE...")
@click.argument("prompt")
@image_options
@click.pass_obj
def edit(
    state: CliState,
    /,
    *,
    images: tuple[str, ...],
    prompt: str,
    output: pathlib.Path | None,
    options: ImageOptions,
) -> None:
    """Edit or combine IMAGE files following PROMPT; save to -o/--output.

    Prints any text the model returns, then each saved file with its size.
    """
    if output is None:
        raise click.UsageError("Missing option '-o' / '--output'.")
    response = state.run(
        lambda client: client.edit_image(
            list(images),
            prompt,
            model=options.model,
            aspect_ratio=options.aspect_ratio,
            image_size=options.image_size,
            seed=options.seed,
            temperature=options.temperature,
            system_instruction=options.system,
        )
    )
    _save_all(state, response, output)


def _print_text(state: CliState, response: GenerateContentResponse) -> None:
    """Print the answer's text; an answer without any is an API failure."""
    if response.blocked:
        state.guard(response.require_images)
    if response.text is None:
        reason = response.finish_reason or "no text part"
        raise APIError(f"no text returned ({reason})")
    click.echo(printable(response.text))


def _save_all(state: CliState, response: GenerateContentResponse, output: pathlib.Path) -> None:
    """Print the text, save every final image and print where each went."""
    if response.text:
        click.echo(printable(response.text))
    images = state.guard(response.require_images)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        for index, image in enumerate(images, start=1):
            path = target_path(output, image, index=index, count=len(images))
            image.save(path)
            click.echo(f"saved {path} ({_describe(image)})")
    except OSError as error:
        raise state.cli_error(error) from error


def target_path(
    output: pathlib.Path, image: GeneratedImage, *, index: int, count: int
) -> pathlib.Path:
    """Where image *index* (1-based) of *count* goes, given the user's ``--output``.

    Several images are numbered (``out-1.png``, ``out-2.png``). The user's suffix is kept
    unless it names another format than the bytes are: then a warning goes to stderr and
    the right suffix is used. A name without a suffix gets one.
    """
    path = output if count == 1 else output.with_name(f"{output.stem}-{index}{output.suffix}")
    suffix = path.suffix.lower()
    claimed = SUFFIX_TYPES.get(suffix)
    actual = image.mime_type
    if image.extension == ".bin" or claimed == actual:
        return path
    if not suffix:
        return path.with_name(path.name + image.extension)
    if claimed is None:
        return path
    fixed = path.with_suffix(image.extension)
    click.echo(
        f"warning: the image is {_format_name(actual)}, not {_format_name(claimed)}: "
        f"saving it as {fixed}",
        err=True,
    )
    return fixed


def _format_name(mime_type: str) -> str:
    # Unsniffable bytes keep the server's declared MIME type: print it safely.
    return printable(mime_type.rpartition("/")[2].upper())


def _describe(image: GeneratedImage) -> str:
    size = f"{image.width}x{image.height}" if image.width and image.height else "unknown size"
    return f"{size} {_format_name(image.mime_type)}, {len(image.data):,} bytes"
