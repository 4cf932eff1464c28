"""The event-loop thread behind `ImageClient`: started lazily, handed calls, stopped once.

A `Runner` owns one anyio ``BlockingPortal`` (its loop in a daemon thread) and the
`AsyncImageClient` built on that loop. Calls from any thread reach the loop through an
`Inbox` and wait for their answer as a `Call`. Closing fails every call still waiting
with `ClientClosedError`; after ``os.fork()`` the child drops the parent's dead loop
and starts its own on first use.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Coroutine
from contextlib import ExitStack, suppress
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

from anyio.from_thread import BlockingPortal, start_blocking_portal

from ._errors import ClientClosedError

if TYPE_CHECKING:
    from ._client import AsyncImageClient

__all__ = ["LOOP_THREAD_NAME", "Call", "Inbox", "Live", "Runner"]

_T = TypeVar("_T")

LOOP_THREAD_NAME = "routerhub-images-loop"
"""Name of the thread that runs a client's event loop."""

_CLOSER_NAME = "routerhub-images-close"


_SETTLE_LOCK = threading.Lock()
"""Makes settling a `Call` claim-once: its task, `close` and the caller may race."""


class Call(Generic[_T]):
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


class Inbox:
    """Hands calls from any thread to the loop, waking the loop once per batch.

    ``loop.call_soon_threadsafe`` writes to the loop's wake-up socket on every call; here
    calls submitted while a wake-up is already due ride along with it, which saves a
    system call and a loop turn per call when many threads share the client.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._calls: deque[Call[Any]] = deque()
        self._wake_up_due = False
        self._closed = False

    def submit(self, call: Call[Any]) -> None:
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

    def _queue(self, call: Call[Any]) -> None:
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

    def _take_calls(self) -> list[Call[Any]]:
        self._wake_up_due = False
        calls = list(self._calls)
        self._calls.clear()
        return calls

    def _start_calls(self) -> None:
        with self._lock:
            calls = self._take_calls()
        for call in calls:
            call.start(self._loop)


class Live(NamedTuple):
    """A running portal, its loop, the async client on it, and the calls in flight."""

    stack: ExitStack
    portal: BlockingPortal
    loop: asyncio.AbstractEventLoop
    client: AsyncImageClient
    thread: threading.Thread
    inbox: Inbox
    in_flight: set[Call[Any]]


class Runner:
    """One client's event-loop thread: started lazily, closed once, reset after a fork.

    Kept apart from `ImageClient` so that the finalizer can hold it without keeping
    the client alive.
    """

    def __init__(self, factory: Callable[[], AsyncImageClient]):
        self._factory = factory
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.closed = False
        _RUNNERS.add(self)

    @property
    def started(self) -> bool:
        return self._live is not None

    def live(self) -> Live:
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


_RUNNERS: weakref.WeakSet[Runner] = weakref.WeakSet()
_ABANDONED: list[object] = []
"""Portals and clients inherited through ``fork``, bound to the parent's loop: kept and
never used, so that collecting them in the child runs no finalizer (unclosed-socket and
loop warnings, TLS shutdown) over connections the parent owns."""


def _adopt_loop_thread() -> threading.Thread:
    thread = threading.current_thread()
    thread.name = LOOP_THREAD_NAME
    return thread


def _start(factory: Callable[[], AsyncImageClient]) -> Live:
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
    return Live(stack, portal, loop, client, thread, Inbox(loop), set())


def _stop(live: Live, timeout: float | None = None) -> None:
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


def _forget(live: Live) -> None:
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
