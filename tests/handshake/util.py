"""In-memory plumbing for handshake tests: a pair of Connections and a wire between them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Identity
from pqe2ee.handshake.events import Event, HandshakeComplete

Mutator = Callable[[str, int, bytes], bytes | None]


@cache
def identity(kind: str = "ed25519", n: int = 0) -> Identity:
    """Cached identities (ML-DSA key generation is not free); ``n`` picks another one."""
    return Identity.generate(AuthKind(kind))


@dataclass
class Outcome:
    client_events: list[Event] = field(default_factory=list)
    server_events: list[Event] = field(default_factory=list)
    client_error: RemoteProtocolError | None = None
    server_error: RemoteProtocolError | None = None
    flights: list[tuple[str, bytes]] = field(default_factory=list)

    @property
    def client_done(self) -> bool:
        return any(isinstance(e, HandshakeComplete) for e in self.client_events)

    @property
    def server_done(self) -> bool:
        return any(isinstance(e, HandshakeComplete) for e in self.server_events)

    @property
    def error(self) -> RemoteProtocolError | None:
        return self.client_error or self.server_error


def drain(conn: Connection, events: list[Event]) -> None:
    while True:
        event = conn.next_event()
        if event is NEED_DATA:
            return
        events.append(event)


def run(
    client: Connection,
    server: Connection,
    *,
    mutate: Mutator | None = None,
    byte_at_a_time: bool = False,
    rounds: int = 8,
) -> Outcome:
    """Move bytes both ways until quiet; ``mutate(direction, flight_no, data)`` may
    rewrite (or drop, returning None) each flight in transit."""
    out = Outcome()
    sides: list[tuple[str, Connection, Connection, list[Event], str]] = [
        ("c2s", client, server, out.server_events, "server"),
        ("s2c", server, client, out.client_events, "client"),
    ]
    flight = 0
    for _ in range(rounds):
        moved = False
        for direction, src, dst, events, dst_name in sides:
            data = src.data_to_send()
            if not data:
                continue
            out.flights.append((direction, data))
            if mutate is not None:
                changed = mutate(direction, flight, data)
                flight += 1
                if changed is None:
                    continue
                data = changed
            moved = True
            if getattr(out, f"{dst_name}_error") is not None:
                continue
            try:
                chunks = [data[i : i + 1] for i in range(len(data))] if byte_at_a_time else [data]
                for chunk in chunks:
                    dst.receive_data(chunk)
                    drain(dst, events)
            except RemoteProtocolError as exc:
                setattr(out, f"{dst_name}_error", exc)
        if not moved:
            break
    return out


def pair(
    client_config: Config | None = None, server_config: Config | None = None, **kwargs: Any
) -> tuple[Connection, Connection]:
    server_config = server_config or Config(identity=identity())
    client = Connection(client_config or Config(), "client", **kwargs)
    server = Connection(server_config, "server")
    return client, server


def flip_byte(target: int, pos: int) -> Mutator:
    """A mutator for :func:`run` that flips the low bit of byte ``pos`` of flight
    ``target`` (flights counted in both directions) and passes the rest on."""

    def mutate(direction: str, flight: int, data: bytes) -> bytes | None:
        if flight != target:
            return data
        changed = bytearray(data)
        changed[pos] ^= 0x01
        return bytes(changed)

    return mutate


def end_streams(out: Outcome, client: Connection, server: Connection) -> None:
    """End both streams of a run that neither side failed, recording what that raises:
    a flipped length can leave a side waiting for bytes that never come, and the end of
    the stream must then be an error, not a completed handshake."""
    for conn, name in ((client, "client"), (server, "server")):
        if getattr(out, f"{name}_error") is None:
            conn.receive_data(b"")
            try:
                drain(conn, getattr(out, f"{name}_events"))
            except RemoteProtocolError as exc:
                setattr(out, f"{name}_error", exc)


def split_tlv(data: bytes) -> list[bytes]:
    """Split whole ``type u8 || length u24 || body`` units (frames, or the handshake
    messages inside a record) into a list; they must fill ``data`` exactly."""
    out, pos = [], 0
    while pos < len(data):
        n = int.from_bytes(data[pos + 1 : pos + 4], "big")
        out.append(data[pos : pos + 4 + n])
        pos += 4 + n
    assert pos == len(data)
    return out
