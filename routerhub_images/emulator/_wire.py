"""Structural checks of a request body, the way Google's JSON parser makes them.

``normalize`` walks the raw JSON against the field table in ``_schema``: it accepts camelCase
and snake_case names, standard and URL-safe base64 with or without padding, and rejects unknown
names, wrong types and a doubly-set oneof with Google's messages. It returns a copy keyed by
camelCase names in which ``bytes`` fields are decoded.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

from ._errors import ApiError
from ._schema import ENUMS, MESSAGES, ONEOFS, TYPE_NAMES, TYPE_URL

_BASE64 = re.compile(r"[A-Za-z0-9+/_-]*={0,2}")
_INVALID_PAYLOAD = "Invalid JSON payload received. "


def camel(name: str) -> str:
    """Turn a snake_case wire name into camelCase (a leading underscore is kept)."""
    head, *rest = name.split("_")
    if not head:
        return name
    return head + "".join(word[:1].upper() + word[1:] for word in rest)


def snake(name: str) -> str:
    """Turn a camelCase wire name into the snake_case Google uses in field paths."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def decode_base64(text: str) -> bytes:
    """Decode standard or URL-safe base64, padded or not; raise ``ValueError`` if invalid."""
    if not _BASE64.fullmatch(text) or len(text.rstrip("=")) % 4 == 1:
        raise ValueError("not base64")
    body = text.rstrip("=").replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError("not base64") from exc


def normalize(body: Any) -> dict[str, Any]:
    """Check a ``GenerateContentRequest`` body and return its camelCase, decoded copy.

    Raises:
        ApiError: 400 ``INVALID_ARGUMENT`` with Google's message for the first problem.
    """
    if not isinstance(body, dict):
        raise ApiError(400, _INVALID_PAYLOAD + 'Unknown name "": Root element must be a message.')
    return _message(body, "GenerateContentRequest", "")


def _message(value: Any, message: str, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _invalid_value(path, TYPE_URL + message, value)
    fields = MESSAGES[message]
    result: dict[str, Any] = {}
    for key, item in value.items():
        name = key if key in fields else camel(key)
        if name not in fields:
            where = f" at '{path}'" if path else ""
            raise ApiError(
                400, f'{_INVALID_PAYLOAD}Unknown name "{key}"{where}: Cannot find field.'
            )
        if item is None:
            continue
        _check_oneof(message, name, result)
        result[name] = _field(item, fields[name], _join(path, snake(name)))
    return result


def _check_oneof(message: str, name: str, seen: dict[str, Any]) -> None:
    members = ONEOFS.get(message, ())
    if name in members and any(other in seen for other in members):
        raise ApiError(
            400, f"{_INVALID_PAYLOAD}Oneof field 'data' is already set. Cannot set '{name}'"
        )


def _field(value: Any, kind: str, path: str) -> Any:
    if kind.startswith("[]"):
        if not isinstance(value, list):
            raise _invalid_value(path, _kind_name(kind[2:]), value)
        return [_field(item, kind[2:], f"{path}[{index}]") for index, item in enumerate(value)]
    if kind.startswith("@"):
        return _message(value, kind[1:], path)
    if kind.startswith("enum:"):
        return _enum(value, kind[5:], path)
    return _scalar(value, kind, path)


def _enum(value: Any, enum: str, path: str) -> str:
    if not isinstance(value, str) or value.upper() not in ENUMS[enum]:
        raise _invalid_value(path, TYPE_URL + enum, value)
    return value.upper()


def _scalar(value: Any, kind: str, path: str) -> Any:
    ok = {
        "any": True,
        "string": isinstance(value, str),
        "bool": isinstance(value, bool),
        "int": _is_int(value),
        "number": _is_number(value),
        "bytes": isinstance(value, str),
    }[kind]
    if not ok:
        raise _invalid_value(path, TYPE_NAMES[kind], value)
    if kind == "bytes":
        try:
            return decode_base64(value)
        except ValueError:
            excerpt = json.dumps(value[:40])
            message = f"Invalid value at '{path}' ({TYPE_NAMES[kind]}), Base64 decoding failed"
            raise ApiError(400, f"{message} for {excerpt}") from None
    if kind == "int":
        return int(value)
    return float(value) if kind == "number" else value


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, str) and re.fullmatch(r"-?\d+", value) is not None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return True
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _kind_name(kind: str) -> str:
    if kind.startswith(("@", "enum:")):
        return TYPE_URL + kind.rsplit(":", maxsplit=1)[-1].lstrip("@")
    return TYPE_NAMES.get(kind, "TYPE_MESSAGE")


def _invalid_value(path: str, type_name: str, value: Any) -> ApiError:
    shown = json.dumps(value) if not isinstance(value, (dict, list)) else type(value).__name__
    return ApiError(400, f"Invalid value at '{path}' ({type_name}), {shown}")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name
