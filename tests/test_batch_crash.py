"""Crash safety: a batch process killed with SIGKILL mid-run loses and repeats nothing."""

from __future__ import annotations

import collections
import io
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from routerhub_images import AsyncImageClient
from routerhub_images.batch import MANIFEST_NAME, BatchRunner, load_jobs, read_manifest
from routerhub_images.emulator import EmulatorServer

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(sys.platform == "win32", reason="needs SIGKILL"),
]

JOBS = 40
LATENCY = 0.05
"""Server latency while the child runs: slow enough that SIGKILL lands mid-batch."""
SETTLE = 0.25
"""Seconds without a new request after which the killed child's calls count as answered."""

CHILD = """
import asyncio, sys
from routerhub_images import AsyncImageClient
from routerhub_images.batch import BatchRunner, load_jobs

async def main(base_url, api_key, jobs, out):
    async with AsyncImageClient(api_key=api_key, base_url=base_url) as client:
        await BatchRunner(client, out, concurrency=4).run(load_jobs(jobs))

asyncio.run(main(*sys.argv[1:]))
"""


def run_and_kill(args: list[str], manifest: pathlib.Path, after_lines: int) -> int:
    """Run the batch in a child process, SIGKILL it once it recorded some jobs."""
    command = [sys.executable, "-c", CHILD, *args]
    env = {**os.environ, "PYTHONWARNINGS": "error"}
    process = subprocess.Popen(command, env=env)  # noqa: S603 - our interpreter, our code
    try:
        wait_for_lines(manifest, after_lines, process)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    return process.returncode


def wait_for_lines(manifest: pathlib.Path, count: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and process.poll() is None:
        if manifest.exists() and manifest.read_bytes().count(b"\n") >= count:
            return
        time.sleep(0.005)
    pytest.fail(f"the batch process did not record {count} jobs (exit {process.poll()})")


def settled_count(server: EmulatorServer) -> int:
    """The request count once the killed process's calls in flight are answered."""
    count = -1
    while count != server.app.log.count:
        count = server.app.log.count
        time.sleep(SETTLE)
    return count


def assert_complete_png(path: pathlib.Path, size: int) -> None:
    data = path.read_bytes()
    assert len(data) == size
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # decodes every chunk: a truncated file fails here


async def test_sigkill_mid_run_loses_nothing_and_repeats_nothing(
    routerhub_emulator: EmulatorServer, tmp_path: pathlib.Path
) -> None:
    """Kill -9 mid-batch: ok lines name complete PNGs; a restart does exactly the rest."""
    server = routerhub_emulator
    server.app.config.latency = LATENCY
    jobs_file = tmp_path / "prompts.txt"
    jobs_file.write_text("".join(f"a lighthouse at dusk, variant {i}\n" for i in range(JOBS)))
    jobs = load_jobs(jobs_file)
    out = tmp_path / "out"
    manifest = out / MANIFEST_NAME

    args = [server.base_url, server.api_key, str(jobs_file), str(out)]
    assert run_and_kill(args, manifest, after_lines=10) == -signal.SIGKILL

    first = read_manifest(manifest)
    done_first = {e.job_id for e in first if e.status == "ok"}
    assert 10 <= len(done_first) < JOBS
    for entry in first:
        assert entry.status == "ok"
        for image in entry.files:
            assert not image.name.startswith(".")
            assert not image.name.endswith(".tmp")
            assert_complete_png(out / image.name, image.size)

    requests_before = settled_count(server)
    server.app.config.latency = 0.0  # the restart need not be slow
    async with AsyncImageClient(api_key=server.api_key, base_url=server.base_url) as client:
        summary = await BatchRunner(client, out, concurrency=4).run(jobs)
    assert summary.skipped == len(done_first)
    assert summary.ok == JOBS - len(done_first)
    assert summary.failed == 0
    assert server.app.log.count - requests_before == summary.ok == summary.requests

    entries = read_manifest(manifest)
    ok_lines = collections.Counter(e.job_id for e in entries if e.status == "ok")
    assert set(ok_lines) == {job.id for job in jobs}
    assert max(ok_lines.values()) == 1  # no job done twice
    for entry in entries:
        (image,) = entry.files
        assert_complete_png(out / image.name, image.size)
    assert not [name for name in os.listdir(out) if name.endswith(".tmp")]
