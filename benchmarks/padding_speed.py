"""Bulk speed under a record padding policy (docs/protocol.md §10), on the two C paths.

    .venv/bin/python benchmarks/padding_speed.py [--pad POLICY] [--mib 256] [--rounds 5]

``session``: 1 MiB ``send_data`` calls through a sans-IO :class:`Connection` pair in
memory (the C bulk seal and open loops).  ``pump``: two :class:`SocketPump` ends over
socketpairs, plaintext in at one end and out at the other (the tunnel's data path).
Prints one JSON line of MB/s medians.  With ``--pad none`` the configuration does not
name padding at all, so the same script measures a tree from before padding existed.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import threading
import time
from typing import Any

from pqe2ee.handshake import NEED_DATA, AuthKind, Config, Connection, Identity, Policy

MiB = 1 << 20


def _pair(pad: str) -> tuple[Connection, Connection]:
    policy = Policy.for_mode("classical", AuthKind.ED25519, aead="chacha20-poly1305")
    extra: dict[str, Any] = {} if pad == "none" else {"padding": pad}
    server_id = Identity.generate(AuthKind.ED25519)
    client = Connection(Config(policy=policy, **extra), "client")
    server = Connection(Config(identity=server_id, policy=policy, **extra), "server")
    for _ in range(4):
        for src, dst in ((client, server), (server, client)):
            if data := src.data_to_send():  # b"" would mean the end of the stream
                dst.receive_data(data)
            while dst.next_event() is not NEED_DATA:
                pass
    assert client.handshake_complete
    assert server.handshake_complete
    return client, server


def session_rate(pad: str, total: int) -> float:
    client, server = _pair(pad)
    block = os.urandom(MiB)
    got = 0
    start = time.perf_counter()
    for _ in range(total // MiB):
        client.send_data(block)
        server.receive_data(client.data_to_send())
        while (event := server.next_event()) is not NEED_DATA:
            got += len(event.data)
    elapsed = time.perf_counter() - start
    assert got == total // MiB * MiB
    return got / elapsed / 1e6


def pump_rate(pad: str, total: int) -> float:
    from pqe2ee.io.socket_pump import SocketPump

    client, server = _pair(pad)
    app_a, plain_a = socket.socketpair()
    wire_a, wire_b = socket.socketpair()
    plain_b, app_b = socket.socketpair()
    pumps = [SocketPump(client, plain_a, wire_a), SocketPump(server, plain_b, wire_b)]
    threads = [threading.Thread(target=p.run, daemon=True) for p in pumps]
    block = os.urandom(MiB)

    def write() -> None:
        for _ in range(total // MiB):
            app_a.sendall(block)
        app_a.shutdown(socket.SHUT_WR)

    start = time.perf_counter()
    for t in threads:
        t.start()
    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    got = 0
    while chunk := app_b.recv(1 << 20):
        got += len(chunk)
    elapsed = time.perf_counter() - start
    app_b.shutdown(socket.SHUT_WR)  # the far end closes too: both pumps finish
    writer.join(60)
    for t in threads:
        t.join(60)
    for p in pumps:
        p.release()
    for s in (app_a, plain_a, wire_a, wire_b, plain_b, app_b):
        s.close()
    assert got == total // MiB * MiB
    return got / elapsed / 1e6


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--pad", default="none")
    p.add_argument("--mib", type=int, default=256)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    total = args.mib * MiB
    session = [session_rate(args.pad, total) for _ in range(args.rounds)]
    pump = [pump_rate(args.pad, total) for _ in range(args.rounds)]
    print(
        json.dumps(
            {
                "pad": args.pad,
                "session_mb_s": round(statistics.median(session)),
                "pump_mb_s": round(statistics.median(pump)),
            }
        )
    )


if __name__ == "__main__":
    main()
