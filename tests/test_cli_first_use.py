"""The command line's first five minutes: help, hints, Ctrl-C, output paths, env, models."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import subprocess
import sys
import time

import httpx
import pytest
from click.testing import CliRunner, Result

from routerhub_images import MODELS, AsyncImageClient, Limits
from routerhub_images import _constants as consts
from routerhub_images._cli._context import NO_KEY_NOTICE, CliState
from routerhub_images.batch import MANIFEST_NAME
from routerhub_images.cli import ExitCode, main
from routerhub_images.emulator import EmulatorServer, Fault, create_app

FAKE_KEY = "rh_live_FAKE_first_use_0123456789"
README = pathlib.Path(__file__).parent.parent / "README.md"
UNKNOWN_MODEL = "acme/brand-new-image-model"


def invoke(*args: str, state: CliState | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=state, env=env)


def error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def cli_process(
    args: list[str], cwd: pathlib.Path, server: EmulatorServer
) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERHUB_")}
    env |= {consts.API_KEY_ENV: server.api_key, consts.BASE_URL_ENV: server.base_url}
    return subprocess.Popen(  # noqa: S603 - our own CLI, with arguments from the test
        [sys.executable, "-m", "routerhub_images", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def interrupt_when_stalled(proc: subprocess.Popen[str], server: EmulatorServer) -> tuple[str, str]:
    """Send SIGINT once the server has taken its last scripted fault (a stalled request)."""
    deadline = time.monotonic() + 30
    while server.app.faults.pending() and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
    time.sleep(0.1)  # the request is stalled on the server: let the client wait on it
    proc.send_signal(signal.SIGINT)
    return proc.communicate(timeout=30)


def test_help_shows_no_literal_backslash_b(workdir: pathlib.Path) -> None:
    """--help keeps the exit-code list unwrapped without printing click's \\b marker."""
    result = invoke("--help")
    assert result.exit_code == 0
    assert "\\b" not in result.output
    assert "\b" not in result.output
    assert "  130  interrupted (Ctrl-C)" in result.output


def test_help_and_readme_list_every_exit_code(workdir: pathlib.Path) -> None:
    """Every exit code the CLI uses is in --help and in the README's table."""
    help_codes = set(re.findall(r"^\s+(\d+)\s{2,}", invoke("--help").output, re.MULTILINE))
    readme_codes = set(re.findall(r"^\| (\d+) \|", README.read_text("utf-8"), re.MULTILINE))
    expected = {str(int(code)) for code in ExitCode}
    assert help_codes == expected
    assert readme_codes == expected


def test_unsupported_size_hint_names_the_cli_flag(workdir: pathlib.Path) -> None:
    """An image size the model table lacks says --no-strict-options, not a Python argument."""
    line = error_line(invoke("generate", "otter", "-o", "o.png", "-s", "4K"), ExitCode.INPUT)
    assert "pass --no-strict-options" in line
    assert "strict" not in line.replace("--no-strict-options", "")


def test_no_strict_options_sends_the_size(workdir: pathlib.Path) -> None:
    """--no-strict-options lets a size the table lacks reach the service."""
    app = create_app()
    args = ["generate", "otter", "-o", "o.png", "-s", "4K", "--no-strict-options"]
    result = invoke(*args, state=CliState(emulator_app=app))
    assert app.log.count == 1, result.output


def test_batch_takes_no_strict_options(workdir: pathlib.Path) -> None:
    """batch --no-strict-options sends a job's size the table lacks."""
    (workdir / "jobs.jsonl").write_text('{"prompt": "otter", "image_size": "4K"}\n', "utf-8")
    app = create_app()
    invoke("batch", "jobs.jsonl", "-o", "out", state=CliState(emulator_app=app))
    assert app.log.count == 0
    invoke(
        "batch", "jobs.jsonl", "-o", "out", "--no-strict-options", state=CliState(emulator_app=app)
    )
    assert app.log.count == 1


def test_insecure_base_url_hint_names_the_cli_flag(workdir: pathlib.Path) -> None:
    """Clear-text http:// to another host says --allow-insecure-http, not a Python argument."""
    args = ["--api-key", FAKE_KEY, "--base-url", "http://example.test"]
    line = error_line(invoke(*args, "generate", "otter", "-o", "o.png"), ExitCode.INPUT)
    assert "pass --allow-insecure-http" in line
    assert "allow_insecure_http" not in line


def test_allow_insecure_http_reaches_the_client(workdir: pathlib.Path) -> None:
    """--allow-insecure-http builds a client for http:// to another host."""
    state = CliState()
    args = ["--allow-insecure-http", "--api-key", FAKE_KEY, "--base-url", "http://example.test"]
    assert invoke(*args, "models", state=state).exit_code == 0
    assert state.open_client().base_url == "http://example.test"


@pytest.mark.parametrize("extra", ["aiohttp", "emulator"])
def test_every_missing_extra_exits_3(
    workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch, extra: str
) -> None:
    """A missing optional dependency exits 3, whichever it is, naming its extra."""
    if extra == "aiohttp":
        monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
        args = ["--transport", "aiohttp", "--api-key", FAKE_KEY, "--base-url", "http://127.0.0.1:9"]
        args += ["generate", "otter", "-o", "o.png"]
    else:
        monkeypatch.setitem(sys.modules, "uvicorn", None)
        args = ["emulator"]
    assert f"routerhub-images[{extra}]" in error_line(invoke(*args), ExitCode.INPUT)


@pytest.mark.integration
def test_ctrl_c_exits_130(tmp_path: pathlib.Path, routerhub_emulator: EmulatorServer) -> None:
    """Ctrl-C during a call exits 130 with one line, not click's 'Aborted!' and 1."""
    routerhub_emulator.app.script(Fault.delay(3))
    proc = cli_process(["generate", "otter", "-o", "o.png"], tmp_path, routerhub_emulator)
    _, stderr = interrupt_when_stalled(proc, routerhub_emulator)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert "Aborted" not in stderr
    assert "Traceback" not in stderr


@pytest.mark.integration
def test_ctrl_c_in_a_batch_prints_the_summary_and_how_to_resume(
    tmp_path: pathlib.Path, routerhub_emulator: EmulatorServer
) -> None:
    """An interrupted batch prints what it finished and how to resume, then exits 130."""
    (tmp_path / "jobs.txt").write_text("an otter\na fox\na heron\n", "utf-8")
    routerhub_emulator.app.script(Fault.delay(0), Fault.delay(3))
    args = ["batch", "jobs.txt", "-o", "out", "-c", "1"]
    proc = cli_process(args, tmp_path, routerhub_emulator)
    stdout, stderr = interrupt_when_stalled(proc, routerhub_emulator)
    assert proc.returncode == ExitCode.INTERRUPTED, stderr
    assert "(interrupted)" in stdout
    assert re.search(r"ok\W+1\b", stdout), stdout
    resume = f"1 of 3 jobs are recorded in {pathlib.Path('out', MANIFEST_NAME)}: rerun the same"
    assert resume in stderr


@pytest.mark.parametrize("command", ["generate", "edit"])
def test_unwritable_output_fails_before_the_request(workdir: pathlib.Path, command: str) -> None:
    """-o in a directory no file can be created in (even by root) fails before the request."""
    if not pathlib.Path("/proc/self").is_dir():
        pytest.skip("needs Linux's /proc")
    images = ["in.png"] if command == "edit" else []
    (workdir / "in.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    app = create_app()
    result = invoke(
        command, *images, "otter", "-o", "/proc/x.png", state=CliState(emulator_app=app)
    )
    line = error_line(result, ExitCode.INPUT)
    assert "cannot write to /proc" in line
    assert ".tmp" not in line
    assert app.log.count == 0


def test_output_under_a_file_is_refused_before_the_request(workdir: pathlib.Path) -> None:
    """-o whose directory is an existing file is an input error before any request."""
    (workdir / "notes.txt").write_text("x", "utf-8")
    app = create_app()
    result = invoke("generate", "otter", "-o", "notes.txt/o.png", state=CliState(emulator_app=app))
    assert "notes.txt is not a directory" in error_line(result, ExitCode.INPUT)
    assert app.log.count == 0


def test_output_ending_in_a_slash_is_a_new_directory(workdir: pathlib.Path) -> None:
    """-o newdir/ creates the directory and saves newdir/image.png."""
    result = invoke("generate", "otter", "-o", "newdir/")
    assert result.exit_code == 0, result.output
    assert (workdir / "newdir" / "image.png").is_file()


def test_output_naming_an_existing_directory_saves_inside(workdir: pathlib.Path) -> None:
    """-o DIR for an existing directory saves DIR/image.png."""
    (workdir / "pics").mkdir()
    result = invoke("generate", "otter", "-o", "pics")
    assert result.exit_code == 0, result.output
    assert (workdir / "pics" / "image.png").is_file()


def test_existing_file_is_kept_without_force(workdir: pathlib.Path) -> None:
    """An existing -o file is an input error before any request, and is left alone."""
    (workdir / "o.png").write_bytes(b"mine")
    app = create_app()
    result = invoke("generate", "otter", "-o", "o.png", state=CliState(emulator_app=app))
    assert "o.png exists: pass --force" in error_line(result, ExitCode.INPUT)
    assert (workdir / "o.png").read_bytes() == b"mine"
    assert app.log.count == 0


def test_force_overwrites_an_existing_file(workdir: pathlib.Path) -> None:
    """--force replaces an existing -o file with the image."""
    (workdir / "o.png").write_bytes(b"mine")
    result = invoke("generate", "otter", "-o", "o.png", "--force")
    assert result.exit_code == 0, result.output
    assert (workdir / "o.png").read_bytes().startswith(b"\x89PNG")


def test_output_with_text_only_is_a_usage_error(workdir: pathlib.Path) -> None:
    """-o with --text-only (which saves nothing) is a usage error."""
    result = invoke("generate", "otter", "--text-only", "-o", "o.png")
    assert result.exit_code == ExitCode.USAGE
    assert "--text-only saves nothing" in result.stderr


def test_base_url_env_without_a_key_is_a_usage_error(workdir: pathlib.Path) -> None:
    """$ROUTERHUB_BASE_URL without a key is refused like --base-url, naming the variable."""
    env = {consts.BASE_URL_ENV: "https://example.test"}
    result = invoke("generate", "otter", "-o", "o.png", env=env)
    assert result.exit_code == ExitCode.USAGE
    assert f"${consts.BASE_URL_ENV} needs an API key" in result.stderr
    assert NO_KEY_NOTICE not in result.stderr
    assert not (workdir / "o.png").exists()


@pytest.mark.parametrize("args", [["models"], ["generate", "--help"]], ids=["models", "help"])
def test_base_url_env_without_a_key_is_fine_for_commands_that_call_nothing(
    workdir: pathlib.Path, args: list[str]
) -> None:
    """$ROUTERHUB_BASE_URL without a key only matters to a command that calls the service."""
    result = invoke(*args, env={consts.BASE_URL_ENV: "https://example.test"})
    assert result.exit_code == 0, result.output


def test_emulator_flag_wins_over_the_base_url_env(workdir: pathlib.Path) -> None:
    """--emulator uses the emulator even with $ROUTERHUB_BASE_URL set."""
    env = {consts.BASE_URL_ENV: "https://example.test"}
    result = invoke("--emulator", "generate", "otter", "-o", "o.png", env=env)
    assert result.exit_code == 0, result.output
    assert (workdir / "o.png").is_file()


def test_help_says_the_base_url_env_needs_a_key(workdir: pathlib.Path) -> None:
    """--help names $ROUTERHUB_BASE_URL and says a base URL needs a key."""
    output = " ".join(invoke("--help").output.split())
    assert f"env var: {consts.BASE_URL_ENV}" in output
    assert "Needs an API key, from the option or the environment alike" in output


def test_rate_is_blank_when_every_job_was_done_before(workdir: pathlib.Path) -> None:
    """A rerun with every job already done shows no rate, not a burst of skipped jobs."""
    (workdir / "jobs.txt").write_text("an otter\na fox\n", "utf-8")
    assert invoke("batch", "jobs.txt", "-o", "out").exit_code == 0
    result = invoke("batch", "jobs.txt", "-o", "out")
    assert result.exit_code == 0, result.output
    assert "2 skipped" in result.stderr
    assert "-- /min" in result.stderr


def test_unknown_model_is_sent_with_a_warning(workdir: pathlib.Path) -> None:
    """A well-formed model the table does not know is sent; a warning names the known ones."""
    app = create_app()
    result = invoke(
        "generate", "otter", "-o", "o.png", "-m", UNKNOWN_MODEL, state=CliState(emulator_app=app)
    )
    assert app.log.count == 1
    assert "404 NOT_FOUND" in error_line(result, ExitCode.API)
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning:"))
    assert UNKNOWN_MODEL in warning
    assert all(name in warning for name in MODELS)


def test_batch_warns_once_per_unknown_model(workdir: pathlib.Path) -> None:
    """batch warns once for each unknown model its jobs name."""
    line = f'{{"prompt": "otter", "model": "{UNKNOWN_MODEL}"}}\n'
    (workdir / "jobs.jsonl").write_text(line * 2, "utf-8")
    result = invoke("batch", "jobs.jsonl", "-o", "out")
    assert result.stderr.count(f"warning: model '{UNKNOWN_MODEL}'") == 1


def test_known_model_gives_no_warning(workdir: pathlib.Path) -> None:
    """A model the table knows is sent without a warning."""
    result = invoke("generate", "otter", "-o", "o.png", "-m", consts.DEFAULT_MODEL)
    assert result.exit_code == 0, result.output
    assert "warning" not in result.stderr


def test_limits_have_the_documented_defaults() -> None:
    """routerhub_images.Limits() is 256 open, 64 idle, 30 s expiry (the _constants)."""
    limits = Limits()
    assert limits.max_connections == consts.MAX_CONNECTIONS == 256
    assert limits.max_keepalive_connections == consts.MAX_KEEPALIVE_CONNECTIONS == 64
    assert limits.keepalive_expiry == consts.KEEPALIVE_EXPIRY == 30.0


def test_limits_keep_the_defaults_not_given() -> None:
    """Limits(max_connections=8) keeps the default idle count and expiry."""
    limits = Limits(max_connections=8)
    assert limits.max_connections == 8
    assert limits.max_keepalive_connections == consts.MAX_KEEPALIVE_CONNECTIONS
    assert limits.keepalive_expiry == consts.KEEPALIVE_EXPIRY


@pytest.mark.parametrize(
    "limits", [Limits(max_connections=8), httpx.Limits(max_connections=8)], ids=["ours", "httpx"]
)
def test_limits_are_accepted_by_the_client(limits: httpx.Limits) -> None:
    """limits= takes our Limits and httpx's alike, and reports them as a Limits."""
    client = AsyncImageClient(FAKE_KEY, limits=limits)
    assert isinstance(client.limits, Limits)
    assert client.limits.max_connections == 8
