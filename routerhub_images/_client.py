"""AsyncImageClient: normalize input -> request -> send with retries -> parse.

The one code path of the library: the sync facade, the CLI and the batch engine all
call these methods.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, Literal, TypeVar, overload

import anyio
import attrs

from . import _constants as consts
from . import _wire
from ._chat import AsyncChat
from ._config import (
    Limits,
    TimeoutTypes,
    TransportChoice,
    check_base_url,
    check_byte_limit,
    check_headers,
    default_timeout,
    make_timeout,
)
from ._constants import NOT_GIVEN, NotGiven
from ._errors import (
    APITimeoutError,
    InvalidInputError,
    MissingAPIKeyError,
    ResponseError,
    api_error_from_http,
    api_error_in_success,
    redactor,
    request_id_from,
)
from ._http import AsyncHTTPClient, ConnectionPools, HTTPAnswer
from ._images import GeneratedImage, max_file_bytes
from ._models import MODELS, check_image_options, normalize_model_name
from ._policies import CallPolicies, run_with_policies
from ._retry import Cooldown, RetryPolicy, call_with_retries
from ._sizes import option_mismatches, warn_mismatches
from ._types import (
    Content,
    ContentsInput,
    GenerateContentRequest,
    GenerateContentResponse,
    GenerationConfig,
    ImageConfig,
    Part,
    SafetySetting,
    normalize_contents,
)
from ._variations import Variations, run_variations

__all__ = ["AsyncImageClient", "ImageInput"]

logger = logging.getLogger(consts.LOGGER_NAME)

T = TypeVar("T")

AuthStyle = Literal["bearer", "x-goog-api-key"]

ImageInput = bytes | bytearray | memoryview | str | os.PathLike[str] | Part | GeneratedImage
"""An image to edit: bytes, a file path, a `Part`, or an image from an earlier answer."""


class _Secret:
    """Holds the API key; its repr never shows it."""

    __slots__ = ("redact", "value")

    def __init__(self, value: str):
        self.value = value
        self.redact = redactor(value)

    def __repr__(self) -> str:
        return "<redacted>"


def _auth_headers(key: _Secret, auth: AuthStyle) -> dict[str, str]:
    if auth == "bearer":
        return {"authorization": f"Bearer {key.value}"}
    if auth == "x-goog-api-key":
        return {"x-goog-api-key": key.value}
    raise InvalidInputError(f"auth must be 'bearer' or 'x-goog-api-key', not {auth!r}")


def _resolve_key(api_key: str | None) -> _Secret:
    if api_key is not None and not isinstance(api_key, str):
        # Not the value: it may be the key itself, in the wrong type.
        raise InvalidInputError(f"api_key must be a str, not {type(api_key).__name__}")
    key = api_key if api_key is not None else os.environ.get(consts.API_KEY_ENV)
    # Keys read from files or env often end in a newline: strip before checking.
    key = key.strip() if key else ""
    if not key:
        raise MissingAPIKeyError(
            f"no API key: pass api_key=... or set the {consts.API_KEY_ENV} environment variable."
            " To run with no key, use the built-in emulator: start `routerhub-images emulator`"
            f" and set {consts.API_KEY_ENV}=rh_emulator {consts.BASE_URL_ENV}=http://127.0.0.1:8080,"
            " or use routerhub_images.emulator.in_process_client() (see docs/emulator.md)"
        )
    if any(ch.isspace() for ch in key) or not key.isprintable():
        raise MissingAPIKeyError("the API key contains whitespace or control characters")
    if not key.isascii():
        # Not the character: it may be the key's own. Usually a pasted smart quote.
        position = next(i for i, ch in enumerate(key) if not ch.isascii())
        raise MissingAPIKeyError(
            f"the API key has a non-ASCII character (at position {position + 1} of "
            f"{len(key)}; a smart quote pasted from a web page?): headers take ASCII only"
        )
    return _Secret(key)


class AsyncImageClient:
    """Async client for RouterHub's Gemini-format image generation endpoint.

    One client holds one connection pool shared by every concurrent call; create it
    once and reuse it. Use ``async with AsyncImageClient() as client:`` or call
    `aclose`.

    Args:
        api_key: RouterHub key (``rh_...``); defaults to ``$ROUTERHUB_API_KEY``.
        base_url: Defaults to ``$ROUTERHUB_BASE_URL``, then ``https://api.routerhub.ai``.
        auth: Send the key as ``Authorization: Bearer`` (default) or ``x-goog-api-key``.
        timeout: Seconds or an ``httpx.Timeout``; defaults to split timeouts sized for
            image generation (connect 10 s, read 300 s, write 60 s, pool 60 s). ``None``
            disables timeouts. An injected ``http_client`` keeps its own unless given.
        max_retries: Shortcut for ``retry=RetryPolicy(max_retries=...)``.
        retry: The `RetryPolicy`; retries are on by default.
        http_client: An ``httpx.AsyncClient`` to use as it is (not closed by us).
        transport: What carries the requests of the pools we create: ``"httpx"``
            (the default; httpx's own pool), ``"aiohttp"`` (aiohttp through
            ``httpx-aiohttp``; needs ``routerhub-images[aiohttp]``), or an
            ``httpx.AsyncBaseTransport`` (e.g. ``httpx.ASGITransport`` to talk to an
            in-process emulator). Never chosen by what is installed; every choice
            raises the same library exceptions.
        limits: Connection pool limits (`Limits`) of the pools we create: 256 open
            connections, 64 kept idle for 30 s by default. Raise ``max_connections``
            above the calls you run at once, or calls queue for a connection (and
            time out after the ``pool`` timeout). The aiohttp transport keeps to all
            but ``max_keepalive_connections`` above 0 (aiohttp cannot cap idle ones).
        default_headers: Extra headers sent with every request (attribution, tracing);
            not the key's header, ``content-type`` or ``content-length``, which the
            client sets.
        max_response_bytes: The most bytes of an answer's body the client reads,
            counted decoded (after gzip), error answers included; 256 MiB by default
            (`MAX_RESPONSE_BYTES`: a few 4K images as base64). Past it the call raises
            `ResponseTooLargeError` and the connection is dropped.
        default_model: Model used when a call names none.
        allow_insecure_http: Allow sending the key over ``http://`` to a host that is
            not loopback, and through the environment's proxy (without it, an
            ``http://`` call goes through no proxy).
        strict_options: Reject aspect ratios / image sizes a known model does not
            support (set False for values newer than the library's table).
        max_request_bytes: The largest request body sent, 100 MB by default (the
            service's published inline-data limit, `MAX_REQUEST_BYTES`); a larger one
            is an `InvalidInputError` before sending, and image files are read only
            up to the size whose base64 fits. ``None`` for no limit.
        policies: Opt-in extra calls (`CallPolicies`): ask again after an answer
            without an image, fall back to other models. None makes none (each is billed).

    Raises:
        MissingAPIKeyError: No key passed and ``$ROUTERHUB_API_KEY`` is unset, or a
            key that cannot go into a header (whitespace, a non-ASCII character).
        InsecureTransportError: ``http://`` to a remote host without opt-in.
        ConfigurationError: ``base_url`` is not a plain http(s) URL, or carries
            credentials (``user:pw@``).
        InvalidInputError: a bad ``auth``, ``timeout``, ``max_retries``, ``policies``,
            ``transport``, ``limits``, ``default_headers``, ``max_response_bytes`` or
            ``max_request_bytes``, or ``limits`` with an ``http_client`` or a transport
            object (whose pools have their own).
        MissingDependencyError: ``transport="aiohttp"`` but ``httpx-aiohttp`` is not
            installed.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        auth: AuthStyle = "bearer",
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        http_client: AsyncHTTPClient | None = None,
        transport: TransportChoice = "httpx",
        limits: Limits | None = None,
        default_headers: Mapping[str, str] | None = None,
        max_response_bytes: int = consts.MAX_RESPONSE_BYTES,
        default_model: str = consts.DEFAULT_MODEL,
        allow_insecure_http: bool = False,
        strict_options: bool = True,
        max_request_bytes: int | None = consts.MAX_REQUEST_BYTES,
        policies: CallPolicies | None = None,
    ):
        self._key = _resolve_key(api_key)
        if policies is not None and not isinstance(policies, CallPolicies):
            raise InvalidInputError(
                f"policies must be a CallPolicies, not {type(policies).__name__}"
            )
        self._policies = policies or CallPolicies()
        self.max_request_bytes = (
            None
            if max_request_bytes is None
            else check_byte_limit("max_request_bytes", max_request_bytes, none_allowed=True)
        )
        url = base_url or os.environ.get(consts.BASE_URL_ENV) or consts.DEFAULT_BASE_URL
        self.base_url = check_base_url(url, allow_insecure=allow_insecure_http)
        self.auth = auth
        self.default_model = normalize_model_name(default_model)
        self.strict_options = strict_options
        self.retry = _with_max_retries(retry or RetryPolicy(), max_retries)
        self._cooldown = Cooldown()
        if isinstance(timeout, NotGiven):
            # An injected client keeps its own timeout unless one is passed here.
            self._timeout = None if http_client is not None else default_timeout()
        else:
            self._timeout = make_timeout(timeout)
        self._pools = ConnectionPools(
            base_url=self.base_url,
            auth_headers=_auth_headers(self._key, auth),
            headers=check_headers(default_headers),
            timeout=self._timeout or default_timeout(),
            http_client=http_client,
            transport=transport,
            limits=limits,
            # The key in clear text goes through no proxy unless the caller opted in.
            trust_env=allow_insecure_http or not self.base_url.startswith("http://"),
            max_response_bytes=check_byte_limit("max_response_bytes", max_response_bytes),
        )

    def __repr__(self) -> str:
        return (
            f"<AsyncImageClient base_url={self.base_url!r} auth={self.auth!r} "
            f"api_key=<redacted> default_model={self.default_model!r}>"
        )

    @property
    def limits(self) -> Limits | None:
        """The limits of the pools the client creates (None: it creates none).

        An ``http_client`` or a transport object passed in has a pool of its own.
        """
        return self._pools.limits

    @property
    def closed(self) -> bool:
        """True after `aclose`; calls then raise `ClientClosedError`."""
        return self._pools.closed

    async def __aenter__(self) -> AsyncImageClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool (an injected ``http_client`` is left open)."""
        await self._pools.aclose()

    async def generate_content(
        self,
        model: str | None,
        contents: ContentsInput,
        *,
        generation_config: GenerationConfig | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        system_instruction: str | Content | None = None,
        cached_content: str | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
    ) -> GenerateContentResponse:
        """Call ``generateContent`` and return the parsed answer.

        Args:
            model: Model name, with or without ``google/`` (or ``models/``); None
                for the client's ``default_model``.
            contents: A prompt string, a `Part`, a `Content`, image bytes or paths,
                or a list of them; loose items become one user turn.
            generation_config: Generation options; None lets the server default
                (``responseModalities`` TEXT and IMAGE).
            safety_settings: Per-category blocking thresholds.
            system_instruction: A system prompt (str or `Content`).
            cached_content: Name of cached content to use as context.
            extra_body: Top-level request fields this version does not model, sent as
                given (plain JSON; camelCase keys), e.g. ``{"toolConfig": {...}}``.
                Not the fields above, which have their own arguments.
            timeout: Per-call override of the client's timeout; None disables it.
            max_retries: Per-call override of the retry policy's ``max_retries``.

        Returns:
            The `GenerateContentResponse`; ``.call`` says how many attempts it took.
            A blocked prompt is an answer too: check ``.blocked`` or use
            ``.require_images()``.

        Raises:
            InvalidInputError: bad model name, contents or options (before sending).
            APIStatusError: the server answered with an error (one subclass per
                Google status), after retries.
            APIConnectionError: no answer (``APITimeoutError`` for timeouts).
            ResponseError: a 2xx whose body is not a valid response.
            ClientClosedError: the client was closed.
        """
        name = self.default_model if model is None else normalize_model_name(model)
        request = GenerateContentRequest(
            contents=await self._normalized(contents),
            generation_config=self._checked_config(name, generation_config),
            safety_settings=_checked_safety(safety_settings),
            system_instruction=_system_content(system_instruction),
            cached_content=cached_content,
            extra=_extra_body(extra_body),
        )
        # Each fallback model's options are checked now, before anything is sent.
        requests = {name: request} | {
            other: attrs.evolve(
                request, generation_config=self._checked_config(other, generation_config)
            )
            for other in self._policies.fallback_models
            if other != name
        }

        async def send(model_name: str) -> GenerateContentResponse:
            sent = requests[model_name]
            response = await self._send(model_name, sent, timeout=timeout, max_retries=max_retries)
            return _with_option_check(response, sent.generation_config, model_name)

        return await run_with_policies(
            send, name, self._policies, wants_image=_wants_image(request.generation_config)
        )

    def chat(
        self,
        model: str | None = None,
        *,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        generation_config: GenerationConfig | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        history: Sequence[Content] | None = None,
    ) -> AsyncChat:
        """Start a conversation (`AsyncChat`): generate, then edit turn by turn.

        Args:
            model: The model; None for the client's ``default_model``.
            aspect_ratio: Aspect ratio of every turn (a turn may override it).
            image_size: Image size of every turn (a turn may override it).
            generation_config: Generation options of every turn.
            system_instruction: A system prompt sent with every turn.
            safety_settings: Blocking thresholds sent with every turn.
            history: Earlier turns to continue from (`Content`, ending with a model turn).

        Raises:
            InvalidInputError: a bad model name or history (before any call).
        """
        return AsyncChat(
            self,
            self.default_model if model is None else model,
            aspect_ratio=aspect_ratio,
            image_size=image_size,
            generation_config=generation_config,
            system_instruction=system_instruction,
            safety_settings=safety_settings,
            history=history,
        )

    @overload
    async def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse: ...

    @overload
    async def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int,
        require_all: bool = False,
    ) -> Variations: ...

    async def generate_image(
        self,
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        text_only: bool = False,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int | None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse | Variations:
        """Generate an image from a text prompt; images are in ``response.images``.

        Args:
            prompt: What to draw; must not be empty.
            model: Model name; None for the client's ``default_model``.
            aspect_ratio: e.g. ``"16:9"``; checked against the model's table.
            image_size: ``"1K"``, ``"2K"``, ``"4K"`` (``"1k"`` is accepted) or ``"512"``.
            seed: Seed for reproducible output.
            temperature: Sampling temperature.
            text_only: Ask for text only (``responseModalities: ["TEXT"]``).
            system_instruction: A system prompt.
            safety_settings: Per-category blocking thresholds.
            extra_body: Request fields this version does not model, as in
                `generate_content` (e.g. ``{"tools": [{"googleSearch": {}}]}``).
            timeout: Per-call timeout override.
            max_retries: Per-call retry override.
            n: Make this many variations (1 to `MAX_VARIATIONS`) as concurrent calls and
                return them as one `Variations`; a ``seed`` becomes ``seed, seed + 1,
                ...``. None (the default) makes one call and returns its response.
            require_all: With ``n``, raise when any variation fails (the others are
                cancelled) instead of only when all do.

        Returns:
            The `GenerateContentResponse`, or with ``n`` the `Variations`.

        Raises:
            InvalidInputError: empty prompt or unsupported options (before sending).
            APIStatusError, APIConnectionError, ResponseError: as `generate_content`.
            VariationsFailedError: with ``n``, no variation returned an image (or one
                failed with ``require_all``).
        """
        part = _prompt_part(prompt)

        async def one(seed: int | None) -> GenerateContentResponse:
            return await self.generate_content(
                model,
                part,
                generation_config=_image_config(
                    aspect_ratio, image_size, seed, temperature, text_only=text_only
                ),
                safety_settings=safety_settings,
                system_instruction=system_instruction,
                extra_body=extra_body,
                timeout=timeout,
                max_retries=max_retries,
            )

        if n is None:
            return await one(seed)
        return await run_variations(one, n, seed=seed, require_all=require_all)

    @overload
    async def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse: ...

    @overload
    async def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int,
        require_all: bool = False,
    ) -> Variations: ...

    async def edit_image(
        self,
        image: ImageInput | Sequence[ImageInput],
        prompt: str,
        *,
        model: str | None = None,
        aspect_ratio: str | None = None,
        image_size: str | None = None,
        seed: int | None = None,
        temperature: float | None = None,
        system_instruction: str | Content | None = None,
        safety_settings: Sequence[SafetySetting] | None = None,
        extra_body: Mapping[str, Any] | None = None,
        timeout: TimeoutTypes | NotGiven = NOT_GIVEN,
        max_retries: int | None = None,
        n: int | None = None,
        require_all: bool = False,
    ) -> GenerateContentResponse | Variations:
        """Edit (or combine) images following a text prompt.

        ``image`` is one image or several: bytes (or a bytearray or memoryview), a path,
        a `Part`, a `GeneratedImage`; files are read in a worker thread. ``prompt`` is the
        instruction; it must not be empty. The other arguments are as in `generate_image`
        (which alone has ``text_only``): with ``n``, this many edits come as `Variations`.

        Returns:
            The `GenerateContentResponse`, or with ``n`` the `Variations`.

        Raises:
            ImageInputError: missing file, not a regular file, a file over the size
                limit, empty data, or not an image (before sending).
            InvalidInputError: empty prompt, unsupported options, an image of another
                type, or a request over ``max_request_bytes``.
            APIStatusError, APIConnectionError, ResponseError: as `generate_content`.
            VariationsFailedError: as `generate_image`.
        """
        parts = [_prompt_part(prompt), *[await self._image_part(i) for i in _image_list(image)]]

        async def one(seed: int | None) -> GenerateContentResponse:
            return await self.generate_content(
                model,
                parts,
                generation_config=_image_config(aspect_ratio, image_size, seed, temperature),
                safety_settings=safety_settings,
                system_instruction=system_instruction,
                extra_body=extra_body,
                timeout=timeout,
                max_retries=max_retries,
            )

        if n is None:
            return await one(seed)
        return await run_variations(one, n, seed=seed, require_all=require_all)

    async def _normalized(self, contents: ContentsInput) -> tuple[Content, ...]:
        """`normalize_contents`, in a worker thread when it has files to read."""
        normalize = functools.partial(
            normalize_contents, contents, max_file_bytes=max_file_bytes(self.max_request_bytes)
        )
        if _names_files(contents):
            return await anyio.to_thread.run_sync(normalize)
        return normalize()

    async def _image_part(self, image: ImageInput) -> Part:
        """An image as a `Part`; a file is read in a worker thread, within the limit."""
        if isinstance(image, str | os.PathLike):
            read = functools.partial(
                Part.from_file, image, max_bytes=max_file_bytes(self.max_request_bytes)
            )
            return await anyio.to_thread.run_sync(read)
        if isinstance(image, GeneratedImage):
            return Part.from_bytes(image.data, mime_type=image.mime_type)
        if isinstance(image, Part):
            return image
        if isinstance(image, bytes | bytearray | memoryview):
            return Part.from_bytes(image)
        raise InvalidInputError(
            f"cannot use {type(image).__name__} as an image: pass bytes, bytearray, "
            "memoryview, a path (str or os.PathLike), Part or GeneratedImage"
        )

    def _checked_config(
        self, model: str, config: GenerationConfig | None
    ) -> GenerationConfig | None:
        if not isinstance(config, GenerationConfig) or config.image_config is None:
            return config  # the request refuses anything but a GenerationConfig
        image = config.image_config
        ratio, size = check_image_options(
            MODELS.get(model),
            aspect_ratio=image.aspect_ratio,
            image_size=image.image_size,
            strict=self.strict_options,
        )
        image = attrs.evolve(image, aspect_ratio=ratio, image_size=size)
        return attrs.evolve(config, image_config=image)

    async def _send(
        self,
        model: str,
        request: GenerateContentRequest,
        *,
        timeout: TimeoutTypes | NotGiven,
        max_retries: int | None,
    ) -> GenerateContentResponse:
        path = f"/{consts.API_VERSION}/models/{model}:generateContent"
        body = _wire.encode_request(request)
        _check_body_size(len(body), self.max_request_bytes)
        call_timeout = self._timeout if isinstance(timeout, NotGiven) else make_timeout(timeout)
        policy = _with_max_retries(self.retry, max_retries)

        async def attempt() -> tuple[GenerateContentResponse, HTTPAnswer]:
            answer = await self._pools.post(path, body, timeout=call_timeout)
            logger.debug("POST %s -> %s", path, answer.status_code)
            return _parse(answer, self._key), answer

        (response, answer), stats = await _within_deadline(
            call_with_retries(
                attempt,
                policy=policy,
                cooldown=self._cooldown,
                label=f"generateContent {model}",
            ),
            policy.deadline,
        )
        call = stats.call_info(
            request_id=request_id_from(answer.headers), http_status=answer.status_code
        )
        return attrs.evolve(response, call=call)


async def _within_deadline(call: Awaitable[T], deadline: float | None) -> T:
    """Await ``call``, cancelled once ``deadline`` seconds pass: attempts included.

    The retry loop never starts a wait past the deadline; this also bounds an attempt
    that is still running when the budget ends.
    """
    if deadline is None:
        return await call
    try:
        with anyio.fail_after(deadline):
            return await call
    except TimeoutError:
        raise APITimeoutError(
            f"the call's {deadline:g} s budget (RetryPolicy.deadline) ran out",
            phase="deadline",
        ) from None


def _wants_image(config: GenerationConfig | None) -> bool:
    """Whether a request asks for images (the server's default modalities include them)."""
    modalities = None if config is None else config.response_modalities
    return modalities is None or any(m.upper() == "IMAGE" for m in modalities)


def _with_option_check(
    response: GenerateContentResponse, config: GenerationConfig | None, model: str
) -> GenerateContentResponse:
    """Record (and warn about) requested image options the returned images ignore."""
    image = None if config is None else config.image_config
    if image is None:
        return response
    mismatches = option_mismatches(
        response.images, aspect_ratio=image.aspect_ratio, image_size=image.image_size
    )
    if not mismatches:
        return response
    warn_mismatches(mismatches, model)
    return attrs.evolve(response, option_mismatches=mismatches)


def _with_max_retries(policy: RetryPolicy, max_retries: int | None) -> RetryPolicy:
    if max_retries is None:
        return policy
    try:
        return attrs.evolve(policy, max_retries=max_retries)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"max_retries must be an int >= 0: {max_retries!r}") from exc


def _parse(answer: HTTPAnswer, key: _Secret) -> GenerateContentResponse:
    if answer.status_code >= 300:
        # Some proxies echo the key they rejected, even JSON-escaped: keep it out of
        # the error (and of the response kept on it), its logs and pickles.
        answer = answer.redacted(key.redact)
        raise api_error_from_http(
            answer.status_code,
            answer.headers,
            answer.content,
            response=answer.response,
            secret=key.value,
        )
    try:
        response = _wire.loads(
            answer.content, GenerateContentResponse, http_status=answer.status_code
        )
    except ResponseError as exc:
        _raise_error_envelope(answer, key)  # [{"error": ...}] is no response either
        if answer.redacted(key.redact) is not answer:
            exc.message = key.redact(exc.message)
            exc.args = (exc.message,)
            # The parser's own exception may quote the value that held the key.
            exc.__cause__ = None
            exc.__suppress_context__ = True
        raise
    if not response.candidates and "error" in response.extra:
        _raise_error_envelope(answer, key)
    return response


def _raise_error_envelope(answer: HTTPAnswer, key: _Secret) -> None:
    """Raise the API error a 2xx body holds instead of a response, if it holds one."""
    answer = answer.redacted(key.redact)
    error = api_error_in_success(
        answer.headers, answer.content, response=answer.response, secret=key.value
    )
    if error is not None:
        raise error from None


def _prompt_part(prompt: str) -> Part:
    if not isinstance(prompt, str):
        raise InvalidInputError(f"prompt must be a str, not {type(prompt).__name__}")
    if not prompt.strip():
        raise InvalidInputError("the prompt is empty")
    return Part.from_text(prompt)


def _image_list(image: ImageInput | Sequence[ImageInput]) -> Sequence[ImageInput]:
    if isinstance(image, Sequence) and not isinstance(image, str | bytes | bytearray | memoryview):
        if not image:
            raise InvalidInputError("no image to edit")
        return image
    return [image]


def _names_files(contents: ContentsInput) -> bool:
    """True when ``contents`` has a path among its loose items (a file to read)."""
    if isinstance(contents, os.PathLike):
        return True
    if isinstance(contents, Sequence) and not isinstance(contents, str | bytes):
        return any(isinstance(item, os.PathLike) for item in contents)
    return False


def _check_body_size(size: int, limit: int | None) -> None:
    if limit is not None and size > limit:
        raise InvalidInputError(
            f"the request body is {size} bytes, over the client's max_request_bytes "
            f"limit of {limit} bytes (the service's inline-data limit by default)"
        )


def _image_config(
    aspect_ratio: str | None,
    image_size: str | None,
    seed: int | None,
    temperature: float | None,
    *,
    text_only: bool = False,
) -> GenerationConfig | None:
    image = None
    if aspect_ratio is not None or image_size is not None:
        image = ImageConfig(aspect_ratio=aspect_ratio, image_size=image_size)
    modalities = ("TEXT",) if text_only else None
    if image is None and seed is None and temperature is None and modalities is None:
        return None
    return GenerationConfig(
        image_config=image, seed=seed, temperature=temperature, response_modalities=modalities
    )


def _checked_safety(settings: Sequence[SafetySetting] | None) -> tuple[SafetySetting, ...] | None:
    if settings is None:
        return None
    if not isinstance(settings, Sequence):
        raise InvalidInputError(
            f"safety_settings must be a list of SafetySetting, not {type(settings).__name__}"
        )
    return tuple(settings)  # the request checks each item


_MODELED_FIELDS = _wire.wire_names(GenerateContentRequest)
"""The request's own wire keys, which ``extra_body`` must not shadow."""


def _extra_body(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise InvalidInputError(f"extra_body must be a mapping, not {type(extra).__name__}")
    for key in extra:
        if not isinstance(key, str):
            raise InvalidInputError(f"extra_body keys must be str, not {type(key).__name__}")
        if key in _MODELED_FIELDS:
            raise InvalidInputError(f"extra_body: {key!r} has an argument of its own")
    return dict(extra)


def _system_content(instruction: str | Content | None) -> Content | None:
    if instruction is None or isinstance(instruction, Content):
        return instruction
    if isinstance(instruction, str):
        return Content(parts=[Part.from_text(instruction)])
    raise InvalidInputError(
        f"system_instruction must be str or Content, not {type(instruction).__name__}"
    )
