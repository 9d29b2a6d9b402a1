"""Known peers keep a ``kem`` identity's key (docs/protocol.md §6.1, §6.2): recorded on
first use, checked against its fingerprint, and handed back so the next handshake
authenticates the server in its first flight."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from pqe2ee.exceptions import InvalidInput, KnownPeerMismatch
from pqe2ee.handshake import Config, Connection
from pqe2ee.handshake.identity import format_fingerprint
from pqe2ee.trust import KnownPeers
from tests.handshake.util import identity, run


def _key(kind: str = "kem", n: int = 0) -> str:
    who = identity(kind, n) if n else identity(kind)  # the cache keys on the arguments
    return base64.b64encode(who.public().keys[0]).decode()


def test_first_use_records_the_key_and_the_next_handshake_uses_it(tmp_path: Path) -> None:
    store = KnownPeers(tmp_path / "known_peers")
    server_id = identity("kem")

    def handshake() -> tuple[int, Connection]:
        client = Connection(
            Config(
                check_peer=store.server_check("h:1"),
                server_identity=store.known_identity("h:1"),
            ),
            "client",
        )
        out = run(client, Connection(Config(identity=server_id), "server"))
        assert out.error is None and out.client_done
        return len(out.flights), client

    first, _ = handshake()
    assert first == 5  # the client learns the key in the handshake: one flight more
    line = (tmp_path / "known_peers").read_text().split()
    assert line[:2] == ["h:1", "kem"] and line[3] == _key()
    assert store.known_identity("h:1") == server_id.public()
    again, client = handshake()
    assert again == 3  # encapsulated to the recorded key in the first flight
    assert client.peer_identity == server_id.public()


def test_a_line_whose_key_does_not_match_its_fingerprint_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "known_peers"
    fp = identity("kem").public().fingerprint().hex()
    path.write_text(f"h:1 kem {fp} {_key('kem', 1)}\n")
    with pytest.raises(InvalidInput, match=r"known_peers:1: the key does not match"):
        KnownPeers(path).load()


def test_a_grouped_fingerprint_with_or_without_a_key(tmp_path: Path) -> None:
    path = tmp_path / "known_peers"
    who = identity("kem").public()
    grouped = format_fingerprint(who.fingerprint())
    path.write_text(f"a kem {grouped} {_key()}\nb kem {grouped}\n")
    entries = KnownPeers(path).load()
    assert entries["a"].identity == who and entries["a"].fingerprint == who.fingerprint()
    assert entries["b"].identity is None and entries["b"].fingerprint == who.fingerprint()


@pytest.mark.parametrize(
    "key", ["!!!not-base64" + "A" * 70, base64.b64encode(b"\x00" * 1216).decode() + "==x"]
)
def test_a_malformed_key_names_the_line(tmp_path: Path, key: str) -> None:
    path = tmp_path / "known_peers"
    fp = identity("kem").public().fingerprint().hex()
    path.write_text(f"# comment\nh:1 kem {fp} {key}\n")
    with pytest.raises(InvalidInput, match=r"known_peers:2:"):
        KnownPeers(path).load()


def test_a_key_of_the_wrong_size_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "known_peers"
    short = base64.b64encode(b"\x01" * 100).decode()
    fp = identity("kem").public().fingerprint().hex()
    path.write_text(f"h:1 kem {fp} {short}\n")
    with pytest.raises(InvalidInput, match="1216"):
        KnownPeers(path).load()


def test_a_changed_kem_key_is_refused_by_name(tmp_path: Path) -> None:
    """The key in the file decides the first flight; a server with another key cannot
    open it, and the message names the expected identity."""
    store = KnownPeers(tmp_path / "known_peers")
    store.check("h:1", identity("kem").public())
    client = Connection(
        Config(check_peer=store.server_check("h:1"), server_identity=store.known_identity("h:1")),
        "client",
    )
    out = run(client, Connection(Config(identity=identity("kem", 3)), "server"))
    assert out.client_error is not None and not out.client_done
    assert identity("kem").public().fingerprint_hex() in str(out.client_error)
    # and without the key (fingerprint only), the recorded fingerprint refuses it
    plain = Connection(Config(check_peer=store.server_check("h:1")), "client")
    out = run(plain, Connection(Config(identity=identity("kem", 3)), "server"))
    assert isinstance(out.client_error, KnownPeerMismatch)
