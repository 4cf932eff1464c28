"""A FastAPI app serving generated PNGs: one client for the app, errors as HTTP answers.

Run it with ``uvicorn fastapi_app:app`` (``pip install fastapi uvicorn``), then open
http://127.0.0.1:8000/image?prompt=a+cute+otter
"""

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from routerhub_images import (
    APIConnectionError,
    APITimeoutError,
    AsyncImageClient,
    InvalidInputError,
    NoImageError,
    ResourceExhaustedError,
    RouterHubError,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open one client (one connection pool) for every request; close it at shutdown."""
    async with AsyncImageClient() as client:
        app.state.images = client
        yield


app = FastAPI(lifespan=lifespan)


@app.get("/image", response_class=Response)
async def image(request: Request, prompt: str, aspect_ratio: str = "1:1") -> Response:
    """Generate one image for ``prompt`` and answer it as it came (a PNG)."""
    client: AsyncImageClient = request.app.state.images
    response = await client.generate_image(prompt, aspect_ratio=aspect_ratio)
    picture = response.require_images()[0]
    return Response(picture.data, media_type=picture.mime_type)


def _status(exc: RouterHubError) -> int:
    if isinstance(exc, InvalidInputError):
        return 422  # the caller's input, refused before any call
    if isinstance(exc, NoImageError):
        return 422  # the prompt or the image was blocked: another try gives the same
    if isinstance(exc, ResourceExhaustedError):
        return 429  # still rate limited after the client's own retries
    if isinstance(exc, APITimeoutError):
        return 504
    if isinstance(exc, APIConnectionError):
        return 503
    return 502  # any other upstream error (a bad key, an outage) is ours, not the caller's


@app.exception_handler(RouterHubError)
async def routerhub_error(request: Request, exc: RouterHubError) -> JSONResponse:
    """Answer a library error with a status the caller can act on, and a short reason."""
    status = _status(exc)
    # A 422 says what to change; upstream details are for this app's operators, not callers.
    body = {"error": type(exc).__name__, "detail": str(exc) if status == 422 else None}
    headers: dict[str, str] = {}
    delay = getattr(exc, "retry_delay", None)
    if status == 429 and delay is not None:
        headers["Retry-After"] = str(math.ceil(delay))
    return JSONResponse(body, status_code=status, headers=headers)
