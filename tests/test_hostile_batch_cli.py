"""Hostile manifests, files and server text: resume trusts only what it wrote; the CLI
prints no terminal controls a server sent."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import logging
import os
import pathlib
import sys
import threading
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner, Result

from routerhub_images import AsyncImageClient
from routerhub_images._cli._text import printable
from routerhub_images.batch import MANIFEST_NAME, BatchJob, BatchRunner, read_manifest
from routerhub_images.cli import ExitCode, main
from routerhub_images.emulator import EmulatorServer

pytestmark = pytest.mark.integration

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x08"
"""Retitles the terminal, clears the screen, and backspaces."""

CONTROLS = ("\x1b", "\x07", "\x08", "\x9b", "\x7f")


# -- batch resume ------------------------------------------------------------------------


@pytest.fixture
def out(tmp_path: pathlib.Path) -> pathlib.Path:
    return tmp_path / "out"


@pytest.fixture
def outside(tmp_path: pathlib.Path) -> pathlib.Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def make_jobs(count: int) -> list[BatchJob]:
    return [BatchJob.create(f"a lighthouse at dusk, take {i}") for i in range(count)]


def rewrite_manifest(out: pathlib.Path, edit: Any) -> None:
    """Apply ``edit`` to every manifest line (as a dict) and write the lines back."""
    manifest = out / MANIFEST_NAME
    entries = [json.loads(line) for line in manifest.read_text().splitlines()]
    manifest.write_text("".join(json.dumps(edit(e)) + "\n" for e in entries))


async def run_again(
    client: AsyncImageClient, server: EmulatorServer, out: pathlib.Path, jobs: list[BatchJob]
) -> int:
    """Resume the batch; return how many requests reached the server."""
    server.app.log.clear()
    await BatchRunner(client, out).run(jobs)
    return server.app.log.count


async def test_entries_record_the_sha256_of_each_file(
    emulator_client: AsyncImageClient, out: pathlib.Path
) -> None:
    """Each ok line records the SHA-256 of the bytes written."""
    await BatchRunner(emulator_client, out).run(make_jobs(2))
    for entry in read_manifest(out / MANIFEST_NAME):
        (image,) = entry.files
        assert image.sha256 == hashlib.sha256((out / image.name).read_bytes()).hexdigest()


async def test_a_whole_last_line_without_its_newline_is_kept_and_not_paid_twice(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer, out: pathlib.Path
) -> None:
    """A valid last line missing only its newline still marks its job finished."""
    jobs = make_jobs(3)
    await BatchRunner(emulator_client, out).run(jobs)
    manifest = out / MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes().rstrip(b"\n"))
    assert len(read_manifest(manifest)) == 3
    assert await run_again(emulator_client, routerhub_emulator, out, jobs) == 0


async def test_the_line_after_a_kept_unterminated_line_starts_a_new_line(
    emulator_client: AsyncImageClient, out: pathlib.Path
) -> None:
    """Opening such a manifest ends the last line, so the next append is its own line."""
    jobs = make_jobs(3)
    await BatchRunner(emulator_client, out).run(jobs[:2])
    manifest = out / MANIFEST_NAME
    manifest.write_bytes(manifest.read_bytes().rstrip(b"\n"))
    summary = await BatchRunner(emulator_client, out).run(jobs)
    assert (summary.skipped, summary.ok) == (2, 1)
    ids = [e.job_id for e in read_manifest(manifest)]
    assert sorted(ids) == sorted(j.id for j in jobs)
    assert ids[-1] == jobs[2].id
    assert manifest.read_bytes().count(b"\n") == 3


def test_a_last_line_that_is_json_but_not_an_entry_is_dropped(tmp_path: pathlib.Path) -> None:
    """An unterminated tail that does not parse as a whole entry is torn: skipped."""
    manifest = tmp_path / MANIFEST_NAME
    manifest.write_bytes(b'{"job_id":"a","prompt_hash":"h","status":"ok"}\n{"job_id":"b"}')
    assert [e.job_id for e in read_manifest(manifest)] == ["a"]


async def test_a_tampered_file_of_the_same_size_is_redone(
    emulator_client: AsyncImageClient,
    routerhub_emulator: EmulatorServer,
    out: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Same size, different bytes: the hash differs, so the job runs again and says so."""
    jobs = make_jobs(2)
    await BatchRunner(emulator_client, out).run(jobs)
    target = out / f"{jobs[0].id}.png"
    original = target.read_bytes()
    target.write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    with caplog.at_level(logging.WARNING, logger="routerhub_images"):
        server = routerhub_emulator
        server.app.log.clear()
        summary = await BatchRunner(emulator_client, out).run(jobs)
    assert server.app.log.count == 1
    assert (summary.skipped, summary.ok, summary.redone) == (1, 1, 1)
    assert "SHA-256 differs" in caplog.text
    assert target.read_bytes() == original  # the emulator draws the same image again


@pytest.mark.parametrize("where", ["relative", "absolute"])
async def test_an_entry_naming_a_file_outside_the_directory_is_redone(
    emulator_client: AsyncImageClient,
    routerhub_emulator: EmulatorServer,
    out: pathlib.Path,
    outside: pathlib.Path,
    where: str,
) -> None:
    """A line pointing out of the directory is not trusted, even with matching bytes."""
    jobs = make_jobs(1)
    await BatchRunner(emulator_client, out).run(jobs)
    own = out / f"{jobs[0].id}.png"
    secret = outside / "secret.png"
    secret.write_bytes(own.read_bytes())
    own.unlink()
    name = "../outside/secret.png" if where == "relative" else str(secret)

    def point_outside(entry: dict[str, Any]) -> dict[str, Any]:
        entry["files"][0]["name"] = name
        return entry

    rewrite_manifest(out, point_outside)
    before = secret.stat()
    assert await run_again(emulator_client, routerhub_emulator, out, jobs) == 1
    assert own.is_file()
    after = secret.stat()
    assert (after.st_mtime_ns, after.st_size) == (before.st_mtime_ns, before.st_size)
    assert sorted(os.listdir(outside)) == ["secret.png"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need privileges on Windows")
async def test_a_symlink_leading_out_is_redone_and_not_written_through(
    emulator_client: AsyncImageClient,
    routerhub_emulator: EmulatorServer,
    out: pathlib.Path,
    outside: pathlib.Path,
) -> None:
    """A symlink in place of a finished file is replaced by a real file; its target is kept."""
    jobs = make_jobs(1)
    await BatchRunner(emulator_client, out).run(jobs)
    own = out / f"{jobs[0].id}.png"
    secret = outside / "secret.png"
    secret.write_bytes(own.read_bytes())  # same bytes: only the link gives it away
    own.unlink()
    own.symlink_to(secret)
    before = secret.stat()
    assert await run_again(emulator_client, routerhub_emulator, out, jobs) == 1
    assert not own.is_symlink()
    assert own.is_file()
    assert secret.stat().st_mtime_ns == before.st_mtime_ns


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
async def test_a_fifo_in_place_of_a_file_is_redone_without_blocking(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer, out: pathlib.Path
) -> None:
    """A FIFO under a finished file's name is not opened for a blocking read."""
    jobs = make_jobs(1)
    await BatchRunner(emulator_client, out).run(jobs)
    own = out / f"{jobs[0].id}.png"
    own.unlink()
    os.mkfifo(own)
    assert await run_again(emulator_client, routerhub_emulator, out, jobs) == 1
    assert own.is_file()


async def test_an_old_entry_without_a_hash_is_trusted_by_its_size(
    emulator_client: AsyncImageClient, routerhub_emulator: EmulatorServer, out: pathlib.Path
) -> None:
    """Lines written before hashes were recorded still resume, checked by size."""
    jobs = make_jobs(2)
    await BatchRunner(emulator_client, out).run(jobs)

    def drop_hash(entry: dict[str, Any]) -> dict[str, Any]:
        del entry["files"][0]["sha256"]
        return entry

    rewrite_manifest(out, drop_hash)
    assert await run_again(emulator_client, routerhub_emulator, out, jobs) == 0


# -- CLI output --------------------------------------------------------------------------


class _HostileHandler(http.server.BaseHTTPRequestHandler):
    """Answers every call with the scripted status and JSON body."""

    protocol_version = "HTTP/1.1"
    answer: ClassVar[tuple[int, dict[str, Any]]] = (200, {})

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        code, body = self.answer
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_server() -> Iterator[tuple[str, type[_HostileHandler]]]:
    handler = type("Handler", (_HostileHandler,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def text_answer(text: str) -> dict[str, Any]:
    parts = [{"text": text}]
    return {"candidates": [{"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}]}


def error_answer(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message}}


def cli(base_url: str, *args: str) -> Result:
    env = {"ROUTERHUB_API_KEY": "rh_test_hostile_key_0123", "ROUTERHUB_BASE_URL": base_url}
    return CliRunner().invoke(main, list(args), env=env)


def assert_no_controls(result: Result) -> None:
    for stream in (result.stdout, result.stderr):
        assert not [c for c in CONTROLS if c in stream], repr(stream)


@pytest.mark.parametrize(
    ("text", "readable"),
    [
        ("a\x1b]0;pwned\x07b", "ab"),
        ("x\x1b[2Jy", "xy"),
        ("ab\x08c", "abc"),
        ("t\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "tlink"),
        ("\x9b31mred\x7f\x85", "red"),
        ("line\r\nnext\ttab", "line\nnext\ttab"),
        ("héllo ✓ 雪", "héllo ✓ 雪"),
    ],
    ids=["osc-title", "csi-clear", "backspace", "osc-hyperlink", "c1-del", "cr", "unicode"],
)
def test_printable_removes_controls_and_keeps_text(text: str, readable: str) -> None:
    """Escape sequences go whole, other controls one by one; newline, tab, Unicode stay."""
    assert printable(text) == readable


def test_response_text_is_printed_without_controls(
    hostile_server: tuple[str, type[_HostileHandler]], workdir: pathlib.Path
) -> None:
    """Text from the server reaches stdout without ESC, BEL or backspace."""
    url, handler = hostile_server
    handler.answer = (200, text_answer(f"Here{HOSTILE} is your text"))
    result = cli(url, "generate", "fox", "--text-only")
    assert result.exit_code == 0, result.output
    assert "Here is your text" in result.stdout
    assert_no_controls(result)


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_error_message_is_printed_without_controls(
    hostile_server: tuple[str, type[_HostileHandler]], workdir: pathlib.Path, debug: bool
) -> None:
    """A server error message (and its --debug traceback) loses its terminal controls."""
    url, handler = hostile_server
    handler.answer = (400, error_answer(400, f"INVALID{HOSTILE}_ARGUMENT", f"No{HOSTILE} way"))
    args = ["--debug"] if debug else []
    result = cli(url, *args, "generate", "fox", "-o", "fox.png")
    assert result.exit_code == ExitCode.API, result.output
    assert "No way" in result.stderr
    assert "INVALID_ARGUMENT" in result.stderr
    assert_no_controls(result)


def test_declared_image_type_is_printed_without_controls(
    hostile_server: tuple[str, type[_HostileHandler]], workdir: pathlib.Path
) -> None:
    """The server's MIME type, shown for bytes that are no known format, loses its controls."""
    url, handler = hostile_server
    blob = {"mimeType": f"image/odd{HOSTILE}", "data": base64.b64encode(b"not a png").decode()}
    parts = [{"inlineData": blob}]
    candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}
    handler.answer = (200, {"candidates": [candidate]})
    result = cli(url, "generate", "fox", "-o", "fox")
    assert result.exit_code == 0, result.output
    assert "unknown size ODD, 9 bytes" in result.stdout
    assert_no_controls(result)


def test_finish_message_is_printed_without_controls(
    hostile_server: tuple[str, type[_HostileHandler]], workdir: pathlib.Path
) -> None:
    """A server finish reason quoted in an error loses its terminal controls."""
    url, handler = hostile_server
    handler.answer = (200, {"candidates": [{"finishReason": f"ODD{HOSTILE}"}]})
    result = cli(url, "generate", "fox", "--text-only")
    assert result.exit_code == ExitCode.API, result.output
    assert "ODD" in result.stderr
    assert_no_controls(result)


def test_batch_failures_are_summarized_without_controls(
    hostile_server: tuple[str, type[_HostileHandler]], workdir: pathlib.Path
) -> None:
    """A failed batch job's server status appears in the summary without controls or markup."""
    url, handler = hostile_server
    status = f"[bold]INVALID{HOSTILE}_ARGUMENT"
    handler.answer = (400, error_answer(400, status, f"No{HOSTILE} way"))
    (workdir / "prompts.txt").write_text("a fox\n")
    result = cli(url, "batch", "prompts.txt", "-o", "out")
    assert result.exit_code == ExitCode.BATCH_PARTIAL, result.output
    assert "failed: 400 [bold]INVALID_ARGUMENT" in result.stdout
    assert_no_controls(result)
