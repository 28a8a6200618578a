"""``lienxa serve`` listens on a socket whose every accepted connection has ``TCP_NODELAY``,
with one worker or several (uvicorn's own multi-worker socket loses it: Kludex/uvicorn#3149).

The option of the server's side of a connection cannot be read from the client, so the tests
accept connections on the socket :func:`api.serving.serve` hands to uvicorn, the way uvicorn's
workers do (``loop.create_server(sock=...)``), and read the option there."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest


def _nodelay(sock: socket.socket) -> bool:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def _accepted_by_asyncio(listener: socket.socket) -> bool:
    """Whether a connection accepted by an asyncio server on ``listener`` (as each uvicorn
    worker serves) has ``TCP_NODELAY``."""
    seen: list[bool] = []

    class Probe(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            seen.append(_nodelay(transport.get_extra_info("socket")))
            transport.close()

    async def main() -> None:
        server = await asyncio.get_running_loop().create_server(Probe, sock=listener)
        host, port = listener.getsockname()[:2]
        _, writer = await asyncio.open_connection(host, port)
        for _ in range(200):
            if seen:
                break
            await asyncio.sleep(0.01)
        writer.close()
        server.close()

    asyncio.run(main())
    assert seen, "no connection accepted"
    return seen[0]


def test_the_listening_socket_gives_every_accepted_connection_tcp_nodelay():
    from api.serving import listen_socket

    listener = listen_socket("127.0.0.1", 0)
    with listener:
        # the kernel's accept(2) copies the option from the listening socket (Linux)
        client = socket.create_connection(listener.getsockname()[:2])
        with client:
            accepted, _ = listener.accept()
            with accepted:
                assert _nodelay(accepted)
                assert accepted.proto == socket.IPPROTO_TCP
    listener = listen_socket("127.0.0.1", 0)
    assert _accepted_by_asyncio(listener)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_hands_uvicorn_a_nodelay_socket_however_many_workers(monkeypatch, workers):
    import uvicorn
    import uvicorn.supervisors

    from api import serving

    handed: list[socket.socket] = []

    class FakeSupervisor:
        def __init__(self, config: Any, sockets: list[socket.socket]) -> None:
            assert config.workers == workers
            assert config.timeout_keep_alive == serving.KEEP_ALIVE_SECONDS
            handed.extend(sockets)

        def run(self) -> None:
            assert _accepted_by_asyncio(handed[0])

    def fake_server_run(self: Any, sockets: list[socket.socket] | None = None) -> None:
        assert sockets is not None
        handed.extend(sockets)
        assert _accepted_by_asyncio(sockets[0])

    monkeypatch.setattr(uvicorn.supervisors, "Multiprocess", FakeSupervisor)
    monkeypatch.setattr(uvicorn.Server, "run", fake_server_run)
    monkeypatch.delenv("LIENXA_DB_WORKERS", raising=False)
    serving.serve("api.main:app_factory", factory=True, workers=workers, host="127.0.0.1", port=0)
    assert len(handed) == 1
    import os

    assert os.environ["LIENXA_DB_WORKERS"] == str(workers)
    monkeypatch.delenv("LIENXA_DB_WORKERS")
