"""The event-loop thread behind `ImageClient`: an anyio portal, started lazily, stopped once.

A `Runner` holds one `AsyncImageClient` and starts, at the first call, a daemon thread
whose event loop serves an anyio ``BlockingPortal``; each call is one task started
through the portal, waited for by the calling thread. Closing stops the portal, which
cancels the calls in flight (they raise `ClientClosedError`), then the loop closes the
client and ends. After ``os.fork()`` the child forgets the parent's loop and starts its
own on first use.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Concatenate, NamedTuple, ParamSpec, TypeVar

import anyio
from anyio.from_thread import BlockingPortal

from ._errors import ClientClosedError

if TYPE_CHECKING:
    from ._client import AsyncImageClient


_T = TypeVar("_T")
_P = ParamSpec("_P")


class Live(NamedTuple):
    """A running portal and the thread of its loop."""

    portal: BlockingPortal
    thread: threading.Thread


class _Handle:
    """Lets a calling thread cancel its call's task, started or not yet started."""

    def __init__(self) -> None:
        self.scope: anyio.CancelScope | None = None
        self.interrupted = False

    def interrupt(self, portal: BlockingPortal) -> None:
        # The task checks the flag after setting its scope, and we check the scope
        # after setting the flag: one side always sees the other.
        self.interrupted = True
        scope = self.scope
        if scope is not None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: nothing to stop
                portal.call(scope.cancel)


class Runner:
    """One client's event-loop thread: started lazily, closed once, reset after a fork.

    Kept apart from `ImageClient` so that the finalizer can hold it without keeping
    the client alive.
    """

    def __init__(self, client: AsyncImageClient):
        self._client = client
        self._lock = threading.Lock()
        self._live: Live | None = None
        self.closed = False
        _RUNNERS.add(self)

    @property
    def started(self) -> bool:
        return self._live is not None

    def live(self) -> Live:
        """The running portal, started on first use (thread-safe)."""
        with self._lock:
            if self.closed:
                raise ClientClosedError("the client is closed; create a new one")
            if self._live is None:
                self._live = _start(self._client)
            return self._live

    def call(
        self,
        method: Callable[Concatenate[AsyncImageClient, _P], Coroutine[Any, Any, _T]],
        /,
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """Run ``method`` of the client through the portal and wait for its answer.

        What ``portal.call`` does, keeping a handle on the call's task so that Ctrl-C
        (``KeyboardInterrupt`` in the waiting thread) cancels it before re-raising,
        whether it comes while the task is handed over or while its answer is awaited.
        """
        portal = self.live().portal
        handle = _Handle()

        async def run() -> _T:
            with anyio.CancelScope() as scope:
                handle.scope = scope
                if handle.interrupted:
                    scope.cancel()
                return await method(self._client, *args, **kwargs)
            raise ClientClosedError("the call was interrupted")

        try:
            future: concurrent.futures.Future[_T] = portal.start_task_soon(run)
        except RuntimeError:  # the portal has stopped: closed, or its loop is gone
            raise ClientClosedError("the client is closed; create a new one") from None
        except BaseException:  # Ctrl-C while the task was handed over
            handle.interrupt(portal)
            raise
        try:
            return future.result()
        except concurrent.futures.CancelledError:  # the portal stopped during the call
            raise ClientClosedError("the client was closed during the call") from None
        except BaseException:
            future.cancel()  # Ctrl-C: stop the request too (a no-op once it has answered)
            raise

    def close(self, *, timeout: float | None = None) -> None:
        """Stop the portal, cancelling the calls in flight; the loop then closes the client.

        With a ``timeout`` (finalizers, interpreter exit), a loop that does not stop in
        time (a task ignoring cancellation) is left to its daemon thread, which
        interpreter exit abandons instead of joining.
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
                target=_stop, args=(live, timeout), name="routerhub-images-close", daemon=True
            )
            helper.start()
        else:
            _stop(live, timeout)

    def after_fork_in_child(self) -> None:
        """Forget the parent's portal (its thread does not exist here) and its lock."""
        self._lock = threading.Lock()
        live, self._live = self._live, None
        if live is not None:
            _ABANDONED.append(live)


_RUNNERS: weakref.WeakSet[Runner] = weakref.WeakSet()
_ABANDONED: list[Live] = []
"""Portals inherited through ``fork``, and with them the parent's loop and the pool made
on it: kept and never used, so that collecting them in the child runs no finalizer
(unclosed-socket and loop warnings, TLS shutdown) over connections the parent owns."""


def _start(client: AsyncImageClient) -> Live:
    ready: concurrent.futures.Future[Live] = concurrent.futures.Future()
    thread = threading.Thread(
        target=_run_loop, args=(client, ready), name="routerhub-images-loop", daemon=True
    )
    thread.start()
    return ready.result()


def _run_loop(client: AsyncImageClient, ready: concurrent.futures.Future[Live]) -> None:
    # What anyio's `start_blocking_portal` does, minus its exit: that calls into the
    # loop to stop it and joins the thread, which hangs in a forked child (the loop
    # is gone) and at exit past a task that ignores cancellation.
    try:
        anyio.run(_serve, client, ready)
    except BaseException as error:
        if ready.done():
            raise
        ready.set_exception(error)


async def _serve(client: AsyncImageClient, ready: concurrent.futures.Future[Live]) -> None:
    try:
        async with BlockingPortal() as portal:
            ready.set_result(Live(portal, threading.current_thread()))
            await portal.sleep_until_stopped()
    finally:
        await client.aclose()


def _stop(live: Live, timeout: float | None) -> None:
    with contextlib.suppress(RuntimeError):  # its loop has already ended
        live.portal.start_task_soon(live.portal.stop, True)
    live.thread.join(timeout)


def _after_fork_in_child() -> None:
    for runner in list(_RUNNERS):
        runner.after_fork_in_child()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
