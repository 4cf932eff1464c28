"""The emulator over real loopback HTTP: uvicorn in a thread, the pytest fixtures."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from emulator_helpers import AUTH, decode_png, image_bytes, prompt, url

from routerhub_images.emulator import EmulatorApp, EmulatorConfig, EmulatorServer, Fault

pytestmark = pytest.mark.integration


def test_server_serves_a_png_over_http(routerhub_emulator: EmulatorServer) -> None:
    """A real HTTP request to the running server returns a valid PNG."""
    with httpx.Client(base_url=routerhub_emulator.base_url) as client:
        response = client.post(
            url(), json=prompt(), headers={"authorization": f"Bearer {routerhub_emulator.api_key}"}
        )
    assert response.status_code == 200
    assert decode_png(image_bytes(response.json())).size == (1024, 1024)
    assert response.headers["x-request-id"]


async def test_async_client_over_http(routerhub_emulator: EmulatorServer) -> None:
    """An async client on another event loop talks to the server thread."""
    async with httpx.AsyncClient(base_url=routerhub_emulator.base_url) as client:
        responses = [await client.post(url(), json=prompt(f"p{i}"), headers=AUTH) for i in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 200]
    assert routerhub_emulator.app.log.count == 3


def test_fixture_starts_each_test_clean(routerhub_emulator: EmulatorServer) -> None:
    """routerhub_emulator yields an empty log, no faults and default settings."""
    app = routerhub_emulator.app
    assert app.log.count == 0
    assert len(app.faults) == 0
    assert app.config == EmulatorConfig()
    app.config.latency = 5.0
    app.script(Fault.status(500))


def test_fixture_undoes_the_previous_test(routerhub_emulator: EmulatorServer) -> None:
    """Settings and faults left by an earlier test do not leak into the next one."""
    assert routerhub_emulator.app.config.latency == 0.0
    assert routerhub_emulator.app.faults.pending() == []


def test_a_request_from_before_a_reset_takes_no_new_fault(
    routerhub_emulator: EmulatorServer,
) -> None:
    """A request its client gave up on, served after a reset, neither takes a fault nor logs."""
    app = routerhub_emulator.app
    app.config.latency = 0.3
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(routerhub_emulator.base_url + url(), json=prompt(), headers=AUTH, timeout=0.05)
    app.reset()
    app.script(Fault.status(500))
    time.sleep(0.5)  # the abandoned request has been served by now
    assert len(app.faults) == 1
    assert app.log.count == 0


def test_base_url_names_the_bound_port(routerhub_emulator: EmulatorServer) -> None:
    """base_url is http://127.0.0.1:<the free port picked>."""
    assert routerhub_emulator.port > 0
    assert routerhub_emulator.base_url == f"http://127.0.0.1:{routerhub_emulator.port}"


def test_dropped_connection_is_an_incomplete_response(
    routerhub_emulator: EmulatorServer,
) -> None:
    """Fault.disconnect() cuts the body short; the client sees a protocol error."""
    routerhub_emulator.app.script(Fault.disconnect())
    with (
        httpx.Client(base_url=routerhub_emulator.base_url) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post(url(), json=prompt(), headers=AUTH)
    with httpx.Client(base_url=routerhub_emulator.base_url) as client:
        assert client.post(url(), json=prompt(), headers=AUTH).status_code == 200


def test_scripted_429_sends_retry_after(routerhub_emulator: EmulatorServer) -> None:
    """Retry-After and RetryInfo arrive over the wire."""
    routerhub_emulator.app.script(Fault.status(429, retry_delay=2.2))
    with httpx.Client(base_url=routerhub_emulator.base_url) as client:
        response = client.post(url(), json=prompt(), headers=AUTH)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3"
    details = response.json()["error"]["details"]
    assert {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "2.2s"} in details


def test_rate_limit_over_http(routerhub_emulator: EmulatorServer) -> None:
    """A one-per-minute limit refuses the second request with Retry-After 60."""
    routerhub_emulator.app.config.rate_limit_rpm = 1
    with httpx.Client(base_url=routerhub_emulator.base_url) as client:
        first = client.post(url(), json=prompt(), headers=AUTH)
        second = client.post(url(), json=prompt(), headers=AUTH)
    assert (first.status_code, second.status_code) == (200, 429)
    assert second.headers["retry-after"] == "60"


def test_latency_delays_real_responses(routerhub_emulator: EmulatorServer) -> None:
    """A small configured latency is really waited."""
    routerhub_emulator.app.config.latency = 0.05
    with httpx.Client(base_url=routerhub_emulator.base_url) as client:
        response = client.post(url(), json=prompt(), headers=AUTH)
    assert response.elapsed.total_seconds() >= 0.05


def test_server_context_manager_starts_and_stops() -> None:
    """EmulatorServer binds a free port on enter and releases it on exit."""
    with EmulatorServer(EmulatorConfig(api_keys=("secret",))) as server:
        assert server.api_key == "secret"
        assert "running" in repr(server)
        with socket.create_connection(("127.0.0.1", server.port), timeout=1):
            pass
        with pytest.raises(RuntimeError, match="already running"):
            server.start()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), timeout=1),
    ):
        pass
    assert "stopped" in repr(server)


def test_stop_closes_kept_alive_connections() -> None:
    """stop() returns promptly even with an idle keep-alive connection open."""
    with httpx.Client() as client:
        with EmulatorServer() as server:
            client.post(server.base_url + url(), json=prompt(), headers=AUTH)
        with pytest.raises(httpx.TransportError):
            client.post(server.base_url + url(), json=prompt(), headers=AUTH)


def test_app_fixture_is_fresh(routerhub_emulator_app: EmulatorApp) -> None:
    """routerhub_emulator_app is a new in-process app."""
    assert isinstance(routerhub_emulator_app, EmulatorApp)
    assert routerhub_emulator_app.log.count == 0


def test_serve_runs_uvicorn_in_the_foreground(monkeypatch: pytest.MonkeyPatch) -> None:
    """serve() runs a uvicorn server bound where asked, with the given settings."""
    import uvicorn

    from routerhub_images.emulator import serve

    seen: list[uvicorn.Server] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: seen.append(self))
    serve(EmulatorConfig(latency=2.0), port=9999)
    (server,) = seen
    assert (server.config.host, server.config.port) == ("127.0.0.1", 9999)
    app = server.config.app
    assert isinstance(app, EmulatorApp)
    assert app.config.latency == 2.0


async def test_in_process_client_talks_to_the_app_without_sockets() -> None:
    """in_process_client sends requests straight to the given app."""
    from routerhub_images.emulator import EmulatorApp, in_process_client

    app = EmulatorApp()
    async with in_process_client(app, max_retries=0) as client:
        response = await client.generate_image("a cute otter")
    assert response.images[0].width == 1024
    assert app.log.count == 1
