"""A local RouterHub-compatible ``generateContent`` server for tests and demos.

The emulator is an independent implementation of the server side of the wire format, written
against raw JSON, so that tests of the client catch wire mistakes. It validates requests as
strictly as Google's parser, synthesizes real, deterministic PNGs, and can misbehave on demand:
latency, a rate limit and a script of faults. It needs only the standard library; running it
on a socket (``EmulatorServer``, ``serve``) needs uvicorn (``routerhub-images[emulator]``).

In-process, no sockets::

    async with in_process_client() as client:
        response = await client.generate_image("a cute otter")

    with in_process_sync_client() as client:  # blocking, for notebooks and scripts
        response = client.generate_image("a cute otter")

Over loopback HTTP::

    with EmulatorServer() as server:
        server.app.script(Fault.status(503), Fault.status(429, retry_delay=1.5))
        ...  # a client pointed at server.base_url with server.api_key
        assert server.app.log.count == 3
"""

from __future__ import annotations

from ._app import ConnectionDropped, EmulatorApp, create_app
from ._config import DEFAULT_API_KEY, MODELS, EmulatorConfig, ModelSpec, image_dimensions
from ._errors import PER_DAY_QUOTA_ID, PER_MINUTE_QUOTA_ID
from ._faults import Fault, FaultScript
from ._in_process import IN_PROCESS_BASE_URL, in_process_client, in_process_sync_client
from ._log import LoggedRequest, RequestLog
from ._server import EmulatorServer, serve

__all__ = [
    "DEFAULT_API_KEY",
    "IN_PROCESS_BASE_URL",
    "MODELS",
    "PER_DAY_QUOTA_ID",
    "PER_MINUTE_QUOTA_ID",
    "ConnectionDropped",
    "EmulatorApp",
    "EmulatorConfig",
    "EmulatorServer",
    "Fault",
    "FaultScript",
    "LoggedRequest",
    "ModelSpec",
    "RequestLog",
    "create_app",
    "image_dimensions",
    "in_process_client",
    "in_process_sync_client",
    "serve",
]
