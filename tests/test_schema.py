"""The wire model against Google's discovery document, turned into JSON Schema."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import attrs
import jsonschema
import pytest
from wire_samples import (
    DATA,
    FIXTURES,
    REQUESTS,
    edit_with_inline_data,
    full_generation_config,
    load_fixture,
    multi_turn_replay,
    text_to_image,
)

from routerhub_images import _types
from routerhub_images._types import (
    GenerateContentRequest,
    GenerateContentResponse,
    GenerationConfig,
    WireModel,
)
from routerhub_images._wire import EXTRA_FIELD, WIRE_METADATA_KEY, camel, make_converter, structure

DISCOVERY = json.loads((DATA / "generativelanguage-v1beta-discovery.json").read_text())

# Standard, padded base64 (RFC 4648 section 4), what the protos' JSON mapping emits.
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"

INT64 = {"anyOf": [{"type": "string", "pattern": r"^-?[0-9]+$"}, {"type": "integer"}]}
SCALAR_FORMATS: dict[tuple[str | None, str | None], dict[str, Any]] = {
    ("string", "byte"): {"type": "string", "pattern": BASE64_PATTERN},
    ("string", "int64"): INT64,
    ("string", "uint64"): INT64,
}

# Accepted by the live API but not in the published protos yet (see the reference README):
# documented extensions, not misspellings.
EXTENSIONS: dict[str, dict[str, Any]] = {
    "ImageConfig": {"imageSize": {"type": "string", "enum": ["512", "1K", "2K", "4K"]}},
    "ThinkingConfig": {"thinkingLevel": {"type": "string"}},
}


def _property(prop: dict[str, Any]) -> dict[str, Any]:
    """One discovery property as JSON Schema."""
    if "$ref" in prop:
        return {"$ref": f"#/$defs/{prop['$ref']}"}
    kind, fmt = prop.get("type"), prop.get("format")
    if (kind, fmt) in SCALAR_FORMATS:
        return SCALAR_FORMATS[kind, fmt]
    if kind == "array":
        return {"type": "array", "items": _property(prop["items"])}
    if kind == "object":
        extra = prop.get("additionalProperties")
        return {"type": "object", **({"additionalProperties": _property(extra)} if extra else {})}
    if "enum" in prop:
        return {"type": "string", "enum": prop["enum"]}
    return {} if kind == "any" else {"type": kind}


def _json_schema(root: str) -> dict[str, Any]:
    """The discovery document as a Draft 2020-12 schema whose root is ``root``."""
    defs = {}
    for name, schema in DISCOVERY["schemas"].items():
        properties = {k: _property(v) for k, v in schema.get("properties", {}).items()}
        properties |= EXTENSIONS.get(name, {})
        defs[name] = {"type": "object", "properties": properties, "additionalProperties": False}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": f"#/$defs/{root}",
        "$defs": defs,
    }


REQUEST_VALIDATOR = jsonschema.Draft202012Validator(_json_schema("GenerateContentRequest"))
RESPONSE_VALIDATOR = jsonschema.Draft202012Validator(_json_schema("GenerateContentResponse"))


def _model_classes() -> list[type[WireModel]]:
    return [
        cls
        for cls in vars(_types).values()
        if isinstance(cls, type) and attrs.has(cls) and issubclass(cls, WireModel)
    ]


def _wire_fields(cls: type[Any]) -> list[attrs.Attribute[Any]]:
    return [
        f
        for f in attrs.fields(cls)
        if f.name != EXTRA_FIELD and f.metadata.get(WIRE_METADATA_KEY, True)
    ]


@pytest.mark.parametrize("build", REQUESTS, ids=[b.__name__ for b in REQUESTS])
def test_request_matches_schema(build: typing.Callable[[], GenerateContentRequest]) -> None:
    """A serialized request validates against the discovery schema."""
    REQUEST_VALIDATOR.validate(json.loads(build().to_json()))


def test_full_generation_config_sets_every_field() -> None:
    """The full GenerationConfig sample leaves no field unset, so none escapes the schema."""
    expected = {camel(f.name) for f in _wire_fields(GenerationConfig)}
    assert set(full_generation_config().to_dict()) == expected


def test_replayed_turn_keeps_thoughts_and_signatures() -> None:
    """The replayed model turn carries thought flags and signatures, as base64."""
    body = json.loads(multi_turn_replay().to_json())
    parts = body["contents"][1]["parts"]
    assert [p.get("thought") for p in parts] == [True, True, True, True, None]
    assert sum("thoughtSignature" in p for p in parts) == 3


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ((), "generation_config"),
        (("generationConfig",), "response_modalities"),
        (("generationConfig", "imageConfig"), "aspectratio"),
        (("generationConfig", "imageConfig"), "image_size"),
        (("contents", 0, "parts", 0), "Text"),
        (("contents", 0, "parts", 1, "inlineData"), "mime_type"),
    ],
)
def test_schema_rejects_misspelled_field(path: tuple[str | int, ...], key: str) -> None:
    """A misspelled or mis-cased field fails validation: the schema test has teeth."""
    body = json.loads(edit_with_inline_data().to_json())
    body["generationConfig"] = json.loads(text_to_image().to_json())["generationConfig"]
    assert REQUEST_VALIDATOR.is_valid(body)
    target: Any = body
    for step in path:
        target = target[step]
    target[key] = next(iter(target.values())) if target else "x"
    assert not REQUEST_VALIDATOR.is_valid(body)


def test_schema_rejects_url_safe_base64_in_requests() -> None:
    """Requests carry standard base64, which the byte pattern enforces."""
    body = json.loads(edit_with_inline_data().to_json())
    body["contents"][0]["parts"][1]["inlineData"]["data"] = "ab-_"
    assert not REQUEST_VALIDATOR.is_valid(body)


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__name__)
def test_model_fields_exist_in_discovery(cls: type[WireModel]) -> None:
    """Every wire field of a model class is a property of the same-named schema."""
    properties = DISCOVERY["schemas"][cls.__name__]["properties"]
    known = set(properties) | set(EXTENSIONS.get(cls.__name__, {}))
    missing = {camel(f.name) for f in _wire_fields(cls)} - known
    assert not missing


def _python_kind(annotation: Any) -> str:
    """A coarse wire kind of a field's type: ``integer``, ``array``, ``Part``, ..."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _python_kind(args[0])
    if origin is tuple:
        return "array"
    if origin is dict or annotation is Any:
        return "object"
    simple = {str: "string", bytes: "byte", int: "integer", float: "number", bool: "boolean"}
    return simple.get(annotation, getattr(annotation, "__name__", "?"))


def _discovery_kind(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        # Messages the model does not mirror (Schema, SpeechConfig) travel as plain dicts.
        modelled = {cls.__name__ for cls in _model_classes()}
        return str(prop["$ref"]) if prop["$ref"] in modelled else "object"
    if prop.get("format") == "byte":
        return "byte"
    return "object" if prop["type"] == "any" else str(prop["type"])


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda c: c.__name__)
def test_model_field_types_match_discovery(cls: type[WireModel]) -> None:
    """Each wire field has the discovery type: bytes for byte, int for integer, ..."""
    hints = typing.get_type_hints(cls)
    properties = DISCOVERY["schemas"][cls.__name__]["properties"]
    mismatched = {
        f.name: (_python_kind(hints[f.name]), _discovery_kind(properties[camel(f.name)]))
        for f in _wire_fields(cls)
        if camel(f.name) in properties
        and _python_kind(hints[f.name]) != _discovery_kind(properties[camel(f.name)])
    }
    assert not mismatched


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_matches_response_schema(name: str) -> None:
    """The recorded response fixtures agree with the discovery schema."""
    RESPONSE_VALIDATOR.validate(load_fixture(name))


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_parses_with_strict_converter(name: str) -> None:
    """The model knows every field of the fixtures: no drift into ``extra``."""
    response = structure(
        load_fixture(name), GenerateContentResponse, conv=make_converter(strict=True)
    )
    assert response.candidates or response.prompt_feedback


@pytest.mark.parametrize("name", FIXTURES)
def test_parsed_fixture_serializes_to_valid_response(name: str) -> None:
    """A parsed fixture serialized again still validates against the response schema."""
    RESPONSE_VALIDATOR.validate(GenerateContentResponse.from_dict(load_fixture(name)).to_dict())


def test_strict_converter_rejects_unknown_field() -> None:
    """The strict converter flags a field the model does not know, naming its path."""
    data = load_fixture("response_text_image.json")
    data["candidates"][0]["content"]["parts"][0]["newField"] = 1
    with pytest.raises(Exception, match="newField") as info:
        structure(data, GenerateContentResponse, conv=make_converter(strict=True))
    assert getattr(info.value, "path", None) == "$.candidates[0].content.parts[0]"
