"""docs/examples/fastapi_app.py served for real on 127.0.0.1, calling the emulator."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
import uvicorn

from routerhub_images import instant_retries
from routerhub_images.emulator import EmulatorServer, Fault

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "fastapi_app.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fastapi_app", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _serve(app: Any) -> tuple[uvicorn.Server, threading.Thread]:
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the app's server stopped while starting"
        assert time.monotonic() < deadline, "the app did not start in time"
        time.sleep(0.005)
    return server, thread


@pytest.fixture(scope="module")
def app_url(routerhub_emulator_server: EmulatorServer) -> Iterator[str]:
    """The example app served on 127.0.0.1, its client pointed at the session's emulator."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ROUTERHUB_API_KEY", routerhub_emulator_server.api_key)
        patch.setenv("ROUTERHUB_BASE_URL", routerhub_emulator_server.base_url)
        server, thread = _serve(_load_example().app)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


def _get(url: str, **params: str) -> httpx.Response:
    return httpx.get(f"{url}/image", params=params, timeout=10)


def test_the_app_answers_a_png(app_url: str, routerhub_emulator: EmulatorServer) -> None:
    """A prompt comes back as a PNG with its media type."""
    answer = _get(app_url, prompt="a cute otter", aspect_ratio="16:9")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/png"
    assert answer.content.startswith(PNG_SIGNATURE)


@pytest.mark.parametrize(
    "params",
    [{"prompt": "an otter", "aspect_ratio": "7:3"}, {"prompt": "something forbidden"}],
    ids=["unsupported-aspect-ratio", "blocked-prompt"],
)
def test_a_bad_input_is_a_422(
    app_url: str, routerhub_emulator: EmulatorServer, params: dict[str, str]
) -> None:
    """An input the library or the model refuses is the caller's 422, with the reason."""
    answer = _get(app_url, **params)
    assert answer.status_code == 422
    assert answer.json()["detail"]


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (Fault.status(503), 502),
        (Fault.status(401), 502),
        (Fault.status(429, retry_delay=1.5), 429),
        (Fault.disconnect(), 503),
    ],
    ids=["upstream-503", "bad-key", "rate-limited", "dropped-connection"],
)
def test_an_upstream_failure_maps_to_a_5xx_or_429(
    app_url: str, routerhub_emulator: EmulatorServer, fault: Fault, status: int
) -> None:
    """An upstream error left after the client's retries is a 5xx, or a 429 to wait out."""
    routerhub_emulator.app.script(*[fault] * 10)
    with instant_retries():
        answer = _get(app_url, prompt="a cute otter")
    assert answer.status_code == status
    assert answer.json()["detail"] is None


def test_a_rate_limit_answer_says_when_to_retry(
    app_url: str, routerhub_emulator: EmulatorServer
) -> None:
    """The upstream's retry delay reaches the caller as Retry-After, rounded up to seconds."""
    routerhub_emulator.app.script(*[Fault.status(429, retry_delay=1.5)] * 10)
    with instant_retries():
        answer = _get(app_url, prompt="a cute otter")
    assert answer.headers["retry-after"] == "2"


def test_usage_md_shows_the_example_as_it_is() -> None:
    """The FastAPI block of docs/usage.md is the example file, character for character."""
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    assert f"```python\n{EXAMPLE.read_text(encoding='utf-8')}```" in usage
