"""ImageClient: the blocking facade over AsyncImageClient through an anyio portal."""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import os
import signal
import subprocess
import sys
import threading
import time
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest
from anyio.from_thread import BlockingPortal

from routerhub_images import (
    AsyncImageClient,
    ClientClosedError,
    GenerateContentResponse,
    GenerationConfig,
    InsecureTransportError,
    InvalidInputError,
    MissingAPIKeyError,
    RetryPolicy,
    RouterHubError,
)
from routerhub_images._sync import EventLoopBlockedWarning, ImageClient
from routerhub_images.emulator import (
    DEFAULT_API_KEY,
    EmulatorApp,
    EmulatorConfig,
    EmulatorServer,
    Fault,
    create_app,
)

BASE_URL = "http://localhost"
TEXT_ONLY = GenerationConfig(response_modalities=["TEXT"])
RENAMED = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}
"""Async method -> its blocking counterpart, where the names differ."""


class RecordingTransport(httpx.AsyncBaseTransport):
    """An ASGI transport to the emulator that notes the thread and loop of each request."""

    def __init__(self, app: EmulatorApp) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self.seen: list[tuple[int, int]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((threading.get_ident(), id(asyncio.get_running_loop())))
        return await self._inner.handle_async_request(request)


class Stall:
    """An emulator ``sleep`` that never ends by itself: it notes its start and its cancel."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.cancelled = threading.Event()

    async def __call__(self, seconds: float) -> None:
        self.started.set()
        try:
            await anyio.sleep_forever()
        finally:
            self.cancelled.set()


def make_client(
    app: EmulatorApp, transport: httpx.AsyncBaseTransport | None = None, **kwargs: Any
) -> ImageClient:
    return ImageClient(
        api_key=app.api_key,
        base_url=BASE_URL,
        transport=transport or httpx.ASGITransport(app=app),
        **kwargs,
    )


def text_call(client: ImageClient, prompt: str = "hi") -> GenerateContentResponse:
    return client.generate_content(None, prompt, generation_config=TEXT_ONLY)


def new_threads(before: set[threading.Thread]) -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t not in before}


def eventually(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.fixture
def app() -> EmulatorApp:
    return create_app()


@pytest.fixture
def client(app: EmulatorApp) -> Iterator[ImageClient]:
    with make_client(app) as client:
        yield client


@pytest.fixture
def stall() -> Stall:
    return Stall()


@pytest.fixture
def stalled_app(stall: Stall) -> EmulatorApp:
    return create_app(EmulatorConfig(latency=1.0), sleep=stall)


# --- calls ------------------------------------------------------------------------------


def test_generate_image_returns_the_parsed_answer(client: ImageClient) -> None:
    """generate_image blocks and returns the async client's GenerateContentResponse."""
    response = client.generate_image("a red fox", aspect_ratio="16:9")
    assert isinstance(response, GenerateContentResponse)
    assert [(i.width, i.height) for i in response.images] == [(1344, 768)]
    assert response.call is not None
    assert response.call.attempts == 1


def test_generate_content_and_edit_image_forward_their_arguments(
    client: ImageClient, app: EmulatorApp
) -> None:
    """generate_content and edit_image reach the server with what they were given."""
    first = client.generate_content("gemini-2.5-flash-image", "a boat")
    edited = client.edit_image(first.images[0], "make it red", aspect_ratio="4:3")
    assert [(i.width, i.height) for i in edited.images] == [(1184, 864)]
    assert [entry.model for entry in app.log.entries] == ["google/gemini-2.5-flash-image"] * 2


def test_calls_share_one_loop_thread_and_one_event_loop(app: EmulatorApp) -> None:
    """Every call, from any thread, runs on the same loop in one thread: the pool persists."""
    transport = RecordingTransport(app)
    with make_client(app, transport=transport) as client:
        text_call(client)
        thread = threading.Thread(target=text_call, args=(client,))
        thread.start()
        thread.join()
        text_call(client)
    assert len(transport.seen) == 3
    assert len(set(transport.seen)) == 1
    assert transport.seen[0][0] != threading.get_ident()


@pytest.mark.integration
def test_sixteen_threads_share_one_client(routerhub_emulator: EmulatorServer) -> None:
    """16 threads calling one client at once all get answers, over one loop thread."""
    before = set(threading.enumerate())
    barrier = threading.Barrier(16)

    def work(shared: ImageClient, n: int) -> list[tuple[str, str | None]]:
        barrier.wait()
        prompts = [f"thread {n} call {i}" for i in range(4)]
        return [(prompt, text_call(shared, prompt).text) for prompt in prompts]

    with (
        ImageClient(
            api_key=routerhub_emulator.api_key, base_url=routerhub_emulator.base_url
        ) as client,
        concurrent.futures.ThreadPoolExecutor(16) as pool,
    ):
        results = list(pool.map(work, [client] * 16, range(16)))
        loop_threads = {t for t in new_threads(before) if t.name == "routerhub-images-loop"}
    answers = [pair for pairs in results for pair in pairs]
    # Each caller gets the answer to its own call, never another thread's.
    assert all(text == f"Emulated answer to: {prompt}" for prompt, text in answers)
    assert routerhub_emulator.app.log.count == 64
    assert len(loop_threads) == 1


def test_many_threads_get_their_own_answers_in_process(app: EmulatorApp) -> None:
    """32 threads x 20 calls racing into one loop: every answer reaches its own caller."""
    barrier = threading.Barrier(32)

    def work(shared: ImageClient, n: int) -> list[bool]:
        barrier.wait()
        prompts = [f"t{n}c{i}" for i in range(20)]
        return [text_call(shared, p).text == f"Emulated answer to: {p}" for p in prompts]

    with make_client(app) as client, concurrent.futures.ThreadPoolExecutor(32) as pool:
        results = list(pool.map(work, [client] * 32, range(32)))
    assert [all(ok) for ok in results] == [True] * 32
    assert app.log.count == 640


def test_closing_while_many_threads_call_fails_each_call_cleanly(app: EmulatorApp) -> None:
    """close() racing 16 busy threads: each call answers or raises ClientClosedError; none hangs."""
    app.config.latency = 0.002
    client = make_client(app)
    outcomes: list[str] = []
    started = threading.Barrier(17)

    def hammer() -> None:
        started.wait()
        while True:
            try:
                text_call(client)
            except ClientClosedError:
                outcomes.append("closed")
                return
            except BaseException as exc:  # anything else is the failure this test looks for
                outcomes.append(repr(exc))
                return

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for thread in threads:
        thread.start()
    started.wait()
    deadline = time.monotonic() + 10
    while app.log.count <= 16 and time.monotonic() < deadline:  # calls in flight, not a guess
        time.sleep(0.01)
    client.close()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
    assert outcomes == ["closed"] * 16
    assert app.log.count > 16  # the threads did get calls through before the close


# --- the hand-off to the loop -----------------------------------------------------------


def test_a_call_made_after_close_never_runs() -> None:
    """Closed before the loop picks it up: the method is never called, ClientClosedError."""
    ran: list[bool] = []

    async def work(_: AsyncImageClient) -> str:
        ran.append(True)
        return "answer"

    client = ImageClient(api_key=DEFAULT_API_KEY, base_url=BASE_URL)
    client.close()
    with pytest.raises(ClientClosedError):
        client._runner.call(work)
    assert ran == []


def test_a_call_returns_its_value_and_raises_its_error_unchanged() -> None:
    """The method's answer, or the very exception object it raised, reaches the caller."""
    failure = InvalidInputError("bad prompt")

    async def ok(_: AsyncImageClient) -> str:
        return "answer"

    async def bad(_: AsyncImageClient) -> str:
        raise failure

    with ImageClient(api_key=DEFAULT_API_KEY, base_url=BASE_URL) as client:
        assert client._runner.call(ok) == "answer"
        with pytest.raises(InvalidInputError) as raised:
            client._runner.call(bad)
    assert raised.value is failure


def test_a_client_whose_loop_has_ended_refuses_calls(app: EmulatorApp) -> None:
    """A loop gone without close() must not strand later calls: they fail, none hang."""
    with make_client(app) as client:
        text_call(client)
        live = client._runner.live()
        live.portal.call(live.portal.stop)  # the loop ends behind the client's back
        live.thread.join(5)
        assert not live.thread.is_alive()
        with pytest.raises(ClientClosedError):
            text_call(client)
    assert app.log.count == 1


def test_an_interrupted_hand_off_neither_runs_its_call_nor_wedges_the_client(
    app: EmulatorApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C while a call is handed to the loop: it never runs, later calls still start."""
    with make_client(app) as client:
        text_call(client, "first")
        loop = client._runner.live().portal.call(asyncio.get_running_loop)
        wake_up = loop.call_soon_threadsafe
        interrupts = [KeyboardInterrupt()]

        def interrupted_once(*args: Any, **kwargs: Any) -> Any:
            if interrupts:
                raise interrupts.pop()
            return wake_up(*args, **kwargs)

        monkeypatch.setattr(loop, "call_soon_threadsafe", interrupted_once)
        with pytest.raises(KeyboardInterrupt):
            text_call(client, "interrupted")
        assert text_call(client, "later").text == "Emulated answer to: later"
    assert app.log.count == 2  # "first" and "later", never "interrupted"


# --- construction -----------------------------------------------------------------------


def test_missing_key_raises_at_construction_without_a_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No key: MissingAPIKeyError from the constructor, before any thread starts."""
    monkeypatch.delenv("ROUTERHUB_API_KEY", raising=False)
    before = set(threading.enumerate())
    with pytest.raises(MissingAPIKeyError):
        ImageClient(base_url=BASE_URL)
    assert new_threads(before) == set()


def test_insecure_base_url_raises_at_construction() -> None:
    """http:// to a remote host is refused by the constructor, as by AsyncImageClient."""
    with pytest.raises(InsecureTransportError):
        ImageClient(api_key=DEFAULT_API_KEY, base_url="http://example.com")


def test_settings_are_read_only_views_of_the_async_client() -> None:
    """base_url, auth, default_model, retry and strict_options match the async client's."""
    kwargs: dict[str, Any] = {
        "api_key": DEFAULT_API_KEY,
        "base_url": "https://example.com/",
        "auth": "x-goog-api-key",
        "max_retries": 2,
        "retry": RetryPolicy(deadline=9.0),
        "default_model": "gemini-3-pro-image-preview",
        "strict_options": False,
    }
    sync, expected = ImageClient(**kwargs), AsyncImageClient(**kwargs)
    for name in ("base_url", "auth", "default_model", "retry", "strict_options"):
        assert getattr(sync, name) == getattr(expected, name)
        with pytest.raises(AttributeError):
            setattr(sync, name, getattr(sync, name))
    sync.close()


def test_repr_hides_the_key() -> None:
    """The repr names the client and its settings but never the key."""
    client = ImageClient(api_key="rh_secret", base_url=BASE_URL)
    assert repr(client).startswith("<ImageClient base_url='http://localhost'")
    assert "rh_secret" not in repr(client)
    client.close()


# --- lifecycle --------------------------------------------------------------------------


def test_loop_thread_starts_at_first_call_and_is_gone_after_close(app: EmulatorApp) -> None:
    """No thread until the first call; exactly one while open; none after close()."""
    before = set(threading.enumerate())
    client = make_client(app)
    assert new_threads(before) == set()
    text_call(client)
    assert [t.name for t in new_threads(before)] == ["routerhub-images-loop"]
    client.close()
    assert new_threads(before) == set()


def test_calls_after_close_raise_client_closed_error(app: EmulatorApp) -> None:
    """After the with block, `closed` is True and calls raise ClientClosedError."""
    with make_client(app) as client:
        text_call(client)
    assert client.closed
    with pytest.raises(ClientClosedError):
        text_call(client)
    client.close()


def test_closing_an_unused_client_starts_no_thread(app: EmulatorApp) -> None:
    """close() on a client that never called does not start its loop."""
    before = set(threading.enumerate())
    client = make_client(app)
    client.close()
    assert client.closed
    assert new_threads(before) == set()
    with pytest.raises(ClientClosedError):
        text_call(client)


def test_close_fails_calls_running_in_other_threads(stalled_app: EmulatorApp, stall: Stall) -> None:
    """close() cancels a call another thread waits on; that thread gets ClientClosedError."""
    client = make_client(stalled_app)
    outcome: list[BaseException] = []

    def call() -> None:
        try:
            text_call(client)
        except BaseException as exc:  # the outcome is what the test checks
            outcome.append(exc)

    thread = threading.Thread(target=call)
    thread.start()
    assert stall.started.wait(5)
    client.close()
    thread.join(5)
    assert [type(e) for e in outcome] == [ClientClosedError]
    assert stall.cancelled.is_set()


@pytest.mark.integration
@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts fds through /proc")
def test_repeated_clients_leak_no_threads_loops_or_sockets(
    routerhub_emulator: EmulatorServer,
) -> None:
    """Opening, using and closing clients over and over leaves threads and fds as they were."""

    def cycle() -> None:
        url = routerhub_emulator.base_url
        with ImageClient(api_key=routerhub_emulator.api_key, base_url=url) as client:
            text_call(client)
            text_call(client)

    def fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    cycle()
    threads, baseline = set(threading.enumerate()), fds()
    for _ in range(15):
        cycle()
    assert set(threading.enumerate()) == threads
    # The server closes its ends once it reads EOF, a moment after each client's close.
    assert eventually(lambda: fds() <= baseline), (fds(), baseline)


def test_unclosed_client_is_closed_when_collected(app: EmulatorApp) -> None:
    """A dropped, unclosed client stops its loop thread and warns with a ResourceWarning."""
    before = set(threading.enumerate())
    client = make_client(app)
    text_call(client)
    with pytest.warns(ResourceWarning, match="not closed"):
        del client  # the last reference: collected at once
    assert new_threads(before) == set()


EXIT_SCRIPT = """
import os, sys, threading
import anyio, httpx
from routerhub_images import _sync
from routerhub_images._sync import ImageClient
from routerhub_images.emulator import EmulatorConfig, create_app

def client(app):
    transport = httpx.ASGITransport(app=app)
    return ImageClient(api_key=app.api_key, base_url="http://localhost", transport=transport)

open_client = client(create_app())
open_client.generate_image("left open", text_only=True)
if hasattr(os, "fork"):
    pid = os.fork()
    if pid == 0:
        open_client.generate_image("in the child", text_only=True)
        print("child answered", flush=True)
        sys.exit(0)
    print("child exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)

started = threading.Event()

async def stall(seconds):
    started.set()
    await anyio.sleep_forever()

stuck = client(create_app(EmulatorConfig(latency=1.0), sleep=stall))

def call():
    try:
        stuck.generate_image("never answered")
    except Exception as exc:
        print("stuck call:", type(exc).__name__, flush=True)

threading.Thread(target=call, daemon=True).start()
started.wait(10)

async def ignore_cancellation():
    with anyio.CancelScope(shield=True):
        await anyio.sleep_forever()

_sync.CLOSE_AT_EXIT_TIMEOUT = 0.2
wedged = client(create_app())
wedged.generate_image("then wedged", text_only=True)
wedged._runner.live().portal.start_task_soon(ignore_cancellation)
print("exiting", flush=True)
"""


def test_unclosed_clients_do_not_hang_interpreter_exit() -> None:
    """At exit, open clients close and warn: idle, stuck mid-call, wedged, in a forked child."""
    result = subprocess.run(  # noqa: S603 - this interpreter on a fixed script
        [sys.executable, "-W", "always::ResourceWarning", "-c", EXIT_SCRIPT],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "exiting" in result.stdout
    assert result.stderr.count("an ImageClient was not closed") >= 3, result.stderr
    if hasattr(os, "fork"):
        assert "child answered" in result.stdout
        assert "child exit 0" in result.stdout


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
# Python 3.12+ warns that forking a process with threads may deadlock; that is the case
# the after-fork reset exists for.
@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_forked_child_gets_a_fresh_loop_thread(app: EmulatorApp) -> None:
    """After fork the child's calls run on a new loop thread; the parent's keep working."""
    with make_client(app) as client:
        text_call(client)
        pid = os.fork()
        if pid == 0:  # the child: answer through the exit code, never return to pytest
            code = 1
            try:
                loops = [t for t in threading.enumerate() if t.name == "routerhub-images-loop"]
                code = 2 if loops else 3
                if text_call(client, "from the child").text:
                    alive = [t for t in threading.enumerate() if t.name == "routerhub-images-loop"]
                    code = 0 if len(alive) == 1 else 4
                client.close()
            finally:
                os._exit(code)
        deadline = time.monotonic() + 10
        while (waited := os.waitpid(pid, os.WNOHANG))[0] == 0:
            if time.monotonic() > deadline:
                os.kill(pid, signal.SIGKILL)
                pytest.fail("the forked child hung")
            time.sleep(0.01)
        assert os.waitstatus_to_exitcode(waited[1]) == 0
        assert text_call(client, "from the parent").text


# --- event loops and interrupts ---------------------------------------------------------


async def test_works_inside_a_running_event_loop_and_warns_once(app: EmulatorApp) -> None:
    """Called from a coroutine (a Jupyter cell), it answers and warns once per client."""
    with make_client(app) as first, make_client(app) as second:
        with pytest.warns(EventLoopBlockedWarning) as record:
            answers = [text_call(c) for c in (first, first, second, second)]
        await asyncio.sleep(0)
    assert all(a.text for a in answers)
    assert [w.category for w in record] == [EventLoopBlockedWarning] * 2
    assert {w.filename for w in record} == {__file__}


def test_a_half_imported_trio_is_no_event_loop(
    client: ImageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """trio being imported by another thread (httpcore imports it if installed) is no loop."""
    monkeypatch.setitem(sys.modules, "trio", types.ModuleType("trio"))  # no attributes yet
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert text_call(client).text


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_keyboard_interrupt_cancels_the_request(stalled_app: EmulatorApp, stall: Stall) -> None:
    """Ctrl-C while a call waits cancels its request; the next call on the client works."""

    def interrupt() -> None:
        stall.started.wait(5)
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with make_client(stalled_app) as client:
            threading.Thread(target=interrupt, daemon=True).start()
            with pytest.raises(KeyboardInterrupt):
                text_call(client, "slow")
            assert stall.cancelled.wait(5)
            stalled_app.config.latency = 0.0
            assert text_call(client, "next").text
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stalled_app.log.count == 1


def test_keyboard_interrupt_during_the_hand_over_cancels_the_request(
    stalled_app: EmulatorApp, stall: Stall, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C before the portal hands back the task's future still cancels the request."""
    start_task_soon = BlockingPortal.start_task_soon

    def interrupted(self: BlockingPortal, *args: Any, **kwargs: Any) -> Any:
        start_task_soon(self, *args, **kwargs)
        assert stall.started.wait(5)
        raise KeyboardInterrupt

    with make_client(stalled_app) as client:
        monkeypatch.setattr(BlockingPortal, "start_task_soon", interrupted)
        with pytest.raises(KeyboardInterrupt):
            text_call(client, "slow")
        assert stall.cancelled.wait(5)
        monkeypatch.undo()
        stalled_app.config.latency = 0.0
        assert text_call(client, "next").text


# --- errors -----------------------------------------------------------------------------


def _comparable(error: BaseException) -> dict[str, Any]:
    state = {k: v for k, v in vars(error).items() if k not in {"response", "headers", "call"}}
    state.pop("request_id", None)
    call = getattr(error, "call", None)
    return {"args": error.args, "attempts": call and call.attempts, **state}


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(Fault.status(400), id="400"),
        pytest.param(Fault.status(404), id="404"),
        pytest.param(Fault.status(429, retry_delay=3), id="429"),
        pytest.param(Fault.html(502), id="html-502"),
        pytest.param(Fault.truncated_json(), id="truncated-json"),
    ],
)
def test_errors_surface_unchanged(app: EmulatorApp, fault: Fault) -> None:
    """A failure raises the same class with the same attributes as the async client."""
    app.script(fault)
    with make_client(app, max_retries=0) as client, pytest.raises(RouterHubError) as sync_info:
        client.generate_image("a fox")

    async def call_async() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncImageClient(
            app.api_key, base_url=BASE_URL, transport=transport, max_retries=0
        ) as async_client:
            await async_client.generate_image("a fox")

    app.script(fault)
    with pytest.raises(RouterHubError) as async_info:
        asyncio.run(call_async())
    assert type(sync_info.value) is type(async_info.value)
    assert _comparable(sync_info.value) == _comparable(async_info.value)


def test_input_errors_surface_before_sending(client: ImageClient, app: EmulatorApp) -> None:
    """An empty prompt raises the async client's InvalidInputError; nothing is sent."""
    with pytest.raises(InvalidInputError, match="the prompt is empty"):
        client.generate_image("  ")
    assert app.log.count == 0


# --- the facade cannot drift from the async client ---------------------------------------


def _public_names(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_public_surface_matches_the_async_client() -> None:
    """Every public method and attribute of AsyncImageClient exists on ImageClient."""
    async_client = AsyncImageClient(DEFAULT_API_KEY)
    sync_client = ImageClient(DEFAULT_API_KEY)
    expected = {RENAMED.get(name, name) for name in _public_names(async_client)}
    assert _public_names(sync_client) == expected
    attributes = {n for n in expected if not callable(getattr(sync_client, n))}
    assert attributes == {
        "auth",
        "base_url",
        "closed",
        "default_model",
        "limits",
        "max_request_bytes",
        "retry",
        "strict_options",
    }
    assert all(isinstance(getattr(ImageClient, n), property) for n in attributes)
    sync_client.close()


def _methods() -> list[tuple[str, str]]:
    names = {n for n, v in vars(AsyncImageClient).items() if callable(v) and not n.startswith("_")}
    pairs = {(n, RENAMED.get(n, n)) for n in names} | {("__aenter__", "__enter__")}
    return sorted(pairs | {("__aexit__", "__exit__")})


@pytest.mark.parametrize(("async_name", "sync_name"), _methods())
def test_method_signatures_match(async_name: str, sync_name: str) -> None:
    """Each blocking method takes exactly the parameters of its async counterpart."""
    expected = inspect.signature(getattr(AsyncImageClient, async_name))
    actual = inspect.signature(getattr(ImageClient, sync_name))
    if async_name == "__aenter__":
        expected = expected.replace(return_annotation="ImageClient")
    if async_name == "chat":  # the blocking twin of AsyncChat
        expected = expected.replace(return_annotation="Chat")
    assert actual == expected


@pytest.mark.parametrize("name", ["generate_content", "generate_image", "edit_image"])
def test_docstrings_match(name: str) -> None:
    """The blocking methods carry the async methods' docstrings."""
    assert getattr(ImageClient, name).__doc__ == getattr(AsyncImageClient, name).__doc__


def test_constructor_takes_the_async_arguments_but_http_client() -> None:
    """ImageClient() accepts what AsyncImageClient() does, minus the loop-bound http_client."""
    expected = dict(inspect.signature(AsyncImageClient).parameters)
    del expected["http_client"]
    assert dict(inspect.signature(ImageClient).parameters) == expected
