"""``--pad POLICY`` on ``listen``, ``connect`` and ``tunnel`` (docs/protocol.md §10): a bad
policy is a usage error, the tunnel's TOML key ``pad`` reaches the configuration, and a
real ``listen``/``connect`` session puts padded records on the wire, as seen by a relay
in the middle."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from pqe2ee.hazmat.padding import NO_PADDING, Padding
from pqe2ee.io.tunnel import client_settings, load_toml, server_settings
from tests.cli.test_session import _keygen, _listen, _run
from tests.handshake.test_padding import promised

TAG = 16


@pytest.mark.parametrize(
    "command",
    [
        ["connect", "127.0.0.1:1"],
        ["listen", "--port", "1", "--identity", "none.key"],
        ["tunnel", "server"],
        ["tunnel", "client"],
    ],
)
@pytest.mark.parametrize("bad", ["block:0", "padme:2", "lots"])
def test_a_bad_policy_is_a_usage_error(command: list[str], bad: str) -> None:
    out = _run(*command, "--pad", bad)
    assert out.returncode == 2
    assert "argument --pad" in out.stderr and "none, padme or block:N" in out.stderr


def test_the_tunnel_reads_pad_from_its_toml_file(tmp_path: Path) -> None:
    keys = tmp_path
    _keygen(keys, "server.key", "ed25519")
    client_fpr = _keygen(keys, "client.key", "ed25519")
    path = tmp_path / "t.toml"
    path.write_text('pad = "padme"\n[client]\npad = "block:1024"\n')
    assert load_toml(path, "server") == {"pad": Padding("padme")}
    assert load_toml(path, "client") == {"pad": Padding("block", 1024)}
    server = server_settings(
        {
            "listen": "127.0.0.1:0",
            "forward": "127.0.0.1:1",
            "identity": str(keys / "server.key"),
            "allow": [client_fpr],
            **load_toml(path, "server"),
        }
    )
    assert server.config.padding == Padding("padme")
    client = {
        "listen": "127.0.0.1:0",
        "connect": "127.0.0.1:1",
        "identity": str(keys / "client.key"),
        "peer": [client_fpr],
    }
    assert client_settings(client).config.padding == NO_PADDING
    assert client_settings({**client, "pad": Padding("block", 8)}).config.padding.block == 8
    path.write_text('pad = "block:99999"\n')
    with pytest.raises(ValueError, match=r"t\.toml: 'pad': padding block:99999 is out of range"):
        load_toml(path, "client")
    path.write_text("pad = 256\n")
    with pytest.raises(ValueError, match="'pad' has the wrong type"):
        load_toml(path, "client")


class Relay:
    """A TCP relay that forwards one connection both ways and keeps what went by."""

    def __init__(self, target: int) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target = target
        self.seen: dict[str, bytearray] = {"c2s": bytearray(), "s2c": bytearray()}
        self.thread = threading.Thread(target=self._main, daemon=True)
        self.thread.start()

    def _main(self) -> None:
        client, _ = self.listener.accept()
        server = socket.create_connection(("127.0.0.1", self.target))
        pipes = [
            threading.Thread(target=self._pipe, args=(client, server, "c2s")),
            threading.Thread(target=self._pipe, args=(server, client, "s2c")),
        ]
        for t in pipes:
            t.start()
        for t in pipes:
            t.join(60)
        client.close()
        server.close()
        self.listener.close()

    def _pipe(self, src: socket.socket, dst: socket.socket, name: str) -> None:
        src.settimeout(60)
        while data := src.recv(1 << 16):
            self.seen[name] += data
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)


def encrypted_payloads(stream: bytes) -> list[int]:
    """The payload lengths of the encrypted frames of a recorded stream."""
    out, pos = [], 0
    while pos + 4 <= len(stream):
        length = int.from_bytes(stream[pos + 1 : pos + 4], "big")
        if stream[pos] == 0x17:
            out.append(length)
        pos += 4 + length
    assert pos == len(stream)
    return out


def test_listen_and_connect_put_padded_records_on_the_wire(tmp_path: Path) -> None:
    server_fpr = _keygen(tmp_path, "server.key", "ed25519")
    _keygen(tmp_path, "client.key", "ed25519")
    down = b"from the server, 37 bytes of text.\n"
    proc, port = _listen(tmp_path, "--pad", "block:512", stdin=down)
    relay = Relay(port)
    up = b"x" * 1000 + b"\n"
    client = _run(
        "connect",
        f"127.0.0.1:{relay.port}",
        "--peer",
        server_fpr,
        "--no-known-peers",
        "--pad",
        "padme",
        input=up.decode(),
    )
    out, err = proc.communicate(timeout=60)
    relay.thread.join(60)
    assert client.returncode == 0, client.stderr
    assert proc.returncode == 0, err
    assert client.stdout.encode() == down and out == up
    s2c = encrypted_payloads(bytes(relay.seen["s2c"]))
    c2s = encrypted_payloads(bytes(relay.seen["c2s"]))
    # every record the server sealed (its flight, the data, the close) is a multiple of 512
    assert s2c and all((n - TAG) % 512 == 0 for n in s2c), s2c
    # the client's: its flight, the data, the close, each a Padme bucket (padme(L) = L)
    assert c2s and all(promised("padme", n - TAG - 1, n - TAG) for n in c2s), c2s
