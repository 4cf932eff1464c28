"""`_wire.loads` reads exactly what ``json.loads`` reads, large images included."""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import pytest
from client_helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from routerhub_images import ResponseError, _wire
from routerhub_images._types import GenerateContentResponse

# Base64 of this many bytes or more is decoded from the body before the JSON parse.
LARGE_BYTES = _wire._PREDECODE_MIN_CHARS * 3 // 4


def _outcome(body: bytes | str, parse: Any) -> tuple[str, Any, Any]:
    try:
        return ("ok", parse(body), None)
    except ResponseError as exc:
        return ("error", str(exc), exc.path)


def _loads(body: bytes | str) -> GenerateContentResponse:
    return _wire.loads(body, GenerateContentResponse)


def _plain(body: bytes | str) -> GenerateContentResponse:
    """The reference: ``json.loads`` of the whole body, then the converter."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ResponseError(f"body is not valid JSON: {exc}", path="$") from None
    return _wire.structure(data, GenerateContentResponse)


def _b64(data: bytes, alphabet: str) -> str:
    text = base64.b64encode(data).decode()
    if "urlsafe" in alphabet:
        text = text.translate(str.maketrans("+/", "-_"))
    return text.rstrip("=") if "unpadded" in alphabet else text


alphabets = st.sampled_from(["standard", "urlsafe", "unpadded", "urlsafe-unpadded"])
payloads = st.builds(
    lambda size, byte: bytes([byte]) * size,
    st.sampled_from([0, 1, 5, LARGE_BYTES - 1, LARGE_BYTES, LARGE_BYTES + 2]),
    st.integers(0, 255),
)
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)


@st.composite
def image_parts(draw: st.DrawFn) -> dict[str, Any]:
    """An inlineData part, maybe with a thoughtSignature, nulls or unknown keys."""
    blob: dict[str, Any] = {"data": _b64(draw(payloads), draw(alphabets))}
    blob["mimeType"] = draw(st.sampled_from(["image/png", "image/jpeg", None]))
    part: dict[str, Any] = {"inlineData": blob}
    if draw(st.booleans()):
        part["thoughtSignature"] = _b64(draw(payloads), draw(alphabets))
    if draw(st.booleans()):
        part[draw(st.sampled_from(["data", "future", "thought"]))] = draw(scalars)
    return part


text_parts = st.builds(lambda text: {"text": text}, st.text(max_size=20))


@st.composite
def answers(draw: st.DrawFn) -> dict[str, Any]:
    """A generateContent answer: texts and images, usage, nulls, unknown keys."""
    parts = draw(st.lists(text_parts | image_parts(), max_size=3))
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}}
    candidate["finishReason"] = draw(st.sampled_from(["STOP", "NEW_REASON", None]))
    candidate["avgLogprobs"] = draw(st.none() | st.floats(allow_nan=False, allow_infinity=False))
    answer: dict[str, Any] = {"candidates": [candidate]}
    answer["usageMetadata"] = draw(
        st.none() | st.fixed_dictionaries({"promptTokenCount": st.integers(0, 2**70)})
    )
    answer["unknownTopLevel"] = draw(scalars)
    return answer


@settings(max_examples=examples(200), deadline=None)
@given(
    answer=answers(),
    indent=st.sampled_from([None, 1]),
    ensure_ascii=st.booleans(),
    as_bytes=st.booleans(),
)
def test_loads_reads_any_answer_as_json_loads_does(
    answer: dict[str, Any], indent: int | None, ensure_ascii: bool, as_bytes: bool
) -> None:
    """Any generated answer gives the result (or the error) of ``json.loads`` + structure."""
    text = json.dumps(answer, indent=indent, ensure_ascii=ensure_ascii)
    body: bytes | str = text.encode() if as_bytes else text
    assert _outcome(body, _loads) == _outcome(body, _plain)


# --- what json.loads accepts beyond strict JSON, with a large image beside it -----------

LARGE_IMAGE = b"\x89PNG" + bytes(range(256)) * (LARGE_BYTES // 256 + 1)


def _answer(text: str = "Here it is.", **candidate: Any) -> dict[str, Any]:
    image = {"inlineData": {"mimeType": "image/png", "data": _b64(LARGE_IMAGE, "standard")}}
    content = {"role": "model", "parts": [{"text": text}, image]}
    return {"candidates": [{"content": content, **candidate}]}


def test_a_lone_surrogate_escape_reads_as_that_character() -> None:
    """``"\\ud83d"`` (half an emoji, cut by the server) is a one-character text."""
    response = _loads(json.dumps(_answer("cut \ud83d")).encode())
    assert response.text == "cut \ud83d"
    assert response.images[0].data == LARGE_IMAGE


@pytest.mark.parametrize(
    ("literal", "expected"),
    [("NaN", math.nan), ("Infinity", math.inf), ("-Infinity", -math.inf), ("1e400", math.inf)],
)
def test_non_finite_number_literals_read_as_json_loads_reads_them(
    literal: str, expected: float
) -> None:
    """NaN and Infinity literals, and a float beyond range, read as ``json.loads`` reads them."""
    body = json.dumps(_answer(avgLogprobs=0.5)).replace("0.5", literal).encode()
    value = _loads(body).candidates[0].avg_logprobs
    assert value is not None
    assert math.isnan(value) if math.isnan(expected) else value == expected


def test_an_integer_beyond_64_bits_reads_exactly() -> None:
    """Integers beyond 64 bits read exactly, in a modeled field and in ``extra``."""
    big = 2**70 + 1
    answer = {**_answer(), "usageMetadata": {"promptTokenCount": big}, "future": -big}
    response = _loads(json.dumps(answer).encode())
    assert response.usage_metadata is not None
    assert response.usage_metadata.prompt_token_count == big
    assert response.extra == {"future": -big}


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"])
def test_utf16_and_utf32_bodies_read_as_utf8_ones(encoding: str) -> None:
    """A body in UTF-16 or UTF-32 (with or without BOM) reads as its UTF-8 twin."""
    text = json.dumps(_answer("un café"), ensure_ascii=False)
    assert _loads(text.encode(encoding)) == _loads(text.encode())


def test_duplicate_keys_keep_the_last_value() -> None:
    """A repeated key keeps its last value, as ``json.loads`` does."""
    body = json.dumps(_answer()).replace('"text": ', '"text": "first", "text": ').encode()
    assert _loads(body).text == "Here it is."


def test_absurd_nesting_is_a_response_error() -> None:
    """Nesting too deep for the parser is a `ResponseError` at ``$``, not a RecursionError."""
    deep = "[" * 100_000 + "]" * 100_000
    body = json.dumps(_answer()).replace('"Here it is."', deep).encode()
    with pytest.raises(ResponseError, match="body is not valid JSON") as info:
        _loads(body)
    assert info.value.path == "$"
