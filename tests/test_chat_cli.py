"""The ``chat`` and ``edit --session`` commands, against the built-in emulator."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from click.testing import CliRunner, Result

from routerhub_images._cli import main

MODEL = "gemini-3-pro-image-preview"


@pytest.fixture
def workdir(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """A temporary working directory with no key and no base URL in the environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ROUTERHUB_API_KEY", raising=False)
    monkeypatch.delenv("ROUTERHUB_BASE_URL", raising=False)
    return tmp_path


def invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=stdin)


def turns(path: pathlib.Path) -> int:
    saved: dict[str, Any] = json.loads(path.read_text())
    return len(saved["turns"])


def test_chat_saves_each_turn_and_the_session(workdir: pathlib.Path) -> None:
    """Two turns, /undo, /save and /quit: numbered images, both session files."""
    lines = "a cat\nmake it night\n/undo\n/save s.json\n/quit\n"
    result = invoke("chat", "-m", MODEL, stdin=lines)
    assert result.exit_code == 0, result.output
    assert (workdir / "turn-01.png").exists()
    assert (workdir / "turn-02.png").exists()
    assert turns(workdir / "s.json") == 1
    assert turns(workdir / "chat.json") == 1


def test_chat_resumes_its_session(workdir: pathlib.Path) -> None:
    """A second chat run on the same session continues after its last turn."""
    invoke("chat", "-m", MODEL, stdin="a cat\n")
    result = invoke("chat", stdin="make it night\n")
    assert result.exit_code == 0, result.output
    assert turns(workdir / "chat.json") == 2
    assert (workdir / "turn-02.png").exists()


def test_chat_error_keeps_going(workdir: pathlib.Path) -> None:
    """A blocked turn prints an error; the chat continues and the turn is not kept."""
    result = invoke("chat", "-m", MODEL, stdin="a cat\nforbidden thing\nmake it night\n")
    assert result.exit_code == 0, result.output
    assert "blocked" in result.output
    assert turns(workdir / "chat.json") == 2


def test_edit_session_continues_a_saved_session(workdir: pathlib.Path) -> None:
    """`edit --session s.json PROMPT` adds one turn and saves its image as s-NN.png."""
    invoke("chat", "-m", MODEL, "--session", "s.json", stdin="a cat\n")
    result = invoke("edit", "--session", "s.json", "make it night")
    assert result.exit_code == 0, result.output
    assert turns(workdir / "s.json") == 2
    assert (workdir / "s-02.png").exists()


def test_edit_without_image_or_session_is_a_usage_error(workdir: pathlib.Path) -> None:
    """Without --session, edit still needs an IMAGE."""
    result = invoke("edit", "make it night", "-o", "out.png")
    assert result.exit_code == 2
    assert "IMAGE" in result.output


def test_ctrl_c_saves_the_history(tmp_path: pathlib.Path) -> None:
    """SIGINT while waiting for input saves the session before exiting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERHUB_")}
    command = [sys.executable, "-m", "routerhub_images", "chat", "-m", MODEL]
    with subprocess.Popen(  # noqa: S603 - our own interpreter
        command,
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as proc:
        assert proc.stdin is not None
        proc.stdin.write(b"a cat\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not (tmp_path / "turn-01.png").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=30)
    assert b"session saved to chat.json (1 turns)" in stderr
    assert turns(tmp_path / "chat.json") == 1
