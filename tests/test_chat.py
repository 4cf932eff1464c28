"""Chat sessions, unit level (respx): history rules, replay fidelity and persistence."""

from __future__ import annotations

import copy
import json
import pathlib
from typing import Any

import httpx
import pytest
import respx

from routerhub_images import (
    AsyncImageClient,
    ChatBusyError,
    ChatFileError,
    ImageOptionsIgnoredWarning,
    InvalidArgumentError,
    InvalidInputError,
    instant_retries,
)
from routerhub_images._chat import AsyncChat

DATA = pathlib.Path(__file__).parent / "data"
URL = "https://api.routerhub.ai/v1beta/models/google/gemini-3-pro-image-preview:generateContent"
MODEL = "gemini-3-pro-image-preview"


def _answer() -> dict[str, Any]:
    body: dict[str, Any] = json.loads((DATA / "response_thoughts.json").read_text())
    # A field this version does not know, on a part and on the turn.
    body["candidates"][0]["content"]["parts"][0]["futureField"] = {"x": [1, 2]}
    body["candidates"][0]["content"]["futureTurnField"] = "kept"
    return body


@pytest.fixture
async def client() -> Any:
    async with AsyncImageClient("rh_test") as client:
        with instant_retries():
            yield client


async def test_second_request_replays_the_model_turn_as_received(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """The second request's model turn equals the first answer's turn as JSON values."""
    first = _answer()
    route = mock.post(URL).mock(return_value=httpx.Response(200, json=first))
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    await chat.send("make it night")
    sent = json.loads(route.calls[1].request.content)
    assert sent["contents"][1] == first["candidates"][0]["content"]
    assert sent["contents"][0] == {"role": "user", "parts": [{"text": "a lighthouse"}]}
    assert sent["contents"][2] == {"role": "user", "parts": [{"text": "make it night"}]}


async def test_failed_turn_leaves_history_unchanged(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """A turn that raises keeps the history exactly as it was."""
    error = {"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}
    mock.post(URL).mock(
        side_effect=[httpx.Response(200, json=_answer()), httpx.Response(400, json=error)]
    )
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    before = chat.history
    with pytest.raises(InvalidArgumentError):
        await chat.send("make it night")
    assert chat.history == before


async def test_blocked_turn_is_returned_and_not_kept(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """A blocked answer is returned (.blocked) and leaves the history as it was."""
    blocked = {"promptFeedback": {"blockReason": "SAFETY"}}
    mock.post(URL).mock(return_value=httpx.Response(200, json=blocked))
    chat = client.chat(MODEL)
    response = await chat.send("forbidden")
    assert response.blocked
    assert chat.history == ()


async def test_withheld_image_is_not_kept(client: AsyncImageClient, mock: respx.MockRouter) -> None:
    """An answer whose image was withheld by safety leaves the history as it was."""
    withheld = {"candidates": [{"finishReason": "IMAGE_SAFETY", "index": 0}]}
    mock.post(URL).mock(return_value=httpx.Response(200, json=withheld))
    chat = client.chat(MODEL)
    assert (await chat.send("x")).image_withheld
    assert chat.history == ()


async def test_json_round_trip_keeps_turns_and_signatures(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """from_json(to_json()) gives back the same history, signatures and unknown fields."""
    mock.post(URL).mock(return_value=httpx.Response(200, json=_answer()))
    chat = client.chat(MODEL, aspect_ratio="16:9")
    with pytest.warns(ImageOptionsIgnoredWarning):  # the canned image is not 16:9
        await chat.send("a lighthouse")
    resumed = AsyncChat.from_json(chat.to_json(), client=client)
    assert resumed.history == chat.history
    assert resumed.history[1].to_dict() == _answer()["candidates"][0]["content"]
    assert resumed.usage == chat.usage
    assert resumed.model == chat.model


async def test_saved_session_stores_each_image_once(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """An image sent back as input in a later turn is stored once in the saved file."""
    mock.post(URL).mock(return_value=httpx.Response(200, json=_answer()))
    chat = client.chat(MODEL)
    await chat.send("a lighthouse")
    last = chat.last_image
    assert last is not None
    await chat.send("same again", images=[last])
    await chat.send("and again", images=[last])
    saved = json.loads(chat.to_json())
    distinct = {p.inline_data.data for c in chat.history for p in c.parts if p.inline_data}
    assert len(saved["images"]) == len(distinct)


@pytest.mark.parametrize("name", ["chat_session_v1_plain.json", "chat_session_v1_settings.json"])
async def test_session_saved_by_format_version_1_loads_and_saves_the_same_bytes(
    client: AsyncImageClient, name: str
) -> None:
    """A file saved by format version 1 loads, and saving it again writes the same bytes."""
    chat = AsyncChat.load(DATA / name, client=client)
    assert chat.last_image is not None
    assert chat.to_json().encode() == (DATA / name).read_bytes()


@pytest.mark.parametrize(
    "text",
    ["not json", '{"format": "other"}', '{"format": "routerhub-images/chat", "version": 99}'],
)
async def test_from_json_rejects_what_is_not_a_session(client: AsyncImageClient, text: str) -> None:
    """Not JSON, another format and a newer version are ChatFileError."""
    with pytest.raises(ChatFileError):
        AsyncChat.from_json(text, client=client)


async def test_undo_and_rewind_drop_turns(client: AsyncImageClient, mock: respx.MockRouter) -> None:
    """undo() drops one turn, rewind(n) n turns; too many is InvalidInputError."""
    mock.post(URL).mock(return_value=httpx.Response(200, json=_answer()))
    chat = client.chat(MODEL)
    for prompt in ("a", "b", "c"):
        await chat.send(prompt)
    chat.undo()
    assert len(chat.images) == 2
    chat.rewind(2)
    assert chat.history == ()
    with pytest.raises(InvalidInputError):
        chat.undo()


async def test_usage_is_summed_over_the_session(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """usage adds up the token counts of every answer."""
    body = _answer()
    mock.post(URL).mock(return_value=httpx.Response(200, json=body))
    chat = client.chat(MODEL)
    await chat.send("a")
    await chat.send("b")
    assert chat.usage.total_token_count == 2 * body["usageMetadata"]["totalTokenCount"]


async def test_history_must_end_with_a_model_turn(client: AsyncImageClient) -> None:
    """A history ending with a user turn is refused before any call."""
    from routerhub_images import Content

    with pytest.raises(InvalidInputError, match="end with a model turn"):
        client.chat(MODEL, history=[Content.user("hi")])


async def test_undo_while_sending_is_refused(client: AsyncImageClient) -> None:
    """undo() during a running send raises ChatBusyError."""
    chat = client.chat(MODEL)
    with chat._claimed("send"), pytest.raises(ChatBusyError):
        chat.undo()


def test_fork_is_independent() -> None:
    """A fork shares the past but not the future."""
    from routerhub_images import Content

    client = AsyncImageClient("rh_test")
    history = [Content.user("a"), Content(role="model", parts=[_part()])]
    chat = client.chat(MODEL, history=history)
    other = chat.fork()
    other.undo()
    assert len(chat.history) == 2
    assert other.history == ()
    assert copy.copy(chat.history) == tuple(history)


def _part() -> Any:
    from routerhub_images import Part

    return Part.from_text("done")


async def test_a_generation_config_of_the_wrong_type_is_a_typed_error(
    client: AsyncImageClient, mock: respx.MockRouter
) -> None:
    """A send with a dict for generation_config and an aspect ratio fails as InvalidInputError."""
    route = mock.post(URL).mock(return_value=httpx.Response(200, json=_answer()))
    chat = client.chat(MODEL)
    with pytest.raises(InvalidInputError, match="expected GenerationConfig, got dict"):
        await chat.send("a lighthouse", generation_config={"seed": 1}, aspect_ratio="1:1")  # type: ignore[arg-type]
    assert not route.called
    assert chat.history == ()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({}, "a damaged chat session: 'turns' is missing"),
        ({"turns": [], "images": {}}, "a damaged chat session at $.model: required field missing"),
    ],
)
def test_a_damaged_session_names_the_field_at_fault(extra: dict[str, Any], message: str) -> None:
    """Loading a damaged session says which field is wrong, without private class names."""
    body = {"format": "routerhub-images/chat", "version": 1, **extra}
    with pytest.raises(ChatFileError) as info:
        AsyncChat.from_json(json.dumps(body), client=AsyncImageClient("rh_test"))
    assert str(info.value) == message
