"""The tunnel fixtures (an echo service, key files), for ``pqe2ee tunnel`` run as a
command in test_tunnel.py."""

from tests.io.tunnel.conftest import keys, service

__all__ = ["keys", "service"]
