"""How ``lienxa serve`` listens: one TCP socket made here, ``TCP_NODELAY`` on every connection.

uvicorn with ``--workers N`` binds its listening socket as ``socket.socket(family)``, whose
``proto`` is 0; asyncio sets ``TCP_NODELAY`` on an accepted connection only when its socket's
``proto`` is ``IPPROTO_TCP`` (``asyncio.base_events._set_nodelay``), and an accepted socket
takes the listening socket's ``proto``. So every connection of a multi-worker uvicorn runs
with Nagle's algorithm on, and a keep-alive response written in two parts (headers, body)
waits for the client's delayed ACK: ~40 ms a response (Kludex/uvicorn#3149). The socket made
here is ``IPPROTO_TCP`` (so asyncio sets the option on each connection) and carries
``TCP_NODELAY`` itself (which Linux copies to the sockets it accepts), in one worker or many.
"""

from __future__ import annotations

import os
import socket
from typing import Any

#: pending connections the kernel queues while every worker is busy or restarting
BACKLOG = 2048
#: how long a new worker may take to start serving before a rolling restart gives up
WORKER_START_SECONDS = 180
#: seconds an idle keep-alive connection stays open
KEEP_ALIVE_SECONDS = 75


def listen_socket(host: str, port: int, *, backlog: int = BACKLOG) -> socket.socket:
    """A listening TCP socket on ``host:port`` whose accepted connections have ``TCP_NODELAY``,
    inheritable by worker processes."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
    except BaseException:
        sock.close()
        raise
    return sock


def serve(app: Any, *, workers: int, host: str, port: int, **options: Any) -> None:
    """Run ``app`` (an application, or an import string with ``factory=True``) with uvicorn
    on :func:`listen_socket`: in this process for one worker, else under uvicorn's process
    supervisor (``kill -HUP`` replaces the workers one at a time, each new one serving before
    the old one leaves; the socket stays open throughout, so no connection is refused)."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    os.environ["LIENXA_DB_WORKERS"] = str(workers)  # each worker's pool check counts them all
    # a replacement worker loads the boundaries before it serves (seconds, more when the
    # geodata cache is cold or the machine busy): uvicorn's 5 s would abort the restart
    options.setdefault("timeout_worker_healthcheck", WORKER_START_SECONDS)
    # uvicorn closes an idle keep-alive connection after 5 s: a client polling every few
    # seconds then races the close and sees a reset; keep it longer than a proxy's (60 s)
    options.setdefault("timeout_keep_alive", KEEP_ALIVE_SECONDS)
    config = uvicorn.Config(app, host=host, port=port, workers=workers, **options)
    sock = listen_socket(host, port, backlog=config.backlog)
    try:
        if workers == 1:
            uvicorn.Server(config).run(sockets=[sock])
        else:
            Multiprocess(config, sockets=[sock]).run()
    finally:
        sock.close()
