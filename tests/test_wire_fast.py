"""The parse fast path: large base64 values decoded from the body before the JSON parse."""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import attrs
import pytest
from client_helpers import examples
from hypothesis import given, settings
from hypothesis import strategies as st

from routerhub_images import ResponseError, _wire
from routerhub_images._types import GenerateContentResponse

IMAGE_DATA_PATH = "$.candidates[0].content.parts[1].inlineData.data"
LARGE = _wire._PREDECODE_MIN_CHARS  # base64 characters: every "large" value is this or more


def _payload(tag: bytes = b"\x89PNG", size: int = LARGE) -> bytes:
    return tag + os.urandom(size - len(tag))


def _response(
    data: str, *, signature: str | None = None, text: str = "Here it is."
) -> dict[str, Any]:
    image: dict[str, Any] = {"inlineData": {"mimeType": "image/png", "data": data}}
    if signature is not None:
        image["thoughtSignature"] = signature
    return {
        "candidates": [
            {"content": {"role": "model", "parts": [{"text": text}, image]}, "index": 0}
        ],
        "modelVersion": "bench",
    }


def _body(data: dict[str, Any], **dumps: Any) -> bytes:
    return json.dumps(data, **dumps).encode()


def _plain(body: bytes) -> GenerateContentResponse:
    """The ordinary path: the whole body through ``json.loads``, then the converter."""
    return _wire.structure(json.loads(body), GenerateContentResponse)


def _outcome(parse: Callable[[bytes], Any], body: bytes) -> tuple[str, Any, Any]:
    try:
        return ("ok", parse(body), None)
    except ResponseError as exc:
        return ("error", str(exc), exc.path)


@pytest.fixture
def json_inputs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The length of every text the JSON parser in `_wire` sees."""
    seen: list[int] = []
    real = json.loads

    def spy(text: str | bytes, **kwargs: Any) -> Any:
        seen.append(len(text))
        return real(text, **kwargs)

    monkeypatch.setattr(json, "loads", spy)
    return seen


def _image(response: GenerateContentResponse) -> bytes:
    return response.images[0].data


# --- the fast path taken ----------------------------------------------------------------


def test_large_image_decodes_without_parsing_its_base64(json_inputs: list[int]) -> None:
    """A large image decodes exactly, and the JSON parser only sees a small body."""
    payload = _payload(size=3 * LARGE)
    response = GenerateContentResponse.from_json(
        _body(_response(base64.b64encode(payload).decode()))
    )
    assert _image(response) == payload
    assert response.text == "Here it is."
    assert json_inputs
    assert max(json_inputs) < 1024


def test_large_thought_signature_decodes_on_the_fast_path(json_inputs: list[int]) -> None:
    """A large thoughtSignature next to a large image: both decode, each to its own field."""
    payload, signature = _payload(size=2 * LARGE), _payload(b"sig", size=LARGE)
    data = _response(
        base64.b64encode(payload).decode(), signature=base64.b64encode(signature).decode()
    )
    response = GenerateContentResponse.from_json(_body(data))
    part = response.parts[1]
    assert part.inline_data is not None
    assert part.inline_data.data == payload
    assert part.thought_signature == signature
    assert max(json_inputs) < 1024


def test_whitespace_around_the_colon_is_allowed(json_inputs: list[int]) -> None:
    """Pretty-printed JSON (spaces, newlines) takes the fast path too."""
    payload = _payload()
    body = _body(_response(base64.b64encode(payload).decode()), indent=2, separators=(" ,", " : "))
    assert _image(GenerateContentResponse.from_json(body)) == payload
    assert max(json_inputs) < 1024


def test_small_values_take_the_ordinary_path(json_inputs: list[int]) -> None:
    """Below the threshold, the body goes to the JSON parser whole."""
    payload = _payload(size=LARGE // 2)
    body = _body(_response(base64.b64encode(payload).decode()))
    assert _image(GenerateContentResponse.from_json(body)) == payload
    assert json_inputs == [len(body)]


def test_str_bodies_take_the_ordinary_path(json_inputs: list[int]) -> None:
    """A str body is parsed as before (the scan works on bytes)."""
    payload = _payload()
    text = json.dumps(_response(base64.b64encode(payload).decode()))
    assert _image(GenerateContentResponse.from_json(text)) == payload
    assert json_inputs == [len(text)]


# --- values the fast path leaves in place -----------------------------------------------


@pytest.mark.parametrize(
    "encode",
    [
        lambda b: base64.b64encode(b).rstrip(b"="),
        base64.urlsafe_b64encode,
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
    ],
    ids=["unpadded", "urlsafe", "urlsafe-unpadded"],
)
def test_large_urlsafe_or_unpadded_base64_still_decodes(encode: Callable[[bytes], bytes]) -> None:
    """URL-safe or unpadded large values go to the ordinary decoder and decode the same."""
    payload = _payload(b"\xfb\xff\xfe", size=LARGE + 1)  # +/ in the text, and a pad
    body = _body(_response(encode(payload).decode()))
    assert _image(GenerateContentResponse.from_json(body)) == payload


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda text: text[:100] + "*" + text[101:],
        lambda text: text[:-1] + "!",
        lambda text: text[: LARGE // 2] + "\\n" + text[LARGE // 2 :],
        lambda text: text[:100] + "-" + text[101:200] + "+" + text[201:],
        lambda text: text + "====",
    ],
    ids=["stray-char", "bad-tail", "escaped-newline", "mixed-alphabets", "excess-padding"],
)
def test_invalid_large_base64_names_json_path(corrupt: Callable[[str], str]) -> None:
    """Bad base64 in a large value raises ResponseError at its JSON path, as before."""
    body = _body(_response(corrupt(base64.b64encode(_payload()).decode())))
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_json(body)
    assert info.value.path == IMAGE_DATA_PATH
    assert _outcome(GenerateContentResponse.from_json, body) == _outcome(_plain, body)


# --- a fooled scan falls back -----------------------------------------------------------


def _large_b64() -> str:
    return base64.b64encode(_payload()).decode()


@pytest.mark.parametrize(
    "data",
    [
        # The key is '"data' (with a quote): the scan sees "data", the parser an unknown key.
        {"candidates": [{"content": {"parts": [{"text": "x", '"data': _large_b64()}]}}]},
        # A "data" key where no bytes field is: it lands in ``extra``.
        {"candidates": [{"content": {"parts": [{"text": "x"}]}, "data": _large_b64()}]},
        {
            "candidates": [
                {"content": {"parts": [{"fileData": {"fileUri": "u", "data": _large_b64()}}]}}
            ]
        },
        # A text that quotes a key and a large value, escapes included.
        {"candidates": [{"content": {"parts": [{"text": '\\"data": "' + _large_b64() + '"'}]}}]},
        {"candidates": [{"content": {"parts": [{"text": '"data":"' + _large_b64()}]}}]},
    ],
    ids=["quoted-key", "unknown-field", "filedata-extra", "escaped-in-text", "quoted-in-text"],
)
def test_a_fooled_scan_gives_the_ordinary_result(data: dict[str, Any]) -> None:
    """Where the scan mistakes a value for an image, the result is the ordinary parse's."""
    body = _body(data)
    assert GenerateContentResponse.from_json(body) == _plain(body)


def test_duplicate_keys_keep_the_last_value() -> None:
    """A repeated ``data`` key keeps the last value, as ``json.loads`` does."""
    first, last = _payload(b"first"), _payload(b"last")
    body = _body(_response("FIRST")).replace(
        b'"data": "FIRST"',
        b'"data": "' + base64.b64encode(first) + b'", "data": "' + base64.b64encode(last) + b'"',
    )
    assert _image(GenerateContentResponse.from_json(body)) == last


@pytest.fixture
def known_nonce(monkeypatch: pytest.MonkeyPatch) -> str:
    """Fix the per-parse nonce, so a body can carry the very placeholder of a parse."""
    monkeypatch.setattr(secrets, "token_hex", lambda _: "0" * 32)
    return f"{_wire._PLACEHOLDER_PREFIX}{'0' * 32}!0"


def test_a_placeholder_in_a_text_stays_text(known_nonce: str) -> None:
    """A text equal to a placeholder is returned as text; the image still decodes."""
    payload = _payload()
    response = GenerateContentResponse.from_json(
        _body(_response(base64.b64encode(payload).decode(), text=known_nonce))
    )
    assert response.text == known_nonce
    assert _image(response) == payload


@pytest.mark.parametrize("image_first", [True, False])
def test_a_placeholder_in_a_bytes_field_falls_back(known_nonce: str, image_first: bool) -> None:
    """A placeholder planted in another bytes field cannot steal the image: same as before."""
    data = _response(base64.b64encode(_payload()).decode())
    planted = {"text": "x", "thoughtSignature": known_nonce}
    parts = data["candidates"][0]["content"]["parts"]
    parts.insert(len(parts) if image_first else 0, planted)
    body = _body(data)
    with pytest.raises(ResponseError, match="thoughtSignature"):
        GenerateContentResponse.from_json(body)
    assert _outcome(GenerateContentResponse.from_json, body) == _outcome(_plain, body)


# --- concurrency ------------------------------------------------------------------------


class Gate:
    """A field type whose hook runs a callback mid-parse (between two bytes fields)."""


@attrs.frozen
class Probe:
    """Two large bytes fields with a pause between them."""

    data: bytes
    gate: Gate
    thought_signature: bytes


def _probe_body(first: bytes, second: bytes) -> bytes:
    return json.dumps(
        {
            "data": base64.b64encode(first).decode(),
            "gate": None,
            "thoughtSignature": base64.b64encode(second).decode(),
        }
    ).encode()


@pytest.fixture
def gate_hook() -> Iterator[list[Callable[[], object]]]:
    """Callbacks run by the Gate hook; the hook lives on the library converter."""
    callbacks: list[Callable[[], object]] = []

    def structure(_: Any, __: Any) -> Gate:
        for callback in callbacks:
            callback()
        return Gate()

    _wire.converter.register_structure_hook(Gate, structure)
    yield callbacks
    callbacks.clear()


def test_two_threads_mid_parse_keep_their_own_payloads(
    gate_hook: list[Callable[[], object]],
) -> None:
    """Two parses paused in step, in two threads, each get their own bytes."""
    barrier = threading.Barrier(2, timeout=10)
    gate_hook.append(barrier.wait)
    payloads = [(_payload(b"A1"), _payload(b"A2")), (_payload(b"B1"), _payload(b"B2"))]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda pair: _wire.loads(_probe_body(*pair), Probe), payloads))
    for (first, second), probe in zip(payloads, results, strict=True):
        assert (probe.data, probe.thought_signature) == (first, second)


def test_a_parse_nested_mid_parse_keeps_payloads_apart(
    gate_hook: list[Callable[[], object]],
) -> None:
    """A parse started inside another (same thread) neither sees nor spends its placeholders."""
    inner_payload = _payload(b"inner")
    inner: list[bytes] = []

    def nested() -> None:
        gate_hook.clear()
        inner.append(
            _image(
                GenerateContentResponse.from_json(
                    _body(_response(base64.b64encode(inner_payload).decode()))
                )
            )
        )

    gate_hook.append(nested)
    first, second = _payload(b"outer1"), _payload(b"outer2")
    probe = _wire.loads(_probe_body(first, second), Probe)
    assert (probe.data, probe.thought_signature) == (first, second)
    assert inner == [inner_payload]


def test_many_concurrent_parses_never_mix_payloads() -> None:
    """Many parses on many threads: every response carries its own image."""
    payloads = [_payload(bytes([i]) * 4) for i in range(8)]
    bodies = [_body(_response(base64.b64encode(p).decode())) for p in payloads]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda b: _image(GenerateContentResponse.from_json(b)), bodies * 4))
    assert results == payloads * 4


# --- equivalence with the ordinary path -------------------------------------------------

SAMPLE_STRINGS = [
    "",
    "AAAA",
    "iVBORw0KGgo=",
    "iVBORw0KGgo",
    "-_-_",
    "+/+/",
    "not base64!",
    'q"data": "AAAA',
    "back\\slash",
    "data",
    "!rh-predecoded!x!0",
]
KEYS = ["data", "thoughtSignature", "inlineData", "text", "parts", "content", "candidates", '"data']
shaped = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.sampled_from(SAMPLE_STRINGS),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=examples(300), deadline=None)
@given(data=shaped, wrap=st.booleans(), indent=st.sampled_from([None, 1]))
def test_fast_path_matches_the_ordinary_path(data: Any, wrap: bool, indent: int | None) -> None:
    """With every value "large", any JSON gives the ordinary result or the same error."""
    body = _body({"candidates": [{"content": data}]} if wrap else data, indent=indent)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_wire, "_PREDECODE_MIN_CHARS", 1)
        fast = _outcome(GenerateContentResponse.from_json, body)
    assert fast == _outcome(_plain, body)
