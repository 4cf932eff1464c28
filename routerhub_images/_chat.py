"""Chat sessions: conversational editing that keeps every model turn exactly as it came."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import pathlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from . import _constants as consts
from . import _wire
from ._constants import NOT_GIVEN, NotGiven
from ._enums import Role
from ._errors import ChatBusyError, ChatFileError, InvalidInputError, ResponseError
from ._images import GeneratedImage, atomic_write_bytes
from ._models import normalize_model_name
from ._pricing import total_usage
from ._types import (
    Content,
    ContentsInput,
    GenerateContentResponse,
    GenerationConfig,
    ImageConfig,
    SafetySetting,
    UsageMetadata,
)

if TYPE_CHECKING:
    from ._client import AsyncImageClient, ImageInput
    from ._config import TimeoutTypes
    from ._sync import ImageClient

__all__ = ["AsyncChat", "Chat"]

_C = TypeVar("_C", bound="_ChatBase")

_IMAGE_REF = "$image"


@attrs.frozen(kw_only=True)
class _Session:
    """A saved chat, as the wire converter writes and reads it.

    No field here or in `_Settings` and `_Turn` has a default, so each is written, null or
    not, as format version 1 always wrote them. ``images`` holds the base64 of every inline
    image by its SHA-256; the turns refer to it as ``{"$image": key}``.
    """

    format: str
    version: int
    model: str
    settings: _Settings
    turns: tuple[_Turn, ...]
    usage: UsageMetadata
    images: dict[str, str]


@attrs.frozen(kw_only=True)
class _Settings:
    aspect_ratio: str | None
    image_size: str | None
    generation_config: GenerationConfig | None
    system_instruction: str | Content | None
    safety_settings: tuple[SafetySetting, ...] | None


@attrs.frozen
class _Turn:
    user: tuple[Content, ...]
    model: Content


def _structure_instruction(value: Any, _: Any) -> str | Content | None:
    # Saved as it was given, text or a Content: a union cattrs cannot structure by itself.
    if value is None or isinstance(value, str):
        return value
    return _wire.converter.structure(value, Content)


_wire.converter.register_structure_hook(str | Content | None, _structure_instruction)


class _ChatBase:
    """State and persistence shared by `AsyncChat` and `Chat`; only ``send`` differs."""

    def __init__(
        self,
        model: str,
        *,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        history: Sequence[Content] | None = None,
    ):
        self._model = normalize_model_name(model)
        self._settings = _Settings(
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            generation_config=generation_config,
            system_instruction=system_instruction,
            safety_settings=None if safety_settings is None else tuple(safety_settings),
        )
        self._turns: tuple[_Turn, ...] = _split_turns(history or ())
        self._usage = UsageMetadata()
        # Taken without waiting, by a send and by undo/rewind: a second one is refused.
        # A thread lock, so the blocking twin's threads and its loop share it.
        self._busy = threading.Lock()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} model={self.model!r} turns={len(self._turns)}>"

    @property
    def model(self) -> str:
        """The chat's model (normalized, ``google/...``)."""
        return self._model

    @property
    def history(self) -> tuple[Content, ...]:
        """Every completed turn, user and model, as sent with the next message."""
        return tuple(content for turn in self._turns for content in (*turn.user, turn.model))

    @property
    def images(self) -> list[list[GeneratedImage]]:
        """The final images (not drafts) of every model turn so far, one list per turn."""
        return [_final_images(turn.model) for turn in self._turns]

    @property
    def last_image(self) -> GeneratedImage | None:
        """The newest final image of the conversation, or None before the first."""
        for images in reversed(self.images):
            if images:
                return images[-1]
        return None

    @property
    def usage(self) -> UsageMetadata:
        """Tokens summed over every answer this session received (kept across `undo`)."""
        return self._usage

    def undo(self) -> None:
        """Drop the last turn (the user's message and the model's reply).

        Raises:
            InvalidInputError: there is no turn to drop.
            ChatBusyError: a send on this chat is running.
        """
        self.rewind(1)

    def rewind(self, n: int) -> None:
        """Drop the last ``n`` turns.

        Raises:
            InvalidInputError: ``n`` is not an int between 0 and the number of turns.
            ChatBusyError: a send on this chat is running.
        """
        with self._claimed("rewind"):
            count = len(self._turns)
            if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= count:
                raise InvalidInputError(f"cannot rewind {n!r} turns: the chat has {count}")
            self._turns = self._turns[: count - n]

    def fork(self: _C) -> _C:
        """A new chat with the same settings, history and usage; each then goes its own way."""
        other = copy.copy(self)
        other._busy = threading.Lock()
        return other

    def to_json(self) -> str:
        """The session as versioned JSON: every image stored once, signatures intact."""
        session = _Session(
            format=consts.CHAT_FORMAT,
            version=consts.CHAT_FORMAT_VERSION,
            model=self._model,
            settings=self._settings,
            turns=self._turns,
            usage=self._usage,
            images={},
        )
        body = _wire.unstructure(session)
        _pack(body)
        return json.dumps(body, separators=(",", ":"))

    def save(self, path: str | os.PathLike[str]) -> pathlib.Path:
        """Write `to_json` to ``path`` atomically (a crash leaves the old file); return it."""
        return atomic_write_bytes(path, self.to_json().encode())

    def _resume(self: _C, session: _Session) -> _C:
        self._settings = session.settings
        self._turns = session.turns
        self._usage = session.usage
        return self

    @contextlib.contextmanager
    def _claimed(self, action: str) -> Iterator[None]:
        if not self._busy.acquire(blocking=False):
            raise ChatBusyError(
                f"cannot {action}: a send on this chat is still running "
                "(await it first, or fork() the chat to edit in parallel)"
            )
        try:
            yield
        finally:
            self._busy.release()

    async def _send_with(
        self,
        client: AsyncImageClient,
        message: ContentsInput,
        *,
        images: Sequence[ImageInput] = (),
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        settings = self._settings
        with self._claimed("send"):
            user = await _user_turn(client, message, images)
            config = _with_image_options(
                generation_config or settings.generation_config,
                aspect_ratio or settings.aspect_ratio,
                image_size or settings.image_size,
            )
            response = await client.generate_content(
                self._model,
                [*self.history, *user],
                generation_config=config,
                system_instruction=system_instruction or settings.system_instruction,
                safety_settings=safety_settings or settings.safety_settings,
                timeout=timeout,
                max_retries=max_retries,
            )
            self._usage = total_usage((self._usage, response.usage_metadata))
            reply = _usable_reply(response)
            if reply is not None:
                self._turns = (*self._turns, _Turn(user=user, model=reply))
            return response


class AsyncChat(_ChatBase):
    """A conversation with an image model, from `AsyncImageClient.chat`.

    Each `send` sends the whole history plus the new message and, when the answer holds
    a usable model turn, appends both to the history. Model turns go back exactly as
    they came (thought signatures, drafts, unknown fields), so Gemini 3 accepts them.
    Sends are not queued: a second `send` while one runs raises `ChatBusyError`.
    """

    def __init__(self, client: AsyncImageClient, model: str, **settings: Any):
        super().__init__(model, **settings)
        self._client = client

    async def send(
        self,
        message: ContentsInput,
        *,
        images: Sequence[ImageInput] = (),
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Send the next user turn; the other arguments override the chat's for this turn.

        Args:
            message: What ``contents`` takes: a prompt, parts, image bytes or paths.
            images: Images to add to the turn (bytes, paths, parts, `GeneratedImage`).
            aspect_ratio: e.g. ``"16:9"``, for this turn.
            image_size: ``"1K"``, ``"2K"``, ``"4K"`` or ``"512"``, for this turn.
            generation_config: Replaces the chat's for this turn.
            system_instruction: Replaces the chat's for this turn.
            safety_settings: Replace the chat's for this turn.
            timeout: Per-call timeout override.
            max_retries: Per-call retry override.

        Returns:
            The `GenerateContentResponse`. A blocked or withheld answer is returned
            as it is (``.blocked``, ``.image_withheld``) and leaves the history as it was.

        Raises:
            ChatBusyError: another send on this chat is running.
            InvalidInputError, APIStatusError, APIConnectionError, ResponseError: as
                `AsyncImageClient.generate_content`; the history is left as it was.
        """
        return await self._send_with(
            self._client,
            message,
            images=images,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            generation_config=generation_config,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            timeout=timeout,
            max_retries=max_retries,
        )

    @classmethod
    def from_json(cls, data: str | bytes, *, client: AsyncImageClient) -> AsyncChat:
        """Resume a session saved by `to_json` (or `save`), sending through ``client``.

        Raises:
            ChatFileError: not a saved chat, or a format version newer than this one.
        """
        session = _parsed(data)
        return client.chat(session.model)._resume(session)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, client: AsyncImageClient) -> AsyncChat:
        """Resume a session from a file written by `save`.

        Raises:
            ChatFileError: as `from_json`, or the file cannot be read.
        """
        return cls.from_json(_read(path), client=client)


class Chat(_ChatBase):
    """The blocking twin of `AsyncChat`, from `ImageClient.chat`.

    Each send runs on the client's event loop; two threads sending on one chat do not
    interleave: the second raises `ChatBusyError`.
    """

    def __init__(self, run: Callable[..., GenerateContentResponse], model: str, **settings: Any):
        super().__init__(model, **settings)
        # ImageClient._call: runs `_send_with` on the client's event loop and waits for it.
        self._run = run

    def send(
        self,
        message: ContentsInput,
        *,
        images: Sequence[ImageInput] = (),
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Send the next user turn; see `AsyncChat.send`."""
        return self._run(
            self._send_with,
            message,
            images=images,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            generation_config=generation_config,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            timeout=timeout,
            max_retries=max_retries,
        )

    @classmethod
    def from_json(cls, data: str | bytes, *, client: ImageClient) -> Chat:
        """Resume a session saved by `to_json`; see `AsyncChat.from_json`."""
        session = _parsed(data)
        return client.chat(session.model)._resume(session)

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, client: ImageClient) -> Chat:
        """Resume a session from a file written by `save`; see `AsyncChat.load`."""
        return cls.from_json(_read(path), client=client)


def _split_turns(history: Sequence[Content]) -> tuple[_Turn, ...]:
    """Group a history into turns, each ending with a model content."""
    if isinstance(history, Content) or not isinstance(history, Sequence):
        raise InvalidInputError("history must be a list of Content")
    turns: list[_Turn] = []
    user: list[Content] = []
    for content in history:
        if not isinstance(content, Content):
            raise InvalidInputError(f"history items must be Content, not {type(content).__name__}")
        if content.role == Role.MODEL:
            turns.append(_Turn(user=tuple(user), model=content))
            user = []
        else:
            user.append(content)
    if user:
        raise InvalidInputError("history must end with a model turn")
    return tuple(turns)


async def _user_turn(
    client: AsyncImageClient, message: ContentsInput, images: Sequence[ImageInput]
) -> tuple[Content, ...]:
    """The new user turn(s): ``message`` then ``images``, files read in a worker thread."""
    if isinstance(images, str | bytes | os.PathLike) or not isinstance(images, Sequence):
        raise InvalidInputError("images must be a list of images")
    loose = (
        list(message)
        if isinstance(message, Sequence) and not isinstance(message, str | bytes)
        else [message]
    )
    # An image given as a str is a path (read as edit_image reads it), never a prompt.
    parts = [await client._image_part(image) for image in images]
    return await client._normalized([*loose, *parts])


def _with_image_options(
    config: GenerationConfig | None, aspect_ratio: str | None, image_size: str | None
) -> GenerationConfig | None:
    if not isinstance(config, GenerationConfig | None):
        return config  # the request refuses anything but a GenerationConfig, with its name
    if aspect_ratio is None and image_size is None:
        return config
    config = config or GenerationConfig()
    image = config.image_config or ImageConfig()
    image = attrs.evolve(
        image,
        aspect_ratio=aspect_ratio or image.aspect_ratio,
        image_size=image_size or image.image_size,
    )
    return attrs.evolve(config, image_config=image)


def _usable_reply(response: GenerateContentResponse) -> Content | None:
    """The model turn to keep, or None for a blocked, withheld or empty answer."""
    if response.blocked or response.image_withheld or not response.candidates:
        return None
    content = response.candidates[0].content
    if content is None or not content.parts:
        return None
    return content if content.role else attrs.evolve(content, role=Role.MODEL)


def _final_images(reply: Content) -> list[GeneratedImage]:
    return [
        GeneratedImage(data=p.inline_data.data, declared_mime_type=p.inline_data.mime_type)
        for p in reply.parts
        if p.inline_data is not None and p.is_image and not p.thought
    ]


def _blobs(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The ``inlineData`` objects of every saved turn."""
    for turn in body["turns"]:
        for content in (*turn["user"], turn["model"]):
            for part in content.get("parts", ()):
                blob = part.get("inlineData")
                if isinstance(blob, dict):
                    yield blob


def _pack(body: dict[str, Any]) -> None:
    """Move every inline image's base64 into ``images`` (by SHA-256), leaving a reference."""
    for blob in _blobs(body):
        data = blob.get("data")
        if isinstance(data, str):
            key = hashlib.sha256(data.encode()).hexdigest()
            body["images"].setdefault(key, data)
            blob["data"] = {_IMAGE_REF: key}


def _unpack(body: dict[str, Any]) -> None:
    for blob in _blobs(body):
        reference = blob.get("data")
        if isinstance(reference, dict):
            stored = body["images"].get(str(reference.get(_IMAGE_REF)))
            if not isinstance(stored, str):
                raise ChatFileError(f"a saved turn refers to a missing image {reference!r}")
            blob["data"] = stored


def _read(path: str | os.PathLike[str]) -> bytes:
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise ChatFileError(f"cannot read the chat session {os.fspath(path)!r}: {exc}") from exc


def _parsed(data: str | bytes) -> _Session:
    try:
        body = json.loads(data)
    except ValueError as exc:
        raise ChatFileError(f"not a saved chat session: {exc}") from None
    if not isinstance(body, dict) or body.get("format") != consts.CHAT_FORMAT:
        raise ChatFileError(f"not a saved chat session (no format {consts.CHAT_FORMAT!r})")
    version = body.get("version")
    if not isinstance(version, int) or not 1 <= version <= consts.CHAT_FORMAT_VERSION:
        raise ChatFileError(
            f"chat session format version {version!r}; this version reads up to "
            f"{consts.CHAT_FORMAT_VERSION} (upgrade routerhub-images)"
        )
    try:
        _unpack(body)
        return _wire.structure(body, _Session)
    except ResponseError as exc:  # its message names our private class: keep the problem
        where = f" at {exc.path}" if exc.path else ""
        problem = exc.message.partition(": ")[2]
        raise ChatFileError(f"a damaged chat session{where}: {problem}") from None
    except KeyError as exc:
        raise ChatFileError(f"a damaged chat session: {exc} is missing") from None
    except (TypeError, AttributeError) as exc:
        raise ChatFileError(f"a damaged chat session: {exc}") from None
