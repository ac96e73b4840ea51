import socket

import pytest


def test_network_guard_refuses_non_loopback():
    with pytest.raises(RuntimeError, match="must not touch the network"):
        socket.create_connection(("192.0.2.1", 80), timeout=0.1)


def test_network_guard_allows_loopback():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname(), timeout=1)
    assert client.getpeername() == server.getsockname()
    client.close()
    server.close()
