"""The wire format: round trips, forward compatibility, base64 and strict parsing."""

from __future__ import annotations

import base64
import copy
import json
import math
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import pytest
from client_helpers import examples
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from wire_samples import FIXTURES, REQUESTS, load_fixture, multi_turn_replay

from routerhub_images import InvalidInputError, ResponseError, _wire
from routerhub_images._types import (
    Blob,
    Candidate,
    CitationMetadata,
    CitationSource,
    Content,
    FileData,
    GenerateContentRequest,
    GenerateContentResponse,
    GenerationConfig,
    ImageConfig,
    ModalityTokenCount,
    Part,
    PromptFeedback,
    SafetyRating,
    SafetySetting,
    ThinkingConfig,
    UsageMetadata,
    WireModel,
)
from routerhub_images._wire import camel, decode_base64, encode_base64

T = TypeVar("T")
IMAGE_DATA_PATH = "$.candidates[0].content.parts[1].inlineData.data"

# --- strategies -----------------------------------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# camelCase keys no model class knows: they must land in ``extra`` and come back.
extras = st.dictionaries(
    st.from_regex(r"x[A-Z][a-zA-Z0-9]{0,6}", fullmatch=True), json_values, max_size=2
)
int32s = st.integers(-(2**31), 2**31 - 1)
floats = st.floats(allow_nan=False, allow_infinity=False)
texts = st.text(max_size=20)


def opt(strategy: st.SearchStrategy[T]) -> st.SearchStrategy[T | None]:
    return st.none() | strategy


blobs = st.builds(
    Blob,
    mime_type=st.sampled_from(["image/png", "image/jpeg"]) | texts,
    data=st.binary(max_size=64),
    extra=extras,
)
file_datas = st.builds(FileData, file_uri=texts, mime_type=opt(texts), extra=extras)
parts = st.builds(
    Part,
    text=opt(texts),
    inline_data=opt(blobs),
    file_data=opt(file_datas),
    thought=opt(st.booleans()),
    thought_signature=opt(st.binary(max_size=32)),
    extra=extras,
)
contents = st.builds(
    Content,
    parts=st.lists(parts, max_size=3),
    role=opt(st.sampled_from(["user", "model", "critic"])),
    extra=extras,
)
generation_configs = st.builds(
    GenerationConfig,
    candidate_count=opt(int32s),
    stop_sequences=opt(st.lists(texts, max_size=2)),
    max_output_tokens=opt(int32s),
    temperature=opt(floats),
    top_p=opt(floats),
    top_k=opt(int32s),
    seed=opt(int32s),
    response_mime_type=opt(texts),
    response_schema=opt(st.dictionaries(texts, json_values, max_size=2)),
    response_json_schema=opt(json_values.filter(lambda v: v is not None)),
    presence_penalty=opt(floats),
    frequency_penalty=opt(floats),
    response_logprobs=opt(st.booleans()),
    logprobs=opt(int32s),
    enable_enhanced_civic_answers=opt(st.booleans()),
    response_modalities=opt(st.lists(st.sampled_from(["TEXT", "IMAGE", "HOLOGRAM"]), max_size=2)),
    speech_config=opt(st.dictionaries(texts, json_values, max_size=2)),
    thinking_config=opt(
        st.builds(
            ThinkingConfig,
            include_thoughts=opt(st.booleans()),
            thinking_budget=opt(int32s),
            thinking_level=opt(texts),
            extra=extras,
        )
    ),
    image_config=opt(
        st.builds(ImageConfig, aspect_ratio=opt(texts), image_size=opt(texts), extra=extras)
    ),
    media_resolution=opt(texts),
    extra=extras,
)
requests = st.builds(
    GenerateContentRequest,
    contents=st.lists(contents, max_size=2),
    generation_config=opt(generation_configs),
    safety_settings=opt(
        st.lists(
            st.builds(SafetySetting, category=texts, threshold=texts, extra=extras), max_size=2
        )
    ),
    system_instruction=opt(contents),
    cached_content=opt(texts),
    extra=extras,
)
safety_ratings = st.lists(
    st.builds(
        SafetyRating,
        category=opt(texts),
        probability=opt(texts),
        blocked=opt(st.booleans()),
        extra=extras,
    ),
    max_size=2,
)
token_details = st.lists(
    st.builds(ModalityTokenCount, modality=opt(texts), token_count=opt(int32s), extra=extras),
    max_size=2,
)
candidates = st.builds(
    Candidate,
    content=opt(contents),
    finish_reason=opt(st.sampled_from(["STOP", "IMAGE_SAFETY", "SOMETHING_NEW"])),
    finish_message=opt(texts),
    safety_ratings=safety_ratings,
    citation_metadata=opt(
        st.builds(
            CitationMetadata,
            citation_sources=st.lists(
                st.builds(
                    CitationSource,
                    start_index=opt(int32s),
                    end_index=opt(int32s),
                    uri=opt(texts),
                    license=opt(texts),
                    extra=extras,
                ),
                max_size=2,
            ),
            extra=extras,
        )
    ),
    token_count=opt(int32s),
    index=opt(int32s),
    avg_logprobs=opt(floats),
    extra=extras,
)
responses = st.builds(
    GenerateContentResponse,
    candidates=st.lists(candidates, max_size=2),
    prompt_feedback=opt(
        st.builds(
            PromptFeedback, block_reason=opt(texts), safety_ratings=safety_ratings, extra=extras
        )
    ),
    usage_metadata=opt(
        st.builds(
            UsageMetadata,
            prompt_token_count=opt(int32s),
            cached_content_token_count=opt(int32s),
            candidates_token_count=opt(int32s),
            tool_use_prompt_token_count=opt(int32s),
            thoughts_token_count=opt(int32s),
            total_token_count=opt(int32s),
            prompt_tokens_details=token_details,
            cache_tokens_details=token_details,
            candidates_tokens_details=token_details,
            tool_use_prompt_tokens_details=token_details,
            extra=extras,
        )
    ),
    model_version=opt(texts),
    response_id=opt(texts),
    extra=extras,
)

# Every wire key of the model, so random JSON reaches deep into the parser.
VOCABULARY = sorted(
    {
        camel(name)
        for cls in (GenerateContentResponse, Candidate, Content, Part, Blob, UsageMetadata)
        for name in cls.__annotations__
    }
    | {"promptFeedback", "safetyRatings", "citationMetadata", "citationSources", "extra"}
)
shaped_json = st.recursive(
    json_scalars | st.sampled_from(["5", "AAAA", "ab-_", "-1", "1e3"]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(VOCABULARY) | st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=25,
)


def _roundtrips(value: WireModel) -> None:
    cls = type(value)
    assert cls.from_json(value.to_json()) == value
    assert cls.from_dict(value.to_dict()) == value


# --- round trips ------------------------------------------------------------------------


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_roundtrips_through_json(name: str) -> None:
    """A parsed fixture serialized and parsed again is equal to itself."""
    _roundtrips(GenerateContentResponse.from_dict(load_fixture(name)))


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_serializes_back_to_its_dict(name: str) -> None:
    """``to_dict`` of a parsed fixture is the fixture (dict key order aside)."""
    data = load_fixture(name)
    assert GenerateContentResponse.from_dict(data).to_dict() == data


@pytest.mark.parametrize("build", REQUESTS, ids=[b.__name__ for b in REQUESTS])
def test_request_roundtrips(build: Callable[[], GenerateContentRequest]) -> None:
    """A sample request survives ``to_json``/``from_json`` and ``to_dict``/``from_dict``."""
    _roundtrips(build())


@pytest.mark.parametrize("strategy", [parts, contents, generation_configs], ids=repr)
@settings(max_examples=examples(60), suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_model_roundtrips(strategy: st.SearchStrategy[WireModel], data: st.DataObject) -> None:
    """Random parts, turns and configs (extras included) survive a round trip."""
    _roundtrips(data.draw(strategy))


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(requests)
def test_request_roundtrips_property(request: GenerateContentRequest) -> None:
    """Random requests survive a round trip."""
    _roundtrips(request)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(responses)
def test_response_roundtrips_property(response: GenerateContentResponse) -> None:
    """Random responses survive a round trip."""
    _roundtrips(response)


def test_lone_surrogate_text_roundtrips() -> None:
    """Text with a lone surrogate (valid JSON, e.g. a cut emoji) still serializes."""
    response = GenerateContentResponse.from_json(
        '{"candidates":[{"content":{"parts":[{"text":"cut \\ud83d"}]}}]}'
    )
    assert response.text == "cut \ud83d"
    _roundtrips(response)


def test_lone_surrogate_is_escaped_in_request_bytes() -> None:
    """The bytes sent for a lone surrogate are valid UTF-8 with a JSON escape."""
    request = GenerateContentRequest(contents=[Content(parts=[Part(text="cut \ud83d")])])
    body = b"".join(_wire.encode_request(request))
    assert b"\\ud83d" in body
    assert GenerateContentRequest.from_json(body.decode("utf-8")) == request


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "toolConfig: expected a finite number, got nan"),
        ({"deep": [1, math.inf]}, "toolConfig: expected a finite number, got inf"),
        (b"raw", "toolConfig: expected a JSON value, got bytes"),
        ({1: "one"}, "toolConfig: expected str keys, got int"),
    ],
)
@pytest.mark.parametrize("nested", [False, True], ids=["request", "part"])
def test_fields_this_version_does_not_model_are_checked_too(
    value: Any, message: str, nested: bool
) -> None:
    """A value in ``extra`` that JSON cannot carry is refused by name, not sent as null."""
    where = "part." if nested else ""

    def build() -> object:
        part = Part(text="hi", extra={"toolConfig": value} if nested else {})
        return GenerateContentRequest(
            contents=[Content(parts=[part])], extra={} if nested else {"toolConfig": value}
        )

    with pytest.raises(InvalidInputError) as info:
        build()
    assert str(info.value) == where + message


def test_fields_this_version_does_not_model_are_sent_as_given() -> None:
    """Plain JSON in ``extra`` reaches the wire unchanged, at the top and in a part."""
    tools = [{"googleSearch": {}}, {"n": 2**70, "f": 0.5, "s": "x", "b": None}]
    part = Part(text="hi", extra={"partMetadata": {"k": ["v", 1, True]}})
    request = GenerateContentRequest(contents=[Content(parts=[part])], extra={"tools": tools})
    sent = json.loads(b"".join(_wire.encode_request(request)))
    assert sent["tools"] == tools
    assert sent["contents"][0]["parts"][0]["partMetadata"] == {"k": ["v", 1, True]}


# --- large images are joined into the request body after the JSON encoder -----------------

SPLICE = _wire._SPLICE_MIN_BYTES


def _image_request(sizes: list[int], text: str = "make them one") -> GenerateContentRequest:
    parts = [
        Part(inline_data=Blob(mime_type="image/png", data=bytes([n % 251]) * n)) for n in sizes
    ]
    return GenerateContentRequest(contents=[Content(parts=[*parts, Part(text=text)])])


@pytest.mark.parametrize(
    "sizes",
    [[SPLICE - 1], [SPLICE], [SPLICE + 1, 5, 300_000], [SPLICE] * 12, []],
    ids=["below", "at", "mixed", "twelve", "none"],
)
def test_the_spliced_body_is_the_encoders_body(sizes: list[int]) -> None:
    """Large images joined in after the encoder: the same bytes the encoder writes whole."""
    request = _image_request(sizes)
    body = b"".join(_wire.encode_request(request))
    assert body == json.dumps(_wire.unstructure(request), separators=(",", ":")).encode()
    assert b"!rh-splice!" not in body
    assert GenerateContentRequest.from_json(body.decode()) == request


@pytest.mark.parametrize(
    "text",
    ["cut \ud83d", 'quotes " and \\ and !rh-splice!0 and !rh-splice!0"', "\u2603" * 3],
    ids=["lone-surrogate", "placeholder-lookalike", "non-ascii"],
)
def test_large_images_beside_any_text(text: str) -> None:
    """A prompt that needs escaping, the stdlib fallback, or mimics a placeholder: intact."""
    request = _image_request([SPLICE * 3, SPLICE + 7], text=text)
    body = b"".join(_wire.encode_request(request))
    assert GenerateContentRequest.from_json(body.decode("utf-8")) == request
    first = request.contents[0].parts[0].inline_data
    assert first is not None
    assert body.count(encode_base64(first.data).encode()) == 1


@settings(max_examples=examples(60), deadline=None)
@given(
    sizes=st.lists(st.sampled_from([0, 1, SPLICE - 1, SPLICE, SPLICE + 1, 40_000]), max_size=4),
    text=st.text(max_size=20),
)
def test_any_images_and_text_survive_the_splice(sizes: list[int], text: str) -> None:
    """Any mix of small and large images beside any text reads back as what was sent."""
    request = _image_request(sizes, text=text or "x")
    body = b"".join(_wire.encode_request(request))
    assert json.loads(body) == _wire.unstructure(request)


def test_no_placeholder_reaches_a_general_unstructure() -> None:
    """Only a request being sent holds LargeBase64; to_dict gives plain base64 text."""
    request = _image_request([SPLICE * 2])
    sent = _wire.unstructure(request)["contents"][0]["parts"][0]["inlineData"]["data"]
    assert isinstance(sent, str)
    assert base64.b64decode(sent) == request.contents[0].parts[0].inline_data.data


# --- forward compatibility --------------------------------------------------------------


def test_unknown_fields_survive_parse_and_serialize() -> None:
    """Unknown keys at the top, in a candidate, a part and a blob come back unchanged."""
    data = load_fixture("response_text_image.json")
    data["newTopLevel"] = {"nested": [1, 2, {"deep": True}]}
    data["candidates"][0]["groundingMetadata"] = {"webSearchQueries": ["otter"]}
    data["candidates"][0]["content"]["parts"][0]["partMetadata"] = {"k": "v"}
    data["candidates"][0]["content"]["parts"][1]["inlineData"]["displayName"] = "otter.png"
    data["candidates"][0]["content"]["parts"].append({"executableCode": {"code": "print(1)"}})
    response = GenerateContentResponse.from_dict(data)
    assert response.to_dict() == data
    assert json.loads(response.to_json()) == data
    assert response.parts[2].kind == "executableCode"


@pytest.mark.parametrize(
    ("where", "key", "value"),
    [
        (("candidates", 0), "finishReason", "SOMETHING_NEW"),
        (("candidates", 0, "content"), "role", "critic"),
        (("usageMetadata", "candidatesTokensDetails", 0), "modality", "HOLOGRAM"),
        (("promptFeedback",), "blockReason", "NEW_REASON"),
        (("candidates", 0, "safetyRatings", 0), "category", "HARM_CATEGORY_NEW"),
    ],
)
def test_unknown_enum_values_survive(where: tuple[str | int, ...], key: str, value: str) -> None:
    """An enum value this version does not know parses and serializes unchanged."""
    data = load_fixture("response_text_image.json")
    data["promptFeedback"] = {"blockReason": "OTHER"}
    target: Any = data
    for step in where:
        target = target[step]
    target[key] = value
    assert GenerateContentResponse.from_dict(data).to_dict() == data


def test_thought_signature_survives_replayed_turn() -> None:
    """The model turn sent back carries each part's signature byte for byte."""
    original = load_fixture("response_thoughts.json")["candidates"][0]["content"]
    replayed = multi_turn_replay().to_dict()["contents"][1]
    assert replayed == original


def test_replayed_turn_keeps_unknown_part_fields() -> None:
    """Unknown keys on a model part go back to the server with the replayed turn."""
    data = load_fixture("response_thoughts.json")
    data["candidates"][0]["content"]["parts"][4]["mediaResolution"] = {"level": "HIGH"}
    turn = GenerateContentResponse.from_dict(data).candidates[0].content
    assert turn is not None
    request = GenerateContentRequest(contents=[turn])
    assert request.to_dict()["contents"][0]["parts"][4]["mediaResolution"] == {"level": "HIGH"}


# --- base64 -----------------------------------------------------------------------------


def _with_image_data(value: object) -> dict[str, Any]:
    data = load_fixture("response_text_image.json")
    data["candidates"][0]["content"]["parts"][1]["inlineData"]["data"] = value
    return data


SAMPLE_BYTES = [bytes(range(256)) + b"\xfb\xff", b"\xfb\xff\xbf", b"\xfa", b""]


@pytest.mark.parametrize("raw", SAMPLE_BYTES, ids=lambda b: f"{len(b)}B")
@pytest.mark.parametrize(
    "encode",
    [
        base64.b64encode,
        lambda b: base64.b64encode(b).rstrip(b"="),
        base64.urlsafe_b64encode,
        lambda b: base64.urlsafe_b64encode(b).rstrip(b"="),
    ],
    ids=["standard", "standard-unpadded", "urlsafe", "urlsafe-unpadded"],
)
def test_base64_alphabets_decode_to_same_bytes(
    raw: bytes, encode: Callable[[bytes], bytes]
) -> None:
    """Standard and URL-safe base64, padded or not, decode to the same bytes."""
    response = GenerateContentResponse.from_dict(_with_image_data(encode(raw).decode()))
    blob = response.parts[1].inline_data
    assert blob is not None
    assert blob.data == raw


def test_base64_is_sent_standard_and_padded() -> None:
    """Bytes go out in the standard, padded alphabet."""
    assert encode_base64(b"\xfb\xff") == "+/8="


@pytest.mark.parametrize(
    "value",
    [
        "iVBO Rw0K",
        "iVBO\nRw0K",
        " iVBORw0K",
        "iVBORw0K\n",
        "iVBORw0Kx",
        "iVBO*w0K",
        "iVB=Rw0K",
        "=iVB",
        "iVBORw0K====",
        "+/-_",
        "iVBÖRw0K",
        12345,
        None,
        ["iVBO"],
    ],
)
def test_invalid_base64_names_json_path(value: object) -> None:
    """Bad base64 (spaces, stray characters, impossible length) raises with the JSON path."""
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_dict(_with_image_data(value))
    assert info.value.path == IMAGE_DATA_PATH
    assert IMAGE_DATA_PATH in str(info.value)


def test_invalid_thought_signature_names_json_path() -> None:
    """A bad thoughtSignature is reported at its own path."""
    data = load_fixture("response_thoughts.json")
    data["candidates"][0]["content"]["parts"][3]["thoughtSignature"] = "not base64!"
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_dict(data)
    assert info.value.path == "$.candidates[0].content.parts[3].thoughtSignature"


@given(st.binary(max_size=200))
def test_decode_base64_inverts_every_encoding(raw: bytes) -> None:
    """Any bytes survive each base64 variant."""
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        assert decode_base64(encoded.decode()) == raw
        assert decode_base64(encoded.rstrip(b"=").decode()) == raw


# --- strict scalars ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("$.candidates[0].content.parts[0].thought", "false"),
        ("$.candidates[0].content.parts[0].thought", 0),
        ("$.candidates[0].content.parts[0].text", {"a": 1}),
        ("$.candidates[0].content.parts[0].text", 5),
        ("$.candidates[0].index", "abc"),
        ("$.candidates[0].index", True),
        ("$.candidates[0].index", 1.5),
        ("$.candidates[0].index", "\u0663"),
        ("$.candidates[0].index", "5 "),
        ("$.candidates[0].avgLogprobs", "x"),
        ("$.candidates[0].finishReason", ["STOP"]),
        ("$.candidates[0].safetyRatings[0].blocked", "true"),
        ("$.candidates[0].safetyRatings", {"category": "x"}),
        ("$.candidates[0].safetyRatings", "abc"),
        ("$.candidates[0].content.parts", {}),
        ("$.candidates", "abc"),
        ("$.candidates", {}),
        ("$.usageMetadata.totalTokenCount", [1]),
        ("$.usageMetadata.promptTokensDetails[0].tokenCount", "1.5"),
    ],
)
def test_wrong_scalar_type_names_json_path(path: str, value: object) -> None:
    """A value of the wrong JSON type is rejected, naming where it was."""
    data = load_fixture("response_text_image.json")
    _set(data, path, value)
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_dict(data)
    assert info.value.path == path


@pytest.mark.parametrize(("value", "expected"), [("5", 5), ("-3", -3), (7.0, 7), ("0", 0)])
def test_int_as_string_is_accepted(value: object, expected: int) -> None:
    """Integers may arrive as strings (proto3 JSON sends int64 that way)."""
    data = load_fixture("response_text_image.json")
    _set(data, "$.candidates[0].index", value)
    _set(data, "$.usageMetadata.candidatesTokensDetails[1].tokenCount", value)
    response = GenerateContentResponse.from_dict(data)
    assert response.candidates[0].index == expected
    assert response.usage_metadata is not None
    assert response.usage_metadata.candidates_tokens_details[1].token_count == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.5", 1.5), ("-2e-3", -0.002), ("7", 7.0), ("Infinity", math.inf), ("-Infinity", -math.inf)],
)
def test_float_as_string_is_accepted(value: str, expected: float) -> None:
    """proto3 JSON sends NaN and the infinities as words and allows numbers as strings."""
    data = load_fixture("response_text_image.json")
    _set(data, "$.candidates[0].avgLogprobs", value)
    assert GenerateContentResponse.from_dict(data).candidates[0].avg_logprobs == expected


def test_nan_as_a_word_is_accepted() -> None:
    data = load_fixture("response_text_image.json")
    _set(data, "$.candidates[0].avgLogprobs", "NaN")
    value = GenerateContentResponse.from_dict(data).candidates[0].avg_logprobs
    assert value is not None
    assert math.isnan(value)


@pytest.mark.parametrize("value", ["nan", "inf", "1.5 ", "0x10", "1,5", "", "--1"])
def test_other_float_strings_are_rejected(value: str) -> None:
    data = load_fixture("response_text_image.json")
    _set(data, "$.candidates[0].avgLogprobs", value)
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_dict(data)
    assert info.value.path == "$.candidates[0].avgLogprobs"


def _set(data: Any, path: str, value: object) -> None:
    steps = [
        int(s) if s.isdigit() else s
        for s in path.removeprefix("$.").replace("[", ".").replace("]", "").split(".")
    ]
    for step in steps[:-1]:
        data = data[step]
    data[steps[-1]] = value


# --- the parser fails only with ResponseError -------------------------------------------


def _parse_or_response_error(cls: type[WireModel], value: object) -> None:
    path = "$"
    try:
        cls.from_dict(value)  # type: ignore[arg-type]
    except ResponseError as exc:
        path = exc.path or "$"
    assert path.startswith("$")


@pytest.mark.parametrize("cls", [GenerateContentResponse, GenerateContentRequest])
@settings(max_examples=examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_parser_raises_only_response_error(cls: type[WireModel], data: st.DataObject) -> None:
    """Arbitrary JSON, random or shaped like the model, parses or raises ResponseError."""
    _parse_or_response_error(cls, data.draw(json_values | shaped_json))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(FIXTURES))
def test_mutated_fixture_raises_only_response_error(data: st.DataObject, name: str) -> None:
    """A fixture with one value replaced or removed parses or raises ResponseError."""
    fixture = copy.deepcopy(load_fixture(name))
    path = data.draw(st.sampled_from(_paths(fixture)))
    parent: Any = fixture
    for step in path[:-1]:
        parent = parent[step]
    if data.draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = data.draw(shaped_json)
    _parse_or_response_error(GenerateContentResponse, fixture)


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"{", b'{"candidates": [', b"\xff\xfe\x00", "[" * 100_000, b"nul\x00"],
    ids=["empty", "text", "brace", "cut", "bad-utf8", "deep", "nul"],
)
def test_from_json_rejects_non_json(body: bytes | str) -> None:
    """A body that is not JSON raises ResponseError, never a bare ValueError."""
    with pytest.raises(ResponseError):
        GenerateContentResponse.from_json(body)


def test_from_json_rejects_every_truncation() -> None:
    """Every proper prefix of a response body is rejected with ResponseError."""
    body = json.dumps(load_fixture("response_thoughts.json"), separators=(",", ":")).encode()
    for end in range(0, len(body), 7):
        with pytest.raises(ResponseError):
            GenerateContentResponse.from_json(body[:end])


def test_from_json_rejects_non_object() -> None:
    """A JSON array at the top is rejected at ``$``."""
    with pytest.raises(ResponseError) as info:
        GenerateContentResponse.from_json(b"[]")
    assert info.value.path == "$"


# --- requests: sent as given, or refused by name -------------------------------------

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and the infinities included
    st.text(max_size=4),
    st.binary(max_size=4),
    st.lists(st.one_of(st.text(max_size=3), st.integers(), st.none()), max_size=2),
    st.dictionaries(st.text(max_size=3), st.one_of(st.integers(), st.binary(max_size=2))),
)


def _fields(cls: type[Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls) if f.name != "extra"]


def _in_config(config: Any) -> GenerateContentRequest:
    return GenerateContentRequest(contents=[Content.user("x")], generation_config=config)


# Where a value put in each model's field lands: the request around it, the wire path.
PLACES: dict[type[Any], tuple[Callable[[Any], GenerateContentRequest], tuple[str | int, ...]]] = {
    GenerationConfig: (_in_config, ("generationConfig",)),
    ImageConfig: (
        lambda m: _in_config(GenerationConfig(image_config=m)),
        ("generationConfig", "imageConfig"),
    ),
    ThinkingConfig: (
        lambda m: _in_config(GenerationConfig(thinking_config=m)),
        ("generationConfig", "thinkingConfig"),
    ),
    Part: (
        lambda m: GenerateContentRequest(contents=[Content(role="user", parts=[m])]),
        ("contents", 0, "parts", 0),
    ),
}
REQUIRED: dict[type[Any], dict[str, Any]] = {Part: {"text": "x"}}
MODEL_FIELDS = [(cls, name) for cls in PLACES for name in _fields(cls)]


@settings(max_examples=examples(600), suppress_health_check=[HealthCheck.too_slow])
@given(where=st.sampled_from(MODEL_FIELDS), value=ANY_VALUE)
# Found by this test, each once a bare exception or a silent change:
@example(where=(GenerationConfig, "image_config"), value=False)
@example(where=(GenerationConfig, "response_schema"), value=False)
@example(where=(GenerationConfig, "stop_sequences"), value={})
@example(where=(GenerationConfig, "response_json_schema"), value=b"")
@example(where=(GenerationConfig, "response_json_schema"), value={"x": math.nan})
def test_any_field_value_is_sent_as_given_or_refused_by_name(
    where: tuple[type[Any], str], value: Any
) -> None:
    """Whatever a caller puts in a request's field: InvalidInputError, or sent intact."""
    cls, field = where
    build, path = PLACES[cls]
    fields = {**REQUIRED.get(cls, {}), field: value}
    try:
        body = b"".join(_wire.encode_request(build(cls(**fields))))
    except InvalidInputError as exc:
        message = str(exc)
    else:
        message = None
    if message is not None:  # a bare str for a list field is refused before it has a name
        assert camel(field) in message or message.startswith("expected a list, not")
        return
    sent: Any = json.loads(body)
    for step in path:
        sent = sent[step]
    if value is None:
        assert camel(field) not in sent
    elif isinstance(value, bytes):  # a bytes field: base64 on the wire
        assert decode_base64(sent[camel(field)]) == value
    else:
        expected = list(value) if isinstance(value, list) else value
        assert sent[camel(field)] == expected  # nothing silently changed (NaN -> null, ...)
