"""Tests of where errors live and of facts built once: one module, details, model name."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable

import pytest
import respx
from client_helpers import BASE_URL, KEY, ok, retry_info

import routerhub_images
from routerhub_images import AsyncImageClient, ErrorInfo, _client, _errors, _models, batch
from routerhub_images._errors import api_error_from_http

_NOT_CORE = ("routerhub_images.emulator", "routerhub_images._cli", "routerhub_images.cli")


def _library_modules() -> list[str]:
    names = ["routerhub_images"]
    for info in pkgutil.walk_packages(routerhub_images.__path__, "routerhub_images."):
        if not info.name.startswith(_NOT_CORE) and info.name != "routerhub_images.__main__":
            names.append(info.name)
    return names


def test_every_exception_class_is_defined_in_errors() -> None:
    """No module of the library but `_errors` defines an exception class (warnings aside)."""
    elsewhere = [
        f"{name}.{attr}"
        for name in _library_modules()
        for attr, value in vars(importlib.import_module(name)).items()
        if isinstance(value, type)
        and issubclass(value, BaseException)
        and not issubclass(value, Warning)
        and value.__module__ == name != "routerhub_images._errors"
    ]
    assert elsewhere == []


@pytest.mark.parametrize("name", ["DuplicateJobError", "JobFileError", "ManifestLockedError"])
def test_batch_errors_are_the_errors_module_classes(name: str) -> None:
    """`routerhub_images.batch` re-exports its exception classes from `_errors`."""
    assert getattr(batch, name) is getattr(_errors, name)


def _details_error(details: object) -> _errors.APIStatusError:
    body = json.dumps({"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "details": details}})
    return api_error_from_http(429, {}, body.encode())


def test_the_last_detail_of_a_type_wins() -> None:
    """Two RetryInfo details: the later one's delay is the one read."""
    assert _details_error([retry_info("1s"), retry_info("2s")]).retry_delay == 2.0


def test_a_detail_with_a_field_of_the_wrong_type_is_kept_raw_only() -> None:
    """An ErrorInfo whose reason is not a string is no ErrorInfo, and stays in raw."""
    detail = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": 7, "domain": "d"}
    details = _details_error([detail]).details
    assert (details.error_info, list(details.raw)) == (None, [detail])


def test_an_error_info_is_structured_with_its_metadata() -> None:
    """A well-formed ErrorInfo comes out typed, metadata included."""
    detail = {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "RATE_LIMIT_EXCEEDED",
        "domain": "googleapis.com",
        "metadata": {"quota_limit": "x"},
    }
    assert _details_error([detail]).details.error_info == ErrorInfo(
        reason="RATE_LIMIT_EXCEEDED", domain="googleapis.com", metadata={"quota_limit": "x"}
    )


async def test_a_call_normalizes_its_model_name_once(
    mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call with image options normalizes its model name once, not per check."""
    calls: list[str] = []
    normalize: Callable[[str], str] = _models.normalize_model_name

    def counting(name: str) -> str:
        calls.append(name)
        return normalize(name)

    mock.post().mock(return_value=ok())
    async with AsyncImageClient(KEY, base_url=BASE_URL) as client:
        monkeypatch.setattr(_models, "normalize_model_name", counting)
        monkeypatch.setattr(_client, "normalize_model_name", counting)
        await client.generate_image("x", model="gemini-2.5-flash-image", aspect_ratio="1:1")
    assert calls == ["gemini-2.5-flash-image"]
