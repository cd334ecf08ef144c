"""The suite's network guard itself: non-loopback is refused, loopback works."""

import socket
import threading

import pytest

from tests.conftest import NetworkBlocked


def test_public_address_is_blocked():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with pytest.raises(NetworkBlocked):
        s.connect(("93.184.216.34", 80))
    s.close()


def test_loopback_is_allowed():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    accepter = threading.Thread(target=lambda: server.accept()[0].close(), daemon=True)
    accepter.start()
    client = socket.create_connection(server.getsockname(), timeout=5)
    accepter.join(5)  # closing the server before accept() returns would fail the accepting thread
    assert not accepter.is_alive()
    client.close()
    server.close()
