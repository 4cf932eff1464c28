"""What installs with what: the ``cli`` extra, and the emulator reading the library's models."""

from __future__ import annotations

import importlib.metadata
import pathlib
import subprocess
import sys

import pytest
from packaging.requirements import Requirement

from routerhub_images import _models
from routerhub_images.cli import ExitCode
from routerhub_images.emulator import MODELS, image_dimensions
from routerhub_images.emulator._config import IMAGE_TOKENS

ROOT = pathlib.Path(__file__).parent.parent
CLI_INSTALL = "pip install 'routerhub-images[cli]'"
ENTRY_POINTS = {
    "console script": "from routerhub_images.cli import main; main()",
    "python -m": "import runpy; runpy.run_module('routerhub_images', run_name='__main__')",
}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our interpreter, our code
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=False
    )


def requirements(extra: str) -> set[str]:
    """The names of the packages installed with *extra* (``""``: the core alone)."""
    found = map(Requirement, importlib.metadata.requires("routerhub-images") or [])
    return {r.name for r in found if r.marker is None or r.marker.evaluate({"extra": extra})}


def test_importing_the_library_loads_neither_click_nor_rich() -> None:
    """`import routerhub_images` (client, emulator, batch) never imports click or rich."""
    # httpx imports its own command line, and so click and rich, whenever they are installed.
    code = (
        "import sys; sys.modules['httpx._main'] = None; "
        "import routerhub_images, routerhub_images.emulator, routerhub_images.batch; "
        "print(sorted({'click', 'rich'} & {m.split('.')[0] for m in sys.modules}))"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_library_generates_an_image_without_the_cli_extra() -> None:
    """With click and rich not installed, the client generates an image (in-process emulator)."""
    code = (
        "import sys; sys.modules['click'] = sys.modules['rich'] = None\n"
        "import asyncio\n"
        "from routerhub_images.emulator import in_process_client\n"
        "async def main():\n"
        "    async with in_process_client() as client:\n"
        "        response = await client.generate_image('an otter')\n"
        "    print(response.require_images()[0].mime_type)\n"
        "asyncio.run(main())"
    )
    proc = run_python(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "image/png"


def test_core_requirements_leave_out_click_and_rich() -> None:
    """The core install has no terminal UI; the ``cli`` and ``dev`` extras bring it."""
    assert "httpx" in requirements("")
    assert not {"click", "rich"} & requirements("")
    assert {"click", "rich"} <= requirements("cli")
    assert {"click", "rich"} <= requirements("dev")


@pytest.mark.parametrize("blocked", ["click", "rich"])
@pytest.mark.parametrize("entry", ENTRY_POINTS.values(), ids=ENTRY_POINTS.keys())
def test_command_line_without_the_extra_names_it(entry: str, blocked: str) -> None:
    """Without click or rich, the command line prints one line naming the extra, exit 3."""
    proc = run_python(f"import sys; sys.modules[{blocked!r}] = None; {entry}")
    assert proc.returncode == ExitCode.INPUT == 3
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ")
    assert CLI_INSTALL in lines[0]


def test_exit_code_needs_click() -> None:
    """Without click, ``routerhub_images.cli`` imports but ``ExitCode`` does not."""
    proc = run_python(
        "import sys; sys.modules['click'] = None; import routerhub_images.cli\n"
        "try:\n    from routerhub_images.cli import ExitCode\n"
        "except ImportError as exc:\n    print(exc.name)"
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "click"


def test_readme_first_command_installs_the_cli_extra() -> None:
    """The README's one command installs ``.[cli]``, so its ``routerhub-images`` runs."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Try it (one command)", 1)[1].split("```console", 1)[1]
    command = block.split("```", 1)[0]
    assert "pip install -e '.[cli]' && .venv/bin/routerhub-images generate" in command


def test_emulator_serves_exactly_the_library_models() -> None:
    """The emulator's models are the library's, with the same sizes, ratios and drafts."""
    assert set(MODELS) == {name.removeprefix("google/") for name in _models.MODELS}
    for info in _models.MODELS.values():
        spec = MODELS[info.name.removeprefix("google/")]
        assert spec.image_sizes == info.image_sizes
        assert spec.aspect_ratios == info.aspect_ratios
        assert spec.signs_thoughts == info.draft_images


def test_every_library_ratio_has_pixel_dimensions() -> None:
    """Each aspect ratio of each known model has its 1K pixel dimensions in the table."""
    assert set(_models.ASPECT_RATIOS) == set(_models.PIXELS_1K)


def test_every_library_size_has_an_emulated_token_count() -> None:
    """Each image size of each known model has the emulator's billed token count."""
    assert set(_models.IMAGE_SIZES) <= set(IMAGE_TOKENS)


@pytest.mark.parametrize(
    ("ratio", "size", "expected"),
    [("1:1", "1K", (1024, 1024)), ("16:9", "2K", (2688, 1536)), ("1:8", "512", (176, 1408))],
)
def test_image_size_scales_the_1k_pixels(ratio: str, size: str, expected: tuple[int, int]) -> None:
    """The emulator's dimensions are the library's 1K pixels scaled by the image size."""
    assert image_dimensions(ratio, size) == _models.image_pixels(ratio, size) == expected
