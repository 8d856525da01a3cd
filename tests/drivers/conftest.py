"""Fixtures for the driver tests: protocol emulators served on a pty or a localhost socket."""

import pytest

from sim_backends.emulators.core import EmulatorServer


@pytest.fixture(params=["pty", "tcp"])
def transport(request):
    return request.param


@pytest.fixture
def serve():
    """serve(device, transport) -> running EmulatorServer, stopped after the test."""
    servers = []

    def start(device, transport="pty"):
        server = EmulatorServer(device, transport).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
