"""The wire format, defined once: the cattrs converter between attrs classes and JSON.

- snake_case attributes in Python, camelCase keys on the wire; unset fields (``None``,
  an empty tuple) are omitted, so the server's defaults apply, and ``null`` reads as unset;
- ``bytes`` travel as base64: we send standard padded base64 and accept the standard and
  URL-safe alphabets, padded or not (proto3 JSON allows all of them; cattrs' preconf
  converters use base85, and ``base64.b64decode`` silently drops URL-safe characters);
- unknown keys are kept in each object's ``extra`` dict and sent back (known fields win),
  so replaying a model turn loses nothing;
- scalars are strict (cattrs' defaults would make ``"false"`` True), a repeated field must
  be a JSON array, and numbers may come as proto3 JSON strings (``"12"``, ``"NaN"``).

Requests are not checked here: their classes' validators (`_types`) did that when the
objects were built. Large images skip the JSON parser (`loads`) and encoder
(`encode_request`): their base64 is decoded straight from the body, or made slice by
slice while the body is sent.
"""

from __future__ import annotations

import binascii
import contextvars
import json
import re
import secrets
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
import orjson
import pybase64
from cattrs.errors import IterableValidationError, IterableValidationNote
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from ._errors import ResponseError, UnknownFieldsError

T = TypeVar("T")

WIRE_METADATA_KEY = "routerhub_wire"
"""attrs field metadata key; ``{WIRE_METADATA_KEY: False}`` keeps a field off the wire."""

EXTRA_FIELD = "extra"
"""Name of the attribute that holds the keys this version does not know."""

_URLSAFE = b"-_"
_INT_STRING = re.compile(r"-?[0-9]+")
_NUMBER_STRING = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_FLOAT_WORDS = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}

_PREDECODE_MIN_CHARS = 16 * 1024
"""Base64 values at least this long are decoded from the body before the JSON parse;
well above the break-even, so typical thoughtSignatures stay for ``json.loads``."""

# A string value of a bytes-typed key: ``"data": "`` (inlineData) or thoughtSignature.
_BYTES_VALUE = re.compile(rb'"(?:data|thoughtSignature)"[ \t\n\r]*:[ \t\n\r]*"')

# "!" is not base64, so a placeholder left over can never pass for an image.
_PLACEHOLDER_PREFIX = "!rh-predecoded!"

_SPLICE_MIN_BYTES = 12 * 1024
"""Bytes values at least this long (16 KiB of base64) are base64-encoded while the
request body is sent rather than written by the JSON encoder (see `encode_request`)."""
_SPLICE_PREFIX = "!rh-splice!"

_BASE64_SLICE = 3 << 18
"""Bytes of an image encoded per piece of a request body (1 MiB of base64); a multiple
of 3, so the pieces join into the image's exact base64."""

# While `encode_request` runs in this context: its placeholder prefix, and the large bytes
# values met so far (the nth is written as the prefix and n).
_SPLICING: contextvars.ContextVar[tuple[str, list[bytes]] | None] = contextvars.ContextVar(
    "routerhub_images_splicing", default=None
)

# Placeholder -> pre-decoded bytes for the parse in progress in this context; the bytes
# hook pops each one it meets. A context variable, so threads and tasks never share one.
_PREDECODED: contextvars.ContextVar[dict[str, bytes] | None] = contextvars.ContextVar(
    "routerhub_images_predecoded", default=None
)


def camel(name: str) -> str:
    """``thought_signature`` -> ``thoughtSignature``."""
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def encode_base64(data: bytes) -> str:
    """Standard, padded base64 text of ``data``."""
    return pybase64.b64encode_as_string(data)  # no bytes -> str copy of a large image


def _unstructure_bytes(data: bytes) -> str:
    splicing = _SPLICING.get()
    if splicing is None or len(data) < _SPLICE_MIN_BYTES:
        return encode_base64(data)
    prefix, large = splicing
    large.append(data)
    return f"{prefix}{len(large) - 1}"


def decode_base64(value: object) -> bytes:
    """Decode standard or URL-safe base64, padded or not; reject anything else.

    Raises:
        ValueError: ``value`` is not a string of valid base64.
    """
    if not isinstance(value, str):
        raise ValueError(f"expected a base64 string, got {type(value).__name__}")
    urlsafe = "-" in value or "_" in value
    if urlsafe and ("+" in value or "/" in value):
        raise ValueError("invalid base64: mixes the standard and URL-safe alphabets")
    missing = -len(value) % 4
    if missing == 3:
        raise ValueError("invalid base64: impossible length")
    if missing:
        value += "=" * missing  # a copy, but only unpadded input pays for it
    try:
        # altchars decodes URL-safe text in place: translating it first costs a copy.
        return pybase64.b64decode(value, altchars=_URLSAFE if urlsafe else None, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64: {exc}") from None


def _structure_bytes(value: Any, _: Any) -> bytes:
    pending = _PREDECODED.get()
    # startswith first: a dict lookup would hash a large str that stayed in place.
    if pending and isinstance(value, str) and value.startswith(_PLACEHOLDER_PREFIX):
        data = pending.pop(value, None)
        if data is not None:
            return data
    return decode_base64(value)


def _expect(value: Any, kind: type[T], *also: type[Any]) -> T:
    """``value`` as a ``kind`` (or one of ``also``), a bool only as a bool; no coercion."""
    if isinstance(value, bool) is not (kind is bool) or not isinstance(value, (kind, *also)):
        raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")
    return kind(value)  # type: ignore[call-arg]


def _structure_int(value: Any, _: Any) -> int:
    # proto3 JSON allows integers as strings (int64 always travels that way).
    if isinstance(value, str) and _INT_STRING.fullmatch(value):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return _expect(value, int)


def _structure_float(value: Any, _: Any) -> float:
    # proto3 JSON sends NaN and the infinities as words, and allows any number as a string.
    if isinstance(value, str):
        if value in _FLOAT_WORDS:
            return _FLOAT_WORDS[value]
        if _NUMBER_STRING.fullmatch(value):
            return float(value)
    return _expect(value, float, int)


def _is_homogeneous_tuple(cls: Any) -> bool:
    args = typing.get_args(cls)
    return typing.get_origin(cls) is tuple and len(args) == 2 and args[1] is Ellipsis


def _make_tuple_hook(converter: cattrs.Converter, cls: Any) -> Callable[[Any, Any], Any]:
    # cattrs' own hook takes any iterable: a string or an object would become a tuple of
    # characters or of keys. A JSON array (or a tuple, from Python) is required here.
    item_type = typing.get_args(cls)[0]
    item_hook = converter.get_structure_hook(item_type)

    def structure(value: Any, _: Any) -> tuple[Any, ...]:
        if not isinstance(value, list | tuple):
            raise ValueError(f"expected a JSON array, got {type(value).__name__}")
        items = []
        for index, item in enumerate(value):
            try:
                items.append(item_hook(item, item_type))
            except Exception as exc:
                note = IterableValidationNote(f"Structuring @ index {index}", index, item_type)
                # Typeshed knows __notes__ from 3.11 only; cattrs reads it on 3.10 too.
                exc.__notes__ = [*getattr(exc, "__notes__", []), note]  # type: ignore[attr-defined]
                raise IterableValidationError(f"While structuring {cls}", [exc], cls) from None
        return tuple(items)

    return structure


def wire_names(cls: type[Any]) -> frozenset[str]:
    """The keys of an attrs model class on the wire (``extra`` holds any others)."""
    return frozenset(camel(f.name) for f in attrs.fields(cls) if _is_wire_field(f))


def _is_wire_field(field: attrs.Attribute[Any]) -> bool:
    return bool(field.metadata.get(WIRE_METADATA_KEY, True)) and field.name != EXTRA_FIELD


def _has_extra(cls: type[Any]) -> bool:
    return any(f.name == EXTRA_FIELD for f in attrs.fields(cls))


def _defaulted_names(cls: type[Any]) -> frozenset[str]:
    return frozenset(
        camel(f.name)
        for f in attrs.fields(cls)
        if _is_wire_field(f) and f.default is not attrs.NOTHING
    )


def _without_nulls(value: Mapping[str, Any], defaulted: frozenset[str]) -> Mapping[str, Any]:
    """``value`` without the nulls of fields with a default: proto3 JSON reads them as unset."""
    return {k: v for k, v in value.items() if v is not None or k not in defaulted}


def _overrides(cls: type[Any]) -> dict[str, Any]:
    """The cattrs overrides of ``cls``: each wire field under its camelCase name, no others."""
    return {
        f.name: override(rename=camel(f.name)) if _is_wire_field(f) else override(omit=True)
        for f in attrs.fields(cls)
    }


def _make_structure_hook(
    converter: cattrs.Converter, cls: type[Any], *, strict: bool
) -> Callable[[Any, Any], Any]:
    base = make_dict_structure_fn(cls, converter, **_overrides(cls))
    known = wire_names(cls)
    defaulted = _defaulted_names(cls)
    keep_extra = _has_extra(cls)

    def structure(value: Any, target: Any) -> Any:
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a JSON object, got {type(value).__name__}")
        instance = base(_without_nulls(value, defaulted), target)
        unknown = {k: v for k, v in value.items() if k not in known}
        if unknown and strict:
            raise UnknownFieldsError(f"unknown fields: {sorted(unknown)}")
        if unknown and keep_extra:  # as in Blob: setting a field of a frozen instance
            object.__setattr__(instance, EXTRA_FIELD, unknown)
        return instance

    return structure


def _make_unstructure_hook(converter: cattrs.Converter, cls: type[Any]) -> Callable[[Any], Any]:
    base = make_dict_unstructure_fn(cls, converter, _cattrs_omit_if_default=True, **_overrides(cls))
    keep_extra = _has_extra(cls)

    def unstructure(instance: Any) -> dict[str, Any]:
        known = base(instance)
        extra = getattr(instance, EXTRA_FIELD) if keep_extra else None
        return {**extra, **known} if extra else known

    return unstructure


def make_converter(*, strict: bool = False) -> cattrs.Converter:
    """Build the wire converter; ``strict=True`` rejects unknown keys (for fixture tests)."""
    converter = cattrs.Converter(unstruct_collection_overrides={tuple: list})
    converter.register_structure_hook(bytes, _structure_bytes)
    converter.register_unstructure_hook(bytes, _unstructure_bytes)
    converter.register_structure_hook(str, lambda value, _: _expect(value, str))
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(float, _structure_float)
    converter.register_structure_hook(bool, lambda value, _: _expect(value, bool))
    converter.register_structure_hook_factory(
        _is_homogeneous_tuple, lambda cls: _make_tuple_hook(converter, cls)
    )
    converter.register_structure_hook_factory(
        attrs.has, lambda cls: _make_structure_hook(converter, cls, strict=strict)
    )
    converter.register_unstructure_hook_factory(
        attrs.has, lambda cls: _make_unstructure_hook(converter, cls)
    )
    return converter


converter = make_converter()
"""The one converter of the library."""


def unstructure(instance: Any) -> dict[str, Any]:
    """The wire dict of an attrs model instance."""
    result: dict[str, Any] = converter.unstructure(instance)
    return result


def dumps_text(instance: Any) -> str:
    """Compact JSON text of an attrs model instance."""
    return json.dumps(unstructure(instance), separators=(",", ":"), ensure_ascii=False)


class RequestBody:
    """A request's JSON body in pieces, each large image's base64 made as it is sent.

    ``len()`` is the exact length in bytes, and each iteration yields the same bytes (the
    JSON text around the images, and each image's base64 a slice at a time), so the body
    can be sent again on a retry.
    """

    def __init__(self, texts: list[bytes], images: list[bytes]):
        self._texts = texts  # the JSON before, between and after the images
        self._images = images
        self._length = sum(map(len, texts)) + sum(4 * -(-len(data) // 3) for data in images)

    def __len__(self) -> int:
        return self._length

    def __bytes__(self) -> bytes:
        return b"".join(self)

    def __iter__(self) -> Iterator[bytes]:
        yield self._texts[0]
        for data, text in zip(self._images, self._texts[1:], strict=True):
            view = memoryview(data)
            for start in range(0, len(view), _BASE64_SLICE):
                yield pybase64.b64encode(view[start : start + _BASE64_SLICE])
            yield text


def encode_request(request: Any) -> RequestBody:
    """The compact UTF-8 JSON of a request, as orjson writes it, as a `RequestBody`.

    A large bytes value is written as a placeholder and the body cut at it: its base64 is
    made only while the body is sent, so no whole base64 of a large image is ever built.
    """
    prefix = f"{_SPLICE_PREFIX}{secrets.token_hex(16)}!"  # no prompt can know it
    large: list[bytes] = []
    token = _SPLICING.set((prefix, large))
    try:
        wire = converter.unstructure(request)
    finally:
        _SPLICING.reset(token)
    try:
        body = orjson.dumps(wire)
    except orjson.JSONEncodeError:
        # A lone surrogate (a valid JSON escape, e.g. a cut emoji) has no UTF-8 form, and
        # orjson refuses integers beyond 64 bits (in free-form fields): the stdlib encoder
        # takes both.
        body = json.dumps(wire, separators=(",", ":")).encode()
    texts: list[bytes] = []
    start = 0
    for index in range(len(large)):
        mark = f"{prefix}{index}".encode()
        at = body.index(mark + b'"', start)  # the quote: !1 is not the start of !10
        texts.append(body[start:at])
        start = at + len(mark)
    texts.append(body[start:])
    return RequestBody(texts, large)


def _describe(exc: BaseException, target: type[Any] | None) -> str:
    if isinstance(exc, ValueError) and str(exc):
        return str(exc)
    return cattrs.v.format_exception(exc, target)


def _first_problem(exc: BaseException) -> tuple[str, str | None]:
    messages = cattrs.transform_error(exc, path="$", format_exception=_describe)
    first = messages[0] if messages else str(exc)
    message, _, path = first.rpartition(" @ ")
    if not message:
        return first, None
    # cattrs names the attributes ($.usage_metadata); the server, the keys ($.usageMetadata).
    return message, re.sub(r"\.([a-z0-9_]+)", lambda m: "." + camel(m.group(1)), path)


def structure(
    data: Any,
    cls: type[T],
    *,
    conv: cattrs.Converter | None = None,
    http_status: int | None = None,
) -> T:
    """Build ``cls`` from wire data; a bad payload raises `ResponseError` naming the path.

    Raises:
        ResponseError: ``data`` does not fit ``cls``; ``path`` is the JSON path at fault,
            ``http_status`` the status of the answer it came in, if any.
    """
    try:
        return (conv or converter).structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        message, path = _first_problem(exc)
        where = f" at {path}" if path else ""
        raise ResponseError(
            f"invalid {cls.__name__}{where}: {message}", path=path, http_status=http_status
        ) from exc


def _predecode(body: bytes) -> tuple[bytes, dict[str, bytes]] | None:
    """``body`` with each large base64 value of a bytes key swapped for a placeholder.

    Returns the smaller body and the placeholder -> bytes map, or None when no value
    qualifies. Base64 has no quote and no backslash, so a value ends at the next quote;
    a value that is not clean standard padded base64 (URL-safe, unpadded, escaped,
    invalid) stays in place for the ordinary hook to decode or to reject with its path.
    The scan does not tokenize the JSON; `_loads_predecoded` checks its guesses.
    """
    view = memoryview(body)
    pieces: list[memoryview | bytes] = []
    decoded: dict[str, bytes] = {}
    nonce = secrets.token_hex(16)  # the server cannot plant a placeholder it cannot know
    copied = 0
    match = _BYTES_VALUE.search(body)
    while match is not None:
        start = match.end()
        end = body.find(b'"', start)
        if end < 0:
            break
        if end - start >= _PREDECODE_MIN_CHARS:
            try:
                data = pybase64.b64decode(view[start:end], validate=True)
            except (binascii.Error, ValueError):
                pass
            else:
                placeholder = f"{_PLACEHOLDER_PREFIX}{nonce}!{len(decoded)}"
                decoded[placeholder] = data
                pieces += (view[copied:start], placeholder.encode())
                copied = end
        match = _BYTES_VALUE.search(body, end + 1)
    if not decoded:
        return None
    pieces.append(view[copied:])
    return b"".join(pieces), decoded


def _loads_predecoded(body: bytes, cls: type[T]) -> T | None:
    """Parse with large base64 values decoded straight from ``body``; None to fall back.

    A large image then costs one decode from the body, instead of a bytes->str decode of
    the body, a str copy by the JSON scanner and a decode. The result stands only if the
    bytes hook took every placeholder, i.e. each one sat at a bytes-typed field (each is
    unique to this parse, so it cannot sit anywhere twice). A scan fooled by the JSON (a
    key inside a string, a duplicate key, an unknown field) leaves a placeholder in the
    tree or breaks the parse: then the caller parses again the ordinary way, which also
    words any error as that path does.
    """
    predecoded = _predecode(body)
    if predecoded is None:
        return None
    small, pending = predecoded
    try:
        data = json.loads(small)
    except (ValueError, RecursionError):
        return None
    token = _PREDECODED.set(pending)
    try:
        result = converter.structure(data, cls)
    except (cattrs.BaseValidationError, ValueError, TypeError, KeyError):
        return None
    finally:
        _PREDECODED.reset(token)
    return None if pending else result


def loads(body: bytes | str, cls: type[T], *, http_status: int | None = None) -> T:
    """Parse JSON text into ``cls``; invalid JSON or shape raises `ResponseError`.

    Reads what ``json.loads`` reads; a bytes body's large base64 values are decoded from it
    before the parse (`_loads_predecoded`). ``http_status`` (of the answer the body came
    in) goes on the `ResponseError`.
    """
    if isinstance(body, bytes):
        result = _loads_predecoded(body, cls)
        if result is not None:
            return result
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ResponseError(
            f"body is not valid JSON: {exc}", path="$", http_status=http_status
        ) from None
    return structure(data, cls, http_status=http_status)
