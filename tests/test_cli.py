"""The routerhub-images command line, driven as a user would: CliRunner and a subprocess."""

from __future__ import annotations

import base64
import io
import os
import pathlib
import subprocess
import sys

import pytest
from click.testing import CliRunner, Result
from PIL import Image

from routerhub_images import MODELS, GenerateContentResponse, GeneratedImage
from routerhub_images._cli import _images, _info
from routerhub_images._cli._context import NO_KEY_NOTICE, CliState
from routerhub_images.cli import ExitCode, main
from routerhub_images.emulator import EmulatorConfig, EmulatorServer, Fault, create_app

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FAKE_KEY = "rh_live_FAKE_do_not_print_0123456789"
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32


def invoke(*args: str, state: CliState | None = None, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), obj=state, env=env)


def assert_png(path: pathlib.Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    with Image.open(io.BytesIO(data)) as image:
        image.verify()
        width, height = image.size
    return width, height


def assert_one_error_line(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert "Traceback" not in result.output
    return errors[0]


def test_generate_saves_a_valid_png(workdir: pathlib.Path) -> None:
    """generate writes a real PNG and prints its path and dimensions."""
    result = invoke("generate", "a cute otter", "-o", "otter.png")
    assert result.exit_code == 0, result.output
    assert assert_png(workdir / "otter.png") == (1024, 1024)
    assert "saved otter.png (1024x1024 PNG" in result.stdout
    assert "Here is the generated image: a cute otter" in result.stdout


def test_generate_main_job_in_a_subprocess(tmp_path: pathlib.Path) -> None:
    """`python -m routerhub_images generate` works with no key: emulator, notice, valid PNG."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROUTERHUB_")}
    proc = subprocess.run(
        [sys.executable, "-m", "routerhub_images", "generate", "a cute otter", "-o", "otter.png"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert NO_KEY_NOTICE in proc.stderr
    assert "saved otter.png" in proc.stdout
    assert assert_png(tmp_path / "otter.png") == (1024, 1024)


def test_emulator_notice_goes_to_stderr_only(workdir: pathlib.Path) -> None:
    """With no key the emulator is announced on stderr, keeping stdout for results."""
    result = invoke("generate", "otter", "-o", "o.png")
    assert NO_KEY_NOTICE in result.stderr
    assert "emulator" not in result.stdout


def test_emulator_flag_wins_over_a_key(workdir: pathlib.Path) -> None:
    """--emulator uses the built-in emulator even when a key is set."""
    result = invoke(
        "--emulator", "generate", "otter", "-o", "o.png", env={"ROUTERHUB_API_KEY": FAKE_KEY}
    )
    assert result.exit_code == 0, result.output
    assert "--emulator: using the built-in emulator" in result.stderr
    assert_png(workdir / "o.png")


def test_options_reach_the_request(workdir: pathlib.Path) -> None:
    """Model, aspect ratio, size, seed, temperature and system instruction are sent."""
    result = invoke(
        "generate",
        "a wide otter",
        "-o",
        "wide.png",
        "--model",
        "gemini-3.1-flash-image-preview",
        "--aspect-ratio",
        "16:9",
        "--image-size",
        "512",
        "--seed",
        "7",
        "--temperature",
        "0.5",
        "--system",
        "be brief",
    )
    assert result.exit_code == 0, result.output
    assert assert_png(workdir / "wide.png") == (672, 384)
    assert "672x384" in result.stdout


def test_text_only_prints_text_and_saves_nothing(workdir: pathlib.Path) -> None:
    """--text-only prints the model's text and writes no file; -o is not needed."""
    result = invoke("generate", "describe an otter", "--text-only")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "Emulated answer to: describe an otter"
    assert list(workdir.iterdir()) == []


def test_edit_takes_several_images(workdir: pathlib.Path) -> None:
    """edit IMAGE... PROMPT sends every image and saves the result."""
    assert invoke("generate", "one", "-o", "a.png").exit_code == 0
    assert invoke("generate", "two", "-o", "b.png").exit_code == 0
    app = create_app()
    result = invoke(
        "edit",
        "a.png",
        "b.png",
        "combine them",
        "-o",
        "out/c.png",
        state=CliState(emulator_app=app),
    )
    assert result.exit_code == 0, result.output
    assert assert_png(workdir / "out" / "c.png") == (1024, 1024)
    assert "Here is the edited image" in result.stdout
    assert app.log.count == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["edit", "missing.png", "make it blue", "-o", "o.png"], "does not exist"),
        (["generate", "otter", "-o", "o.png", "--aspect-ratio", "7:3"], "aspect_ratio '7:3'"),
        (["generate", "otter", "-o", "o.png", "--image-size", "3K"], "image_size"),
        (["generate", "   ", "-o", "o.png"], "the prompt is empty"),
        (["edit", "garbage.png", "make it blue", "-o", "o.png"], "is not a PNG, JPEG"),
        (["edit", "empty.png", "make it blue", "-o", "o.png"], "is empty"),
        (["generate", "otter", "-o", "o.png", "--model", "bad model"], "model name"),
    ],
    ids=[
        "missing-file",
        "aspect-ratio",
        "image-size",
        "empty-prompt",
        "not-an-image",
        "empty-file",
        "model",
    ],
)
def test_bad_input_exits_3_with_one_line(
    workdir: pathlib.Path, args: list[str], message: str
) -> None:
    """Input errors are one line on stderr and exit code 3, with no traceback."""
    (workdir / "garbage.png").write_bytes(b"this is not an image")
    (workdir / "empty.png").write_bytes(b"")
    line = assert_one_error_line(invoke(*args), ExitCode.INPUT)
    assert message in line
    assert not (workdir / "o.png").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["generate", "otter"],
        ["generate", "otter", "-o", "o.png", "--seed", "abc"],
        ["edit", "-o", "o.png"],
        ["--base-url", "https://example.test", "generate", "otter", "-o", "o.png"],
        ["frobnicate"],
    ],
    ids=["no-output", "bad-seed", "no-image", "base-url-without-key", "unknown-command"],
)
def test_usage_errors_exit_2(workdir: pathlib.Path, args: list[str]) -> None:
    """Command-line mistakes are click usage errors: exit code 2."""
    result = invoke(*args)
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "Traceback" not in result.output


def test_api_error_exits_4_with_one_line(workdir: pathlib.Path) -> None:
    """A server error is one line naming the status, exit code 4, no traceback."""
    app = create_app()
    app.script(Fault.status(400, "Image generation is not available for this prompt."))
    line = assert_one_error_line(
        invoke("generate", "otter", "-o", "o.png", state=CliState(emulator_app=app)), ExitCode.API
    )
    assert "400 INVALID_ARGUMENT: Image generation is not available" in line
    assert not (workdir / "o.png").exists()


@pytest.mark.parametrize(
    ("prompt", "message"),
    [
        ("something forbidden", "the prompt was blocked (SAFETY)"),
        ("an unsafe-image", "IMAGE_SAFETY"),
    ],
    ids=["blocked", "withheld"],
)
def test_no_image_exits_4(workdir: pathlib.Path, prompt: str, message: str) -> None:
    """A blocked prompt or a withheld image is an API failure: exit code 4."""
    line = assert_one_error_line(invoke("generate", prompt, "-o", "o.png"), ExitCode.API)
    assert message in line


@pytest.mark.integration
def test_wrong_key_against_a_server_exits_4_without_the_key(
    workdir: pathlib.Path, routerhub_emulator: EmulatorServer
) -> None:
    """A rejected key over real HTTP gives exit 4 and one line; the key is never printed."""
    env = {"ROUTERHUB_API_KEY": FAKE_KEY}
    result = invoke(
        "--base-url", routerhub_emulator.base_url, "generate", "otter", "-o", "o.png", env=env
    )
    line = assert_one_error_line(result, ExitCode.API)
    assert "401 UNAUTHENTICATED" in line
    assert FAKE_KEY not in result.output
    assert "emulator" not in result.stderr


@pytest.mark.integration
@pytest.mark.parametrize("transport", ["httpx", "aiohttp"])
def test_transport_option_over_real_http(
    workdir: pathlib.Path, routerhub_emulator: EmulatorServer, transport: str
) -> None:
    """--transport picks what carries the requests; either one saves the image."""
    if transport == "aiohttp":
        pytest.importorskip("httpx_aiohttp")
    env = {"ROUTERHUB_API_KEY": routerhub_emulator.api_key}
    args = ["--transport", transport, "--base-url", routerhub_emulator.base_url]
    result = invoke(*args, "generate", "otter", "-o", "o.png", env=env)
    assert result.exit_code == 0, result.output
    assert assert_png(workdir / "o.png") == (1024, 1024)
    assert "emulator" not in result.stderr


def test_transport_aiohttp_without_the_extra_exits_3(
    workdir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--transport aiohttp reaches the client: without httpx-aiohttp it says what to install."""
    monkeypatch.setitem(sys.modules, "httpx_aiohttp", None)
    args = ["--transport", "aiohttp", "--base-url", "http://127.0.0.1:9", "generate", "otter"]
    result = invoke(*args, "-o", "o.png", env={"ROUTERHUB_API_KEY": FAKE_KEY})
    line = assert_one_error_line(result, ExitCode.INPUT)
    assert "pip install 'routerhub-images[aiohttp]'" in line
    assert not (workdir / "o.png").exists()


def test_transport_must_be_known(workdir: pathlib.Path) -> None:
    """An unknown --transport is a usage error naming the choices."""
    result = invoke("--transport", "curl", "generate", "otter", "-o", "o.png")
    assert result.exit_code == ExitCode.USAGE
    assert "'httpx', 'aiohttp'" in result.stderr


@pytest.mark.integration
def test_key_is_redacted_from_messages_and_tracebacks(
    workdir: pathlib.Path, routerhub_emulator: EmulatorServer
) -> None:
    """Even a server message that quotes the key prints <redacted>, with --debug too."""
    routerhub_emulator.app.config.api_keys = (FAKE_KEY,)
    routerhub_emulator.app.script(Fault.status(400, f"key {FAKE_KEY} is not allowed here"))
    env = {"ROUTERHUB_API_KEY": FAKE_KEY}
    args = [
        "--debug",
        "--base-url",
        routerhub_emulator.base_url,
        "generate",
        "otter",
        "-o",
        "o.png",
    ]
    result = invoke(*args, env=env)
    assert result.exit_code == ExitCode.API
    assert "Traceback" in result.stderr
    assert "key <redacted> is not allowed here" in result.stderr
    assert FAKE_KEY not in result.output


def test_models_lists_every_model_with_sizes_and_ratios(workdir: pathlib.Path) -> None:
    """models prints each known model with its image sizes and aspect ratios."""
    result = invoke("models")
    assert result.exit_code == 0
    for info in MODELS.values():
        assert info.name in result.stdout
        assert f"image sizes:   {', '.join(info.image_sizes)}" in result.stdout
        assert f"aspect ratios: {', '.join(info.aspect_ratios)}" in result.stdout
    assert "emulator" not in result.stderr


def test_version(workdir: pathlib.Path) -> None:
    """--version prints the program name and version."""
    result = invoke("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("routerhub-images, version ")


def small_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 4), "orange").save(buffer, "PNG")
    return buffer.getvalue()


def test_several_images_are_numbered(tmp_path: pathlib.Path) -> None:
    """Two images for out.png are saved as out-1.png and out-2.png, each reported."""
    part = {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(small_png()).decode()}}
    body = {"candidates": [{"content": {"parts": [part, part]}}]}
    runner = CliRunner()
    with runner.isolation() as (stdout, _stderr, _output):
        _images._save_all(CliState(), GenerateContentResponse.from_dict(body), tmp_path / "out.png")
        printed = stdout.getvalue().decode()
    assert [assert_png(tmp_path / f"out-{i}.png") for i in (1, 2)] == [(8, 4), (8, 4)]
    assert printed.count("(8x4 PNG") == 2
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize(
    ("output", "data", "count", "expected"),
    [
        ("out.png", PNG_SIGNATURE, 1, "out.png"),
        ("out.PNG", PNG_SIGNATURE, 1, "out.PNG"),
        ("out.png", PNG_SIGNATURE, 2, "out-2.png"),
        ("out", PNG_SIGNATURE, 1, "out.png"),
        ("out.v2", PNG_SIGNATURE, 1, "out.v2"),
        ("out.jpeg", JPEG_BYTES, 1, "out.jpeg"),
        ("out.png", JPEG_BYTES, 1, "out.jpg"),
        ("out.png", JPEG_BYTES, 2, "out-2.jpg"),
    ],
)
def test_target_path(output: str, data: bytes, count: int, expected: str) -> None:
    """The user's name is kept, numbered when several, and its suffix fixed when it lies."""
    image = GeneratedImage(data=data)
    path = _images.target_path(pathlib.Path(output), image, index=count, count=count)
    assert path == pathlib.Path(expected)


def test_wrong_suffix_warns_on_stderr(
    workdir: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Saving JPEG bytes to a .png name warns and uses .jpg."""
    _images.target_path(pathlib.Path("out.png"), GeneratedImage(data=JPEG_BYTES), index=1, count=1)
    assert "warning: the image is JPEG, not PNG: saving it as out.jpg" in capsys.readouterr().err


def test_emulator_command_serves_with_the_options(monkeypatch: pytest.MonkeyPatch) -> None:
    """emulator passes host, port, latency, rate limit and keys to serve()."""
    calls: list[tuple[EmulatorConfig | None, str, int]] = []
    monkeypatch.setattr(
        _info, "serve", lambda config, host, port, faults: calls.append((config, host, port))
    )
    args = [
        "emulator",
        "--port",
        "9123",
        "--latency",
        "0.25",
        "--rate-limit",
        "30",
        "--key",
        "k1",
        "--key",
        "k2",
    ]
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    ((config, host, port),) = calls
    assert (host, port) == ("127.0.0.1", 9123)
    assert config == EmulatorConfig(api_keys=("k1", "k2"), latency=0.25, rate_limit_rpm=30.0)


def test_emulator_command_scripts_faults_and_drafts(monkeypatch: pytest.MonkeyPatch) -> None:
    """--fail, --draft-images, --jitter and --burst reach the emulator."""
    seen: list[tuple[EmulatorConfig, list[Fault]]] = []
    monkeypatch.setattr(
        _info, "serve", lambda config, host, port, faults: seen.append((config, faults))
    )
    args = ["emulator", "--fail", "503", "--fail", "disconnect", "--draft-images", "2"]
    result = invoke(*args, "--jitter", "0.5", "--burst", "3")
    assert result.exit_code == 0, result.output
    ((config, faults),) = seen
    assert (config.draft_images, config.latency_jitter, config.rate_limit_burst) == (2, 0.5, 3)
    assert faults == [Fault.status(503), Fault.disconnect()]


def test_emulator_command_rejects_an_unknown_fault() -> None:
    """--fail with a value that is not a code or a known fault is a usage error."""
    result = invoke("emulator", "--fail", "explode")
    assert result.exit_code == ExitCode.USAGE
    assert "explode" in result.output


def test_emulator_command_without_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without uvicorn, emulator says how to install it, in one line, exit code 3."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    line = assert_one_error_line(invoke("emulator"), ExitCode.INPUT)
    assert "pip install 'routerhub-images[emulator]'" in line
