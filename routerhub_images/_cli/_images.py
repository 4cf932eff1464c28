"""The ``generate`` and ``edit`` commands: one call, then save every image and print the text."""

from __future__ import annotations

import dataclasses
import functools
import os
import pathlib
import tempfile
from collections.abc import Callable
from typing import Any

import click

from routerhub_images._constants import DEFAULT_MODEL, MAX_VARIATIONS
from routerhub_images._images import _EXTENSIONS, GeneratedImage
from routerhub_images._types import GenerateContentResponse
from routerhub_images._variations import Variations

from ._context import CliState, no_strict_options, warn_if_unknown_model
from ._errors import APIError, InputError
from ._text import printable

SUFFIX_TYPES = {ext: mime for mime, ext in _EXTENSIONS.items()} | {".jpeg": "image/jpeg"}
"""File suffixes that name an image format, and the MIME type each one claims."""

DEFAULT_NAME = "image.png"
"""The file name used when ``-o`` names a directory."""


@dataclasses.dataclass(frozen=True)
class ImageOptions:
    """The generation options ``generate`` and ``edit`` share (None: the server decides).

    ``strict_options`` False lets through sizes and ratios the model table does not list.
    """

    model: str | None
    aspect_ratio: str | None
    image_size: str | None
    temperature: float | None
    seed: int | None
    system: str | None
    strict_options: bool


_OPTION_NAMES = tuple(field.name for field in dataclasses.fields(ImageOptions))


def image_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add ``-o``, ``--force`` and the shared generation options; the command gets ``options``."""

    @functools.wraps(command)
    def collect(*args: Any, **kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in _OPTION_NAMES}
        command(*args, options=ImageOptions(**values), **kwargs)

    decorators = [
        click.option(
            "-o",
            "--output",
            metavar="PATH",
            help="Where to save the image: a file, or a directory (ending in / or existing) "
            f"to save DIR/{DEFAULT_NAME}. Several images become NAME-1.png, NAME-2.png, ... "
            "Missing directories are created. Checked before the request is sent.",
        ),
        click.option("--force", is_flag=True, help="Overwrite an existing output file."),
        click.option(
            "-m",
            "--model",
            metavar="NAME",
            help=f"Model to use [default: {DEFAULT_MODEL}]. A name this version does not "
            "know is sent anyway, with a warning.",
        ),
        click.option("-a", "--aspect-ratio", metavar="W:H", help="Aspect ratio, e.g. 16:9."),
        click.option("-s", "--image-size", metavar="SIZE", help="Image size: 512, 1K, 2K or 4K."),
        click.option("-t", "--temperature", type=float, help="Sampling temperature."),
        click.option("--seed", type=int, help="Seed for reproducible output."),
        click.option("--system", metavar="TEXT", help="A system instruction."),
        no_strict_options,
    ]
    wrapped: Callable[..., None] = collect
    for decorator in reversed(decorators):
        wrapped = decorator(wrapped)
    return wrapped


@click.command()
@click.argument("prompt")
@image_options
@click.option("--text-only", is_flag=True, help="Ask for text only; nothing is saved.")
@click.option(
    "-n",
    "count",
    type=click.IntRange(1, MAX_VARIATIONS),
    help="Make N variations at once (N calls, each billed; --seed S gives S, S+1, ...); "
    "the images are saved numbered, NAME-1.png, NAME-2.png, ...",
)
@click.pass_obj
def generate(
    state: CliState,
    /,
    *,
    prompt: str,
    output: str | None,
    force: bool,
    text_only: bool,
    count: int | None,
    options: ImageOptions,
) -> None:
    """Generate an image from PROMPT and save it to -o/--output.

    Prints any text the model returns, then each saved file with its size.
    """
    if text_only and output is not None:
        raise click.UsageError("--text-only saves nothing: it cannot be used with -o/--output.")
    if text_only and count is not None:
        raise click.UsageError("--text-only saves nothing: it cannot be used with -n.")
    target = None if text_only else _checked_output(output, force=force)
    _prepare(state, options)
    if count is not None and target is not None:
        variations = state.run(
            lambda client: client.generate_image(
                prompt,
                model=options.model,
                aspect_ratio=options.aspect_ratio,
                image_size=options.image_size,
                seed=options.seed,
                temperature=options.temperature,
                system_instruction=options.system,
                n=count,
            )
        )
        _save_variations(variations, target, force=force)
        return
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
    if target is None:
        _print_text(state, response)
    else:
        _save_all(state, response, target, force=force)


@click.command()
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.argument("prompt")
@image_options
@click.option(
    "--session",
    metavar="PATH",
    help="Continue the chat session saved in PATH (started if missing) with PROMPT; "
    "IMAGE is then optional and -o defaults to PATH-NN.png.",
)
@click.pass_obj
def edit(
    state: CliState,
    /,
    *,
    images: tuple[str, ...],
    prompt: str,
    output: str | None,
    force: bool,
    session: str | None,
    options: ImageOptions,
) -> None:
    """Edit or combine IMAGE files following PROMPT; save to -o/--output.

    Prints any text the model returns, then each saved file with its size.
    """
    if session is not None:
        from ._chat import continue_session  # noqa: PLC0415 - _chat imports this module

        continue_session(
            state,
            pathlib.Path(session),
            prompt,
            images=images,
            options=options,
            output=output,
            force=force,
        )
        return
    if not images:
        raise click.UsageError("Missing argument 'IMAGE...'.")
    target = _checked_output(output, force=force)
    _prepare(state, options)
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
    _save_all(state, response, target, force=force)


def _prepare(state: CliState, options: ImageOptions) -> None:
    """Apply the options that configure the client, and warn about an unknown model."""
    state.strict_options = options.strict_options
    warn_if_unknown_model(options.model)


def _checked_output(output: str | None, *, force: bool) -> pathlib.Path:
    """The file ``-o`` names, checked before any request is sent (so before any cost).

    Raises:
        click.UsageError: no ``-o``.
        InputError: its directory cannot be made or written, or it exists without *force*.
    """
    if output is None:
        raise click.UsageError("Missing option '-o' / '--output'.")
    path = pathlib.Path(output)
    if output.endswith(("/", os.sep)) or path.is_dir():
        path /= DEFAULT_NAME
    _check_directory(path.parent)
    _check_overwrite(path, force=force)
    if not path.suffix:  # saved with the suffix of the bytes, most often .png
        _check_overwrite(path.with_name(path.name + ".png"), force=force)
    return path


def _check_directory(directory: pathlib.Path) -> None:
    """Raise `InputError` unless files can be created in *directory* (made if missing)."""
    existing = directory
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise InputError(f"cannot save into {directory}: {existing} is not a directory")
    try:
        # The only reliable test: permissions, read-only mounts and /proc all show here.
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as error:
        raise InputError(f"cannot write to {existing}: {error.strerror or error}") from None


def _check_overwrite(path: pathlib.Path, *, force: bool) -> None:
    """Raise `InputError` if *path* is a directory, or a file and *force* is off."""
    if path.is_dir():
        raise InputError(f"cannot save to {path}: it is a directory")
    if path.exists() and not force:
        raise InputError(f"{path} exists: pass --force to overwrite it")


def _print_text(state: CliState, response: GenerateContentResponse) -> None:
    """Print the answer's text; an answer without any is an API failure."""
    if response.blocked:
        state.guard(response.require_images)
    if response.text is None:
        reason = response.finish_reason or "no text part"
        raise APIError(f"no text returned ({reason})")
    click.echo(printable(response.text))


def _save_all(
    state: CliState,
    response: GenerateContentResponse,
    output: pathlib.Path,
    *,
    force: bool = False,
) -> None:
    """Print the text, save every final image and print where each went."""
    if response.text:
        click.echo(printable(response.text))
    _save_images(state.guard(response.require_images), output, force=force)


def _save_variations(variations: Variations, output: pathlib.Path, *, force: bool) -> None:
    """Say which variations failed (on stderr), then save every image, numbered."""
    for failure in variations.failures:
        message = printable(str(failure.error))
        click.echo(f"warning: variation {failure.index + 1} failed: {message}", err=True)
    _save_images(variations.images, output, force=force, numbered=len(variations.seeds) > 1)


def _save_images(
    images: list[GeneratedImage], output: pathlib.Path, *, force: bool, numbered: bool = False
) -> None:
    """Save each image (numbered when there are several) and print where it went."""
    for index, image in enumerate(images, start=1):
        count = max(len(images), 2 if numbered else 1)
        path = target_path(output, image, index=index, count=count)
        _check_overwrite(path, force=force)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            image.save(path)
        except OSError as error:
            # Named by the user's path: the error's own names the temporary file.
            raise InputError(f"cannot save {path}: {error.strerror or error}") from error
        click.echo(f"saved {path} ({_describe(image)})")


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
