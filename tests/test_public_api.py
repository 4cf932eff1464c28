"""The public surface: everything exported is listed, documented and importable."""

from __future__ import annotations

import inspect
import types

import routerhub_images


def _public_names(module: types.ModuleType) -> set[str]:
    return {
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "version", "PackageNotFoundError", "setup_from_env"}
    }


def test_all_lists_exactly_the_public_names() -> None:
    """`__all__` names every public attribute of the package and nothing else."""
    assert set(routerhub_images.__all__) == _public_names(routerhub_images) | {"__version__"}


def test_all_has_no_duplicates() -> None:
    """Each name appears once in `__all__`."""
    assert len(routerhub_images.__all__) == len(set(routerhub_images.__all__))


def test_every_public_class_and_function_has_a_docstring() -> None:
    """Every exported class and function carries a docstring of its own."""
    missing = [
        name
        for name in routerhub_images.__all__
        if (inspect.isclass(obj := getattr(routerhub_images, name)) or inspect.isfunction(obj))
        and not (obj.__doc__ or "").strip()
    ]
    assert missing == []


def test_version_is_a_string() -> None:
    """The package reports its installed version."""
    assert isinstance(routerhub_images.__version__, str)
    assert routerhub_images.__version__[0].isdigit()
