"""Running the emulator on uvicorn: in a background thread, or blocking for the CLI.

uvicorn is an optional extra (``routerhub-images[emulator]``), imported only here and only
when a server starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING

from ._app import ConnectionDropped, EmulatorApp
from ._config import EmulatorConfig
from ._faults import Fault

if TYPE_CHECKING:
    import uvicorn

DEFAULT_HOST = "127.0.0.1"
"""Interface the emulator binds to: loopback only."""

DEFAULT_PORT = 8080
"""Port of ``serve`` (the CLI); ``EmulatorServer`` picks a free port."""

START_TIMEOUT = 10.0
"""Seconds ``EmulatorServer.start`` waits for the server to accept connections."""

STOP_TIMEOUT = 10.0
"""Seconds ``EmulatorServer.stop`` waits for the server thread to finish."""


class _HideDeliberateDrops(logging.Filter):
    """Keep uvicorn from logging the traceback of a ``Fault.disconnect()``."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)


_FILTER = _HideDeliberateDrops()


def _uvicorn_server(app: EmulatorApp, host: str, port: int, log_level: str) -> uvicorn.Server:
    try:
        import uvicorn  # noqa: PLC0415 - an optional extra, loaded only to serve
    except ImportError as exc:  # pragma: no cover - depends on the installation
        message = "the emulator server needs uvicorn: pip install 'routerhub-images[emulator]'"
        raise ImportError(message) from exc
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, lifespan="off")
    logging.getLogger("uvicorn.error").addFilter(_FILTER)
    return uvicorn.Server(config)


class EmulatorServer:
    """The emulator on uvicorn in a background thread; a context manager.

    ``with EmulatorServer() as server:`` starts it on a free port of 127.0.0.1 and stops it
    on exit. Point a client at ``server.base_url`` with ``server.api_key``; script faults and
    read the log through ``server.app``.

    Args:
        config: Settings for a new app (ignored when ``app`` is given).
        host: Interface to bind.
        port: Port to bind; 0 picks a free one.
        app: An existing app to serve.

    Raises:
        ImportError: If uvicorn is not installed.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        app: EmulatorApp | None = None,
    ) -> None:
        self.app = app if app is not None else EmulatorApp(config)
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """The server's root URL, such as ``http://127.0.0.1:54321``."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_key(self) -> str:
        """A key the server accepts."""
        return self.app.api_key

    def start(self) -> EmulatorServer:
        """Start serving and wait until the server accepts connections.

        Raises:
            RuntimeError: If it is already running or did not start within
                ``START_TIMEOUT`` seconds.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator server is already running")
        server = _uvicorn_server(self.app, self.host, self.port, "warning")
        thread = threading.Thread(target=server.run, name="routerhub-emulator", daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.005)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self) -> None:
        """Shut the server down (closing idle connections) and join its thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(STOP_TIMEOUT)
        self._server = self._thread = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<EmulatorServer {self.base_url} {state}>"


def serve(
    config: EmulatorConfig | None = None,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    *,
    log_level: str = "info",
    faults: Sequence[Fault] = (),
) -> None:
    """Run the emulator in the foreground until interrupted (the CLI's ``emulator`` command).

    ``faults`` are scripted before the first request: one is answered per request, in order.

    Raises:
        ImportError: If uvicorn is not installed.
    """
    app = EmulatorApp(config)
    app.script(*faults)
    _uvicorn_server(app, host, port, log_level).run()
