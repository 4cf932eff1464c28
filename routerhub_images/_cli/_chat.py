"""The ``chat`` command (interactive conversational editing) and ``edit --session``."""

from __future__ import annotations

import functools
import pathlib
import sys

import anyio
import click

from routerhub_images._chat import AsyncChat
from routerhub_images._client import AsyncImageClient
from routerhub_images._errors import RouterHubError

from ._context import CliState
from ._images import ImageOptions, _checked_output, _prepare, _save_all, image_options
from ._text import printable

DEFAULT_SESSION = "chat.json"
"""Where ``chat`` keeps its session unless ``--session`` names another file."""

DEFAULT_PREFIX = "turn"
"""Each turn's image is saved as PREFIX-NN.png (NN: the turn number)."""

HELP = "commands: /save PATH (save the session there too), /undo, /quit (or end of input)"


def open_session(client: AsyncImageClient, path: pathlib.Path, options: ImageOptions) -> AsyncChat:
    """Resume the session saved at ``path``, or start one with ``options`` if there is none."""
    if path.exists():
        return AsyncChat.load(path, client=client)
    return client.chat(
        options.model,
        aspect_ratio=options.aspect_ratio,
        image_size=options.image_size,
        system_instruction=options.system,
    )


def _turn_path(prefix: str, turn: int) -> pathlib.Path:
    return pathlib.Path(f"{prefix}-{turn:02d}.png")


def continue_session(
    state: CliState,
    session: pathlib.Path,
    prompt: str,
    *,
    images: tuple[str, ...],
    options: ImageOptions,
    output: str | None,
    force: bool,
) -> None:
    """One turn of a saved session (``edit --session``): send, save the image and the session."""
    _prepare(state, options)

    async def turn(client: AsyncImageClient) -> None:
        chat = open_session(client, session, options)
        default = session.with_name(f"{session.stem}-{len(chat.images) + 1:02d}.png")
        target = _checked_output(output or str(default), force=force)
        response = await chat.send(prompt, images=list(images))
        _save_all(state, response, target, force=force)
        chat.save(session)
        click.echo(f"session saved to {session} ({len(chat.images)} turns)")

    state.run(turn)


@click.command()
@image_options
@click.option(
    "--session",
    metavar="PATH",
    default=DEFAULT_SESSION,
    show_default=True,
    help="The session file: resumed if it exists, saved on exit, /quit and Ctrl-C.",
)
@click.option(
    "--prefix",
    default=DEFAULT_PREFIX,
    show_default=True,
    help="Each turn's image is saved as PREFIX-NN.png.",
)
@click.pass_obj
def chat(
    state: CliState,
    /,
    *,
    output: str | None,
    force: bool,
    session: str,
    prefix: str,
    options: ImageOptions,
) -> None:
    """Edit an image in conversation: each line you type is the next turn.

    Each turn's image is saved with a numbered name; commands: /save PATH, /undo, /quit.
    The session is saved on exit (also on Ctrl-C); resume it with --session or continue
    it with `edit --session PATH PROMPT`.
    """
    if output is not None:
        raise click.UsageError("chat saves each turn as PREFIX-NN.png: use --prefix, not -o.")
    _prepare(state, options)
    path = pathlib.Path(session)
    del force  # a redone turn overwrites its own numbered file
    state.run(functools.partial(_loop, state, path, prefix, options))


async def _loop(
    state: CliState,
    path: pathlib.Path,
    prefix: str,
    options: ImageOptions,
    client: AsyncImageClient,
) -> None:
    chat = open_session(client, path, options)
    click.echo(f"{HELP}; session {path} ({len(chat.images)} turns)", err=True)
    try:
        while True:
            click.echo("> ", nl=False, err=True)
            line = await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)
            if not line or line.strip() == "/quit":
                return
            await _handle(state, chat, line.strip(), prefix)
    finally:
        chat.save(path)
        click.echo(f"session saved to {path} ({len(chat.images)} turns)", err=True)


async def _handle(state: CliState, chat: AsyncChat, line: str, prefix: str) -> None:
    if not line:
        return
    if line == "/undo":
        if chat.images:
            chat.undo()
        click.echo(f"{len(chat.images)} turns", err=True)
    elif line.startswith("/save"):
        target = line.removeprefix("/save").strip()
        if not target:
            click.echo("usage: /save PATH", err=True)
            return
        click.echo(f"saved {chat.save(target)}", err=True)
    elif line.startswith("/"):
        click.echo(HELP, err=True)
    else:
        await _send(state, chat, line, prefix)


async def _send(state: CliState, chat: AsyncChat, prompt: str, prefix: str) -> None:
    """Send one turn; an error is printed and the chat goes on (the history is unchanged)."""
    try:
        response = await chat.send(prompt)
        target = _turn_path(prefix, len(chat.images))
        _save_all(state, response, target, force=True)
    except (RouterHubError, click.ClickException, OSError) as error:
        click.echo(f"error: {printable(str(state.cli_error(error).message))}", err=True)
