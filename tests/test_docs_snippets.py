"""Every Python block of README.md and docs/*.md runs as written against the emulator.

Each block runs in process, in a fresh namespace as ``__main__``, in a temporary directory
holding the input files it names, with ``ROUTERHUB_API_KEY`` and ``ROUTERHUB_BASE_URL``
pointing at the emulator on 127.0.0.1. A block defining ``test_*`` functions is a pytest
example: its tests are called with the fixtures they name. A block preceded by
``<!-- no-run -->`` is skipped, and reported as such.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from typing import Any

import pytest

from routerhub_images import (
    AsyncImageClient,
    ImageClient,
    MissingAPIKeyError,
    UnavailableError,
    instant_retries,
)
from routerhub_images.emulator import (
    DEFAULT_API_KEY,
    EmulatorApp,
    EmulatorServer,
    Fault,
    in_process_sync_client,
)
from routerhub_images.emulator._server import DEFAULT_HOST, DEFAULT_PORT

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
NO_RUN = "<!-- no-run -->"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)
INPUT_FILE = re.compile(r"""["']([\w./-]+\.(?:png|jpe?g|webp|txt|jsonl))["']""")
PROMPTS = "a red fox in snow\na lighthouse at dawn\n"


def _blocks(paths: list[Path] = DOCS, root: Path = ROOT) -> list[Any]:
    """One pytest param per python block, id ``file:line``; a no-run block is skipped."""
    params = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        for match in BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
            marks = [pytest.mark.skip(reason="marked no-run")] if before == NO_RUN else []
            name = f"{path.relative_to(root)}:{line}"
            params.append(pytest.param(match.group(1), id=name, marks=marks))
    return params


def _image(name: str) -> bytes:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    kind = "JPEG" if name.endswith((".jpg", ".jpeg")) else name.rsplit(".", 1)[-1].upper()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, kind)
    return buffer.getvalue()


def _create_inputs(code: str, directory: Path) -> None:
    for name in set(INPUT_FILE.findall(code)):
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        text = name.endswith((".txt", ".jsonl"))
        path.write_bytes(PROMPTS.encode() if text else _image(name))


def _run_documented_tests(namespace: dict[str, Any], request: pytest.FixtureRequest) -> None:
    """Call each ``test_*`` function of a block with the fixtures it names."""
    tests = [v for k, v in namespace.items() if k.startswith("test_") and callable(v)]
    for test in tests:
        names = inspect.signature(test).parameters
        result = test(**{name: request.getfixturevalue(name) for name in names})
        if inspect.iscoroutine(result):
            asyncio.run(result)


@pytest.mark.parametrize("code", _blocks())
def test_documented_python_block_runs(
    code: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    routerhub_emulator: EmulatorServer,
    request: pytest.FixtureRequest,
) -> None:
    """The block runs to its end against the emulator, as a reader would run it."""
    _create_inputs(code, tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ROUTERHUB_API_KEY", routerhub_emulator.api_key)
    monkeypatch.setenv("ROUTERHUB_BASE_URL", routerhub_emulator.base_url)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with instant_retries():
        exec(compile(code, request.node.callspec.id, "exec"), namespace)  # noqa: S102 - our docs
        _run_documented_tests(namespace, request)


def test_every_doc_has_its_blocks_found() -> None:
    """The extractor sees as many python blocks as the files hold fences."""
    fences = sum(p.read_text(encoding="utf-8").count("```python\n") for p in DOCS)
    assert len(_blocks()) == fences > 10


def test_the_missing_key_error_says_how_to_run_without_a_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """MissingAPIKeyError names the emulator's key, its default URL and the in-process client."""
    monkeypatch.delenv("ROUTERHUB_API_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError) as caught:
        AsyncImageClient()
    message = str(caught.value)
    assert f"ROUTERHUB_API_KEY={DEFAULT_API_KEY}" in message
    assert f"ROUTERHUB_BASE_URL=http://{DEFAULT_HOST}:{DEFAULT_PORT}" in message
    assert "in_process_client()" in message
    assert "docs/emulator.md" in message


def test_the_sync_in_process_client_calls_its_app_without_sockets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """in_process_sync_client answers blocking calls from the given app, with no key set."""
    monkeypatch.delenv("ROUTERHUB_API_KEY", raising=False)
    app = EmulatorApp()
    with in_process_sync_client(app, max_retries=0) as client:
        response = client.generate_image("a cute otter", aspect_ratio="16:9")
    assert isinstance(client, ImageClient)
    assert (response.images[0].width, response.images[0].height) == (1344, 768)
    assert app.log.statuses == [200]


def test_the_sync_in_process_client_passes_options_to_the_client() -> None:
    """Options such as max_retries reach the ImageClient: a scripted 503 is final."""
    app = EmulatorApp()
    app.script(Fault.status(503))
    with in_process_sync_client(app, max_retries=0) as client, pytest.raises(UnavailableError):
        client.generate_image("a cute otter")
    assert app.log.statuses == [503]


def test_a_block_marked_no_run_is_reported_as_skipped(tmp_path: Path) -> None:
    """A block after ``<!-- no-run -->`` becomes a skipped param; the next block runs."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        f"{NO_RUN}\n```python\ndef f(x: int) -> int: ...\n```\n\n```python\nprint(1)\n```\n"
    )
    skipped, runs = _blocks([doc], tmp_path)
    assert (skipped.id, [m.name for m in skipped.marks]) == ("doc.md:2", ["skip"])
    assert (runs.id, list(runs.marks), runs.values) == ("doc.md:6", [], ("print(1)\n",))
