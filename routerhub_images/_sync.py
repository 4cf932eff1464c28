"""ImageClient: the blocking facade over `AsyncImageClient`, through an anyio portal.

Each client owns one event loop, run by an anyio ``BlockingPortal`` in a daemon thread
started at the first call. Every method submits the async method to that loop and
waits for its answer (`_Call`), so the connection pool lives across calls, and the
client works from any thread, from many threads at once, and from a thread that is
itself running an event loop (a Jupyter cell), where an ``asyncio.run`` wrapper fails.

The facade holds no logic of its own: validation, retries, errors and parsing all
happen in `AsyncImageClient`, and its exceptions reach the caller unchanged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import os
import threading
import time
import warnings
import weakref
from collections import deque
from collections.abc import Callable, Coroutine, Sequence
from contextlib import ExitStack, suppress
from typing import Any, Concatenate, Generic, NamedTuple, ParamSpec, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from . import _constants as consts
from ._client import AsyncImageClient, AuthStyle, ImageInput
from ._constants import NOT_GIVEN, NotGiven
from ._errors import ClientClosedError
from ._retry import RetryPolicy
from ._transport import Limits, TimeoutTypes, TransportChoice
from ._types import (
    Content,
    ContentsInput,
    GenerateContentResponse,
    GenerationConfig,
    SafetySetting,
)

__all__ = ["EventLoopBlockedWarning", "ImageClient"]

_T = TypeVar("_T")
_P = ParamSpec("_P")
_F = TypeVar("_F", bound=Callable[..., object])

CLOSE_AT_EXIT_TIMEOUT = 5.0
"""Seconds an unclosed client may take to shut down when collected or at interpreter
exit; past that its loop thread (a daemon) is abandoned rather than hang the exit."""

LOOP_THREAD_NAME = "routerhub-images-loop"
"""Name of the thread that runs a client's event loop."""

_CLOSER_NAME = "routerhub-images-close"


class EventLoopBlockedWarning(RuntimeWarning):
    """An `ImageClient` call blocked a thread that runs an event loop.

    The call works, but the loop (and every task on it) stands still until the answer
    arrives; in async code use `AsyncImageClient` instead. Issued once per client.
    """


_SETTLE_LOCK = threading.Lock()
"""Makes settling a `_Call` claim-once: its task, `close` and the caller may race."""


class _Call(Generic[_T]):
    """One blocking call: its coroutine runs on the client's loop while the caller waits.

    What ``asyncio.run_coroutine_threadsafe`` and its ``concurrent.futures.Future`` do,
    a little cheaper (94-96 us per hand-off instead of 111-123 us, alone; see
    ``bench/RESULTS.md``): the caller waits on a bare lock instead of a ``Condition``,
    and the answer is handed over from inside the task the moment the coroutine
    returns, not by a done-callback one loop turn later. Unlike that Future, a call
    is failed, not left waiting, when the loop stops before it ran (`strand`).
    """

    __slots__ = ("_coroutine", "_done", "_error", "_settled", "_task", "_value")

    def __init__(self, coroutine: Coroutine[Any, Any, _T]):
        self._coroutine = coroutine
        self._done = threading.Lock()
        self._done.acquire()
        self._settled = False
        self._value: _T | None = None
        self._error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Run the coroutine as a task of ``loop`` (on the loop's thread)."""
        with _SETTLE_LOCK:  # so that a racing `_cancel_task` sees the task
            if not self._settled:
                self._task = loop.create_task(self._run())
                return
        self._coroutine.close()  # cancelled or closed before it started

    async def _run(self) -> None:
        try:
            value = await self._coroutine
        except asyncio.CancelledError:
            self._settle(error=_closed_during_call())
            raise
        except BaseException as error:
            self._settle(error=error)
            if not isinstance(error, Exception):  # KeyboardInterrupt on the loop
                raise
        else:
            self._settle(value)

    def _settle(self, value: _T | None = None, error: BaseException | None = None) -> None:
        with _SETTLE_LOCK:
            if self._settled:
                return
            self._settled = True
        self._value, self._error = value, error
        self._done.release()

    def wait(self) -> _T:
        """Block until the answer arrives; return it or raise the call's exception.

        Interrupted (``KeyboardInterrupt``), it cancels the task before re-raising.
        """
        try:
            self._done.acquire()
        except BaseException:
            self._settle(error=_closed_during_call())
            self._cancel_task()
            raise
        error, self._error = self._error, None
        if error is None:
            return self._value  # type: ignore[return-value]  # settled with a value
        try:
            raise error
        finally:
            del error  # its traceback holds this frame: break the cycle

    def abort(self) -> None:
        """Answer the waiting caller with `ClientClosedError` and cancel the task."""
        self._settle(error=_closed_during_call())
        self._cancel_task()

    def strand(self) -> None:
        """`abort` for a loop that is gone: also close the coroutine if it never ran."""
        self.abort()
        if self._task is None:
            self._coroutine.close()

    def _cancel_task(self) -> None:
        task = self._task
        if task is not None:
            with suppress(RuntimeError):  # its loop is already closed
                task.get_loop().call_soon_threadsafe(task.cancel)


def _closed_during_call() -> ClientClosedError:
    return ClientClosedError("the client was closed during the call")


class _Inbox:
    """Hands calls from any thread to the loop, waking the loop once per batch.

    ``loop.call_soon_threadsafe`` writes to the loop's wake-up socket on every call; here
    calls submitted while a wake-up is already due ride along with it, which saves a
    system call and a loop turn per call when many threads share the client.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._calls: deque[_Call[Any]] = deque()
        self._wake_up_due = False
        self._closed = False

    def submit(self, call: _Call[Any]) -> None:
        """Queue ``call`` to start on the loop; `ClientClosedError` if the loop is gone."""
        try:
            self._queue(call)
        except BaseException:
            # Ctrl-C may land between queueing a call and waking the loop, leaving a
            # wake-up due that nobody sent, on which every later call would wait: drop
            # this call and send one (a spare wake-up is harmless).
            call.abort()
            with suppress(RuntimeError):  # the loop is closed
                self._loop.call_soon_threadsafe(self._start_calls)
            raise

    def _queue(self, call: _Call[Any]) -> None:
        wake_up = False
        with self._lock:
            accepted = not self._closed and not self._loop.is_closed()
            if accepted:
                self._calls.append(call)
                wake_up, self._wake_up_due = not self._wake_up_due, True
        if not accepted:
            call.strand()
            raise ClientClosedError("the client is closed; create a new one")
        if wake_up:
            try:
                self._loop.call_soon_threadsafe(self._start_calls)
            except RuntimeError:  # the loop closed meanwhile
                self.close()
                raise ClientClosedError("the client is closed; create a new one") from None

    def close(self) -> None:
        """Refuse new calls and fail the queued ones: the loop has stopped for good."""
        with self._lock:
            self._closed = True
            stranded = self._take_calls()
        for call in stranded:
            call.strand()

    def _take_calls(self) -> list[_Call[Any]]:
        self._wake_up_due = False
        calls = list(self._calls)
        self._calls.clear()
        return calls

    def _start_calls(self) -> None:
        with self._lock:
            calls = self._take_calls()
        for call in calls:
            call.start(self._loop)


class _Live(NamedTuple):
    """A running portal, its loop, the async client on it, and the calls in flight."""

    stack: ExitStack
    portal: BlockingPortal
    loop: asyncio.AbstractEventLoop
    client: AsyncImageClient
    thread: threading.Thread
    inbox: _Inbox
    in_flight: set[_Call[Any]]


class _Runner:
    """One client's event-loop thread: started lazily, closed once, reset after a fork.

    Kept apart from `ImageClient` so that the finalizer can hold it without keeping
    the client alive.
    """

    def __init__(self, factory: Callable[[], AsyncImageClient]):
        self._factory = factory
        self._lock = threading.Lock()
        self._live: _Live | None = None
        self.closed = False
        _RUNNERS.add(self)

    @property
    def started(self) -> bool:
        return self._live is not None

    def live(self) -> _Live:
        """The running portal and client, started on first use (thread-safe)."""
        live = self._live
        if live is not None:
            return live
        with self._lock:
            if self.closed:
                raise ClientClosedError("the client is closed; create a new one")
            if self._live is None:
                self._live = _start(self._factory)
            return self._live

    def close(self, *, timeout: float | None = None) -> None:
        """Close the async client on its loop, then stop the loop and its thread.

        With a ``timeout``, a loop that does not stop in time is left behind (`_stop`).
        """
        with self._lock:
            live, self._live = self._live, None
            self.closed = True
        if live is None:
            return
        if threading.get_ident() == live.thread.ident:
            # Collected on the loop's own thread (a reference cycle freed there): it
            # cannot wait for its own loop, so a helper thread stops it.
            helper = threading.Thread(
                target=_stop, args=(live, timeout), name=_CLOSER_NAME, daemon=True
            )
            helper.start()
        else:
            _stop(live, timeout)

    def after_fork_in_child(self) -> None:
        """Drop the parent's portal (its thread does not exist here) and its lock."""
        self._lock = threading.Lock()
        live, self._live = self._live, None
        if live is not None:
            _forget(live)


_RUNNERS: weakref.WeakSet[_Runner] = weakref.WeakSet()
_ABANDONED: list[object] = []
"""Portals and clients inherited through ``fork``, bound to the parent's loop: kept and
never used, so that collecting them in the child runs no finalizer (unclosed-socket and
loop warnings, TLS shutdown) over connections the parent owns."""


def _adopt_loop_thread() -> threading.Thread:
    thread = threading.current_thread()
    thread.name = LOOP_THREAD_NAME
    return thread


def _start(factory: Callable[[], AsyncImageClient]) -> _Live:
    stack = ExitStack()
    portal = stack.enter_context(start_blocking_portal())
    try:
        thread = portal.call(_adopt_loop_thread)
        loop = portal.call(asyncio.get_running_loop)
        # Built on its loop, so nothing in it can bind to the caller's loop.
        client = portal.call(factory)
    except BaseException:
        stack.close()
        raise
    return _Live(stack, portal, loop, client, thread, _Inbox(loop), set())


def _stop(live: _Live, timeout: float | None = None) -> None:
    """Close the client on its loop, then stop the portal and join its thread.

    Calls still running in other threads are cancelled: they raise `ClientClosedError`.
    With a ``timeout`` (finalizers, interpreter exit), a loop that does not stop in time
    (a task ignoring cancellation) is left to its daemon thread, which interpreter exit
    abandons instead of joining. No thread is started here: Python 3.12+ refuses new
    threads at exit.
    """
    portal = live.portal
    deadline = None if timeout is None else time.monotonic() + timeout
    for call in list(live.in_flight):
        call.abort()
    try:
        _wait(portal.start_task_soon(live.client.aclose), deadline)
    finally:
        _wait(portal.start_task_soon(portal.stop, True), deadline)
        live.thread.join(_remaining(deadline))
        if live.thread.is_alive():
            # The portal's context manager joins the thread when it is closed, even by
            # garbage collection at exit; so it goes with that thread, whose frames,
            # and what they reference, exit never frees.
            vars(live.thread)["_routerhub_images_portal"] = live
        else:
            # A call that slipped in as the loop stopped may be queued, or its task
            # abandoned unfinished by the closing loop: fail it rather than leave it.
            live.inbox.close()
            for call in list(live.in_flight):
                call.strand()
            live.stack.close()


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _wait(future: concurrent.futures.Future[Any], deadline: float | None) -> None:
    with suppress(concurrent.futures.TimeoutError):
        future.result(_remaining(deadline))


def _forget(live: _Live) -> None:
    # The portal's loop thread died with the fork. Marking the portal stopped (the
    # attribute anyio's own `stop` clears) makes closing the stack skip the call into
    # the dead loop, which would wait forever, and join the already-stopped thread.
    live.portal._event_loop_thread_id = None
    live.stack.close()
    _ABANDONED.append(live)


def _after_fork_in_child() -> None:
    global _SETTLE_LOCK  # noqa: PLW0603 - a lock held by a parent thread stays held
    _SETTLE_LOCK = threading.Lock()
    for runner in list(_RUNNERS):
        runner.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _finalize(runner: _Runner) -> None:
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

    Args:
        api_key: RouterHub key (``rh_...``); defaults to ``$ROUTERHUB_API_KEY``.
        base_url: Defaults to ``$ROUTERHUB_BASE_URL``, then ``https://api.routerhub.ai``.
        auth: Send the key as ``Authorization: Bearer`` (default) or ``x-goog-api-key``.
        timeout: Seconds or an ``httpx.Timeout``; defaults as in `AsyncImageClient`.
            ``None`` disables timeouts.
        max_retries: Shortcut for ``retry=RetryPolicy(max_retries=...)``.
        retry: The `RetryPolicy`; retries are on by default.
        transport: ``"httpx"`` (default), ``"aiohttp"``, or an
            ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to talk to an
            in-process emulator); as in `AsyncImageClient`. There is no
            ``http_client``: an ``httpx.AsyncClient`` belongs to the loop that made it.
        limits: Connection pool limits (`Limits`), as in `AsyncImageClient`.
        default_model: Model used when a call names none.
        allow_insecure_http: Allow sending the key over ``http://`` to a host that is
            not loopback.
        strict_options: Reject aspect ratios / image sizes a known model does not
            support.

    Raises:
        MissingAPIKeyError: No key passed and ``$ROUTERHUB_API_KEY`` is unset (raised
            here, before any thread starts).
        InsecureTransportError: ``http://`` to a remote host without opt-in.
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
        default_model: str = consts.DEFAULT_MODEL,
        allow_insecure_http: bool = False,
        strict_options: bool = True,
    ):
        # Validates every argument now, in the caller's thread, with the async client's
        # own rules; it never sends anything and answers the read-only attributes.
        self._settings = AsyncImageClient(
            api_key,
            base_url=base_url,
            auth=auth,
            timeout=timeout,
            max_retries=max_retries,
            retry=retry,
            transport=transport,
            limits=limits,
            default_model=default_model,
            allow_insecure_http=allow_insecure_http,
            strict_options=strict_options,
        )
        # The loop's client is built from the resolved settings, so a change to the
        # environment between now and the first call cannot make the two differ.
        factory = functools.partial(
            AsyncImageClient,
            self._settings._key.value,  # the resolved key (same package)
            base_url=self._settings.base_url,
            auth=self._settings.auth,
            timeout=timeout,
            retry=self._settings.retry,
            transport=transport,
            limits=limits,
            default_model=self._settings.default_model,
            allow_insecure_http=allow_insecure_http,
            strict_options=self._settings.strict_options,
        )
        self._runner = _Runner(factory)
        self._finalizer = weakref.finalize(self, _finalize, self._runner)
        self._warned_in_loop = False

    def __repr__(self) -> str:
        return "<ImageClient " + repr(self._settings).removeprefix("<AsyncImageClient ")

    @property
    def base_url(self) -> str:
        """The API root the client sends to."""
        return self._settings.base_url

    @property
    def auth(self) -> AuthStyle:
        """How the key is sent: ``"bearer"`` or ``"x-goog-api-key"``."""
        return self._settings.auth

    @property
    def default_model(self) -> str:
        """Model used when a call names none (normalized, ``google/...``)."""
        return self._settings.default_model

    @property
    def retry(self) -> RetryPolicy:
        """The client's `RetryPolicy`."""
        return self._settings.retry

    @property
    def strict_options(self) -> bool:
        """Whether unsupported aspect ratios / image sizes are rejected before sending."""
        return self._settings.strict_options

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
        live = self._runner.live()
        if not self._warned_in_loop and _in_event_loop():
            self._warn_in_loop()
        call = _Call(method(live.client, *args, **kwargs))
        live.in_flight.add(call)
        try:
            live.inbox.submit(call)
            return call.wait()
        finally:
            live.in_flight.discard(call)

    def _warn_in_loop(self) -> None:
        self._warned_in_loop = True
        warnings.warn(
            "ImageClient blocks the event loop running in this thread until the server "
            "answers; in async code use AsyncImageClient and await its methods",
            EventLoopBlockedWarning,
            stacklevel=4,
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
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Call ``generateContent``; see `AsyncImageClient.generate_content`."""
        return self._call(
            AsyncImageClient.generate_content,
            model,
            contents,
            generation_config=generation_config,
            safety_settings=safety_settings,
            system_instruction=system_instruction,
            cached_content=cached_content,
            timeout=timeout,
            max_retries=max_retries,
        )

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
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Generate an image from a prompt; see `AsyncImageClient.generate_image`."""
        return self._call(
            AsyncImageClient.generate_image,
            prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            seed=seed,
            temperature=temperature,
            text_only=text_only,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            timeout=timeout,
            max_retries=max_retries,
        )

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
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Edit images following a prompt; see `AsyncImageClient.edit_image`."""
        return self._call(
            AsyncImageClient.edit_image,
            image,
            prompt,
            model=model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            seed=seed,
            temperature=temperature,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            timeout=timeout,
            max_retries=max_retries,
        )
