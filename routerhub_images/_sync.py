"""ImageClient: the blocking facade over `AsyncImageClient`, through an anyio portal.

Every method runs its async twin on the client's own event-loop thread (`_portal`): the
connection pool lives across calls, and the client works from any thread, one running an
event loop included (a Jupyter cell), where an ``asyncio.run`` wrapper fails. The facade
holds no logic of its own: its twin's answers and exceptions reach the caller unchanged.
"""

from __future__ import annotations

import asyncio
import sys
import warnings
import weakref
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar, overload

from . import _constants as consts
from ._chat import Chat
from ._client import AsyncImageClient, AuthStyle, ImageInput
from ._config import Limits, TimeoutTypes, TransportChoice
from ._constants import NOT_GIVEN, NotGiven
from ._policies import CallPolicies
from ._portal import Runner
from ._retry import RetryPolicy
from ._types import (
    Content,
    ContentsInput,
    GenerateContentResponse,
    GenerationConfig,
    SafetySetting,
)
from ._variations import Variations

_T = TypeVar("_T")
_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., object])
_Either = Callable[..., Coroutine[Any, Any, GenerateContentResponse | Variations]]
"""An overloaded image method, forwarded with ``n`` of either kind."""

CLOSE_AT_EXIT_TIMEOUT = 5.0
"""Seconds an unclosed client may take to shut down when collected or at interpreter
exit; past that its loop thread (a daemon) is abandoned rather than hang the exit."""


class EventLoopBlockedWarning(RuntimeWarning):
    """An `ImageClient` call blocked a thread that runs an event loop.

    The call works, but the loop (and every task on it) stands still until the answer
    arrives; in async code use `AsyncImageClient` instead. Issued once per client.
    """


def _finalize(runner: Runner) -> None:
    """Close a client that was dropped or is still open at exit, then say so."""
    if runner.closed or not runner.started:
        return
    runner.close(timeout=CLOSE_AT_EXIT_TIMEOUT)
    warnings.warn(
        "an ImageClient was not closed; use `with ImageClient() as client:` or call close()",
        ResourceWarning,
        stacklevel=2,
    )


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _in_trio()
    return True


def _in_trio() -> bool:
    # Never imported here: only a program that uses trio has it loaded. It may be half
    # loaded, by another thread (httpcore imports it if installed): then no attributes.
    trio = sys.modules.get("trio")
    try:
        trio.lowlevel.current_trio_token()  # type: ignore[union-attr]
    except (AttributeError, RuntimeError):  # not (yet) trio, or no trio run here
        return False
    return True


def _same_doc(original: Callable[..., object]) -> Callable[[_F], _F]:
    """Give a facade method the docstring of the async method it forwards to."""

    def apply(method: _F) -> _F:
        method.__doc__ = original.__doc__
        return method

    return apply


class ImageClient:
    """Blocking client for RouterHub's Gemini-format image generation endpoint.

    The same methods, arguments, answers and exceptions as `AsyncImageClient`, as
    plain calls. Create it once and share it, between threads too: it runs one event
    loop in a background thread, started at the first call, whose connection pool
    serves every call. Use ``with ImageClient() as client:`` or call `close`; a client
    left open after a call is closed when collected or at exit, with a
    ``ResourceWarning``. After ``os.fork()`` the child starts a loop and pool of its own.

    In async code use `AsyncImageClient`: a call made from a thread that runs an
    event loop works, but blocks that loop, and warns once (`EventLoopBlockedWarning`).

    Args and Raises: as `AsyncImageClient`, but for ``http_client``: there is none,
    since an ``httpx.AsyncClient`` belongs to the loop that made it. A missing key
    (`MissingAPIKeyError`) and every other bad argument are raised here, before any
    thread starts.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        auth: AuthStyle = "bearer",
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        transport: TransportChoice = "httpx",
        limits: Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = consts.MAX_RESPONSE_BYTES,
        default_model: str = consts.DEFAULT_MODEL,
        allow_insecure_http: bool = False,
        strict_options: bool = True,
        max_request_bytes: int | None = consts.MAX_REQUEST_BYTES,
        policies: CallPolicies | None = None,
    ):
        # Validates every argument now, in the caller's thread; its pools are made on the
        # loop that first uses them, the portal's.
        self._client = AsyncImageClient(
            api_key,
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            transport=transport,
            limits=limits,
            default_headers=default_headers,
            max_response_bytes=max_response_bytes,
            default_model=default_model,
            allow_insecure_http=allow_insecure_http,
            strict_options=strict_options,
            max_request_bytes=max_request_bytes,
            policies=policies,
        )
        self._runner = Runner(self._client)
        self._finalizer = weakref.finalize(self, _finalize, self._runner)
        self._warned_in_loop = False

    def __repr__(self) -> str:
        return "<ImageClient " + repr(self._client).removeprefix("<AsyncImageClient ")

    @property
    def base_url(self) -> str:
        """The API root the client sends to."""
        return self._client.base_url

    @property
    def auth(self) -> AuthStyle:
        """How the key is sent: ``"bearer"`` or ``"x-goog-api-key"``."""
        return self._client.auth

    @property
    def default_model(self) -> str:
        """Model used when a call names none (normalized, ``google/...``)."""
        return self._client.default_model

    @property
    def retry(self) -> RetryPolicy:
        """The client's `RetryPolicy`."""
        return self._client.retry

    @property
    def strict_options(self) -> bool:
        """Whether unsupported aspect ratios / image sizes are rejected before sending."""
        return self._client.strict_options

    @property
    def max_request_bytes(self) -> int | None:
        """The largest request body sent (``None``: no limit)."""
        return self._client.max_request_bytes

    @property
    def limits(self) -> Limits | None:
        """The limits of the pool the client creates; None with a transport object."""
        return self._client.limits

    @property
    def closed(self) -> bool:
        """True after `close`; calls then raise `ClientClosedError`."""
        return self._runner.closed

    def __enter__(self) -> ImageClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool and stop the client's event-loop thread.

        Idempotent. Calls still running in other threads are cancelled and raise
        `ClientClosedError`, as does every later call.
        """
        self._finalizer.detach()
        self._runner.close()

    def _call(
        self,
        method: Callable[Concatenate[AsyncImageClient, _P], Coroutine[Any, Any, _T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``method`` of the loop's async client there and wait for its answer."""
        if not self._warned_in_loop and _in_event_loop():
            self._warned_in_loop = True
            warnings.warn(
                "ImageClient blocks the event loop running in this thread until the server "
                "answers; in async code use AsyncImageClient and await its methods",
                EventLoopBlockedWarning,
                stacklevel=3,
            )
        return self._runner.call(method, *args, **kwargs)

    def chat(
        self,
        model: str | None = None,
        *,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        history: Sequence[Content] | None = None,
    ) -> Chat:
        """Start a conversation (`Chat`); see `AsyncImageClient.chat`."""
        return Chat(
            self._call,
            self.default_model if model is None else model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            generation_config=generation_config,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            history=history,
        )

    @_same_doc(AsyncImageClient.generate_content)
    def generate_content(
        self,
        model: str | None,
        contents: ContentsInput,
        *,
        generation_config: GenerationConfig | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        system_instruction: str | Content | None = None,
        cached_content: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        return self._call(
            AsyncImageClient.generate_content,
            model,
            contents,
            generation_config=generation_config,
            safety_settings=safety_settings,
            system_instruction=system_instruction,
            cached_content=cached_content,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
        )

    @overload
    def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse: ...

    @overload
    def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int,
        require_all: bool = False,
    ) -> Variations: ...

    @_same_doc(AsyncImageClient.generate_image)
    def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int | None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse | Variations:
        generate: _Either = AsyncImageClient.generate_image
        return self._call(
            generate,
            prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            seed=seed,
            temperature=temperature,
            text_only=text_only,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            n=n,
            require_all=require_all,
        )

    @overload
    def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse: ...

    @overload
    def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int,
        require_all: bool = False,
    ) -> Variations: ...

    @_same_doc(AsyncImageClient.edit_image)
    def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int | None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse | Variations:
        edit: _Either = AsyncImageClient.edit_image
        return self._call(
            edit,
            image,
            prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            seed=seed,
            temperature=temperature,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            extra_body=extra_body,
            timeout=timeout,
            max_retries=max_retries,
            n=n,
            require_all=require_all,
        )
