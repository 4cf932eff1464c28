"""routerhub-images batch: the engine behind a progress bar, a summary and exit codes."""

from __future__ import annotations

import json
import logging
import os
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from routerhub_images import instant_retries
from routerhub_images._cli._context import CliState
from routerhub_images._constants import LOGGER_NAME
from routerhub_images.batch import MANIFEST_NAME, read_manifest
from routerhub_images.cli import ExitCode, main
from routerhub_images.emulator import EmulatorServer, Fault, create_app

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAKE_KEY = "rh_live_FAKE_batch_key_0123456789"


def write_jobs(path: pathlib.Path, *prompts: str) -> pathlib.Path:
    path.write_text("".join(f"{p}\n" for p in prompts), encoding="utf-8")
    return path


def invoke(*args: str, state: CliState | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=state, env=env)


def pngs(folder: pathlib.Path) -> list[pathlib.Path]:
    files = sorted(folder.glob("*.png"))
    for file in files:
        assert file.read_bytes().startswith(PNG_SIGNATURE)
        with Image.open(file) as image:
            image.verify()
    return files


def test_batch_writes_every_image_and_a_summary(workdir: pathlib.Path) -> None:
    """Every prompt becomes a PNG; the summary table is on stdout, the bar on stderr."""
    write_jobs(workdir / "jobs.txt", "an otter", "a fox", "# a comment", "a heron")
    result = invoke("batch", "jobs.txt", "-o", "out")
    assert result.exit_code == 0, result.output
    assert len(pngs(workdir / "out")) == 3
    assert len(read_manifest(workdir / "out" / MANIFEST_NAME)) == 3
    assert "images written" in result.stdout
    assert "3/3 3 ok 0 failed 0 retries" in result.stderr
    assert "using the built-in emulator" in result.stderr


def test_jsonl_jobs_carry_their_options(workdir: pathlib.Path) -> None:
    """A JSONL jobs file sets each job's id and aspect ratio."""
    lines = [{"id": "wide", "prompt": "a wide otter", "aspect_ratio": "16:9"}, {"prompt": "a fox"}]
    (workdir / "jobs.jsonl").write_text("\n".join(json.dumps(line) for line in lines))
    result = invoke("batch", "jobs.jsonl", "-o", "out")
    assert result.exit_code == 0, result.output
    with Image.open(workdir / "out" / "wide.png") as image:
        assert image.size == (1344, 768)


def test_partial_failure_exits_5_and_resume_retries_only_failures(workdir: pathlib.Path) -> None:
    """A failed job gives exit 5 and one error line; a rerun skips what is done."""
    write_jobs(workdir / "jobs.txt", "an otter", "something forbidden", "a fox")
    first = invoke("batch", "jobs.txt", "-o", "out")
    assert first.exit_code == ExitCode.BATCH_PARTIAL, first.output
    errors = [line for line in first.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: 1 of 3 jobs failed; rerun the same command to retry them"]
    assert "failed: PromptBlockedError" in first.stdout
    assert "Traceback" not in first.output

    second = invoke("batch", "jobs.txt", "-o", "out")
    assert second.exit_code == ExitCode.BATCH_PARTIAL
    assert "2 skipped" in second.stderr
    assert len(pngs(workdir / "out")) == 2


def test_retries_are_counted_live_and_in_the_summary(workdir: pathlib.Path) -> None:
    """A 503 retried by the client shows in the bar's retries and the summary."""
    write_jobs(workdir / "jobs.txt", "an otter")
    app = create_app()
    app.script(Fault.status(503))
    with instant_retries():
        result = invoke("batch", "jobs.txt", "-o", "out", state=CliState(emulator_app=app))
    assert result.exit_code == 0, result.output
    assert "1/1 1 ok 0 failed 1 retries" in result.stderr
    assert "2 (1)" in result.stdout


def test_retries_are_counted_without_logging(
    workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bar counts retries from the runner's events, not from the client's log lines."""
    monkeypatch.setattr(logging.getLogger(LOGGER_NAME), "disabled", True)
    write_jobs(workdir / "jobs.txt", "an otter", "a fox")
    app = create_app()
    app.script(Fault.status(429, retry_delay=0.01), Fault.status(503))
    with instant_retries():
        args = ["batch", "jobs.txt", "-o", "out", "--rpm", "60000"]
        result = invoke(*args, state=CliState(emulator_app=app))
    assert result.exit_code == 0, result.output
    assert "2/2 2 ok 0 failed 2 retries" in result.stderr


def test_shards_split_the_jobs(workdir: pathlib.Path) -> None:
    """--shard 0/2 and 1/2 together run every job exactly once."""
    write_jobs(workdir / "jobs.txt", *(f"prompt {i}" for i in range(6)))
    for k in (0, 1):
        result = invoke("batch", "jobs.txt", "-o", "out", "--shard", f"{k}/2")
        assert result.exit_code == 0, result.output
    assert len(pngs(workdir / "out")) == 6


@pytest.mark.parametrize(
    "args",
    [
        ["batch", "jobs.txt", "-o", "out", "--shard", "2/2"],
        ["batch", "jobs.txt", "-o", "out", "--shard", "half"],
        ["batch", "jobs.txt", "-o", "out", "--concurrency", "0"],
        ["batch", "jobs.txt", "-o", "out", "--rpm", "0"],
        ["batch", "jobs.txt"],
    ],
    ids=["shard-out-of-range", "shard-malformed", "concurrency", "rpm", "no-output"],
)
def test_bad_options_exit_2(workdir: pathlib.Path, args: list[str]) -> None:
    """Malformed batch options are usage errors."""
    write_jobs(workdir / "jobs.txt", "an otter")
    result = invoke(*args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert not (workdir / "out").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read jobs file"), ('{"prompt": 3}\n', "'prompt' (a string) is required")],
    ids=["missing", "bad-jsonl"],
)
def test_bad_jobs_file_exits_3(workdir: pathlib.Path, content: str | None, message: str) -> None:
    """A missing or invalid jobs file is an input error: one line, exit 3."""
    if content is not None:
        (workdir / "jobs.jsonl").write_text(content)
    result = invoke("batch", "jobs.jsonl", "-o", "out")
    assert result.exit_code == ExitCode.INPUT, result.output
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert message in line
    assert "Traceback" not in result.output


@pytest.mark.parametrize(("concurrency", "pool"), [("8", None), ("256", None), ("300", 300)])
def test_the_pool_holds_every_call_the_batch_runs_at_once(
    workdir: pathlib.Path, concurrency: str, pool: int | None
) -> None:
    """Above the default pool of 256 connections, --concurrency sizes the client's pool."""
    write_jobs(workdir / "jobs.txt", "an otter")
    state = CliState()
    result = invoke("batch", "jobs.txt", "-o", "out", "--concurrency", concurrency, state=state)
    assert result.exit_code == 0, result.output
    if pool is None:
        assert state.limits is None
    else:
        assert state.limits is not None
        assert state.limits.max_connections == state.limits.max_keepalive_connections == pool
        client = CliState(api_key=FAKE_KEY, limits=state.limits).open_client()
        assert client._pools._limits is state.limits


@pytest.mark.integration
def test_rejected_key_stops_the_batch_with_exit_4(
    workdir: pathlib.Path, routerhub_emulator: EmulatorServer
) -> None:
    """A key the server rejects stops the batch: exit 4, and the key is not printed."""
    write_jobs(workdir / "jobs.txt", "an otter", "a fox")
    env = {"ROUTERHUB_API_KEY": FAKE_KEY}
    result = invoke(
        "--base-url", routerhub_emulator.base_url, "batch", "jobs.txt", "-o", "out", env=env
    )
    assert result.exit_code == ExitCode.API, result.output
    assert "error: the batch stopped early: the API key was rejected" in result.stderr
    assert FAKE_KEY not in result.output


def test_progress_through_pipes_in_a_subprocess(tmp_path: pathlib.Path) -> None:
    """With stdout and stderr piped, the bar is printed once, without terminal codes."""
    write_jobs(tmp_path / "jobs.txt", "an otter", "a fox")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERHUB_")}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [sys.executable, "-m", "routerhub_images", "batch", "jobs.txt", "-o", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    for stream in (proc.stdout, proc.stderr):
        assert "\x1b[" not in stream
        assert "\r" not in stream
    assert proc.stderr.count("2/2 2 ok 0 failed 0 retries") == 1
    assert "images written" in proc.stdout
    assert len(pngs(tmp_path / "out")) == 2
