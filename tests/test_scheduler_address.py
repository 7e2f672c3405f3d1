"""``--scheduler`` at something that is no dask scheduler: one clear error, soon.

An ``http://`` address (the dashboard's) made dask raise a ValueError traceback after
its client waited 40 s to close; a port above 65535 waited for the connect timeout; and a
server of another protocol at the port (a web server) made dask read its reply as a
message length and die with a MemoryError of exabytes, also after 40 s.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from gvcdyn.errors import ExecutorError
from gvcdyn.execute import DaskExecutor


@pytest.mark.parametrize(
    ("address", "says"),
    [
        ("http://127.0.0.1:8787", "dask does not speak http://"),
        ("tcp://127.0.0.1:99999", "port 99999 is not one"),
        ("127.0.0.1:0", "port 0 is not one"),
    ],
)
def test_an_address_dask_cannot_use_is_refused_before_connecting(address: str, says: str) -> None:
    start = time.perf_counter()
    with pytest.raises(ExecutorError, match=says):
        DaskExecutor(scheduler=address, connect_timeout=30)
    assert time.perf_counter() - start < 5


@pytest.fixture
def web_server():
    """A server on a free loopback port that answers every connection as HTTP does."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    server.close()


def test_another_kind_of_server_is_one_clear_error(web_server: str) -> None:
    with pytest.raises(ExecutorError, match="does not answer as a dask scheduler"):
        DaskExecutor(scheduler=web_server, connect_timeout=10)
