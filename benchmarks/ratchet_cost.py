"""The cost of one post-quantum ratchet step (docs/protocol.md §9): CPU per side, bytes.

Two in-memory :class:`~pqe2ee.handshake.Connection` objects past their handshake run
``--steps`` steps, the initiator and the responder timed apart (``time.process_time``
around each side's calls: the initiator's start and its handling of the ciphertext, the
responder's handling of the share and of the switch); the records' frame sizes are read
off the wire.  One row per session KEM; a classical X25519 session ratchets with
X25519MLKEM768.

    python benchmarks/ratchet_cost.py --steps 300
"""

from __future__ import annotations

import argparse
import statistics
import time

from pqe2ee.handshake import NEED_DATA, Config, Connection, Identity, Policy
from pqe2ee.handshake.ratchet import ratchet_kem


def _feed(conn: Connection, data: bytes) -> None:
    if not data:
        return  # (an empty feed would mean the end of the stream)
    conn.receive_data(data)
    while conn.next_event() is not NEED_DATA:
        pass


def _pair(kem: str, server_id: Identity) -> tuple[Connection, Connection]:
    policy = Policy(suites=tuple(s for s in Policy().suites if s.kem == kem))
    client = Connection(Config(policy=policy), "client")
    server = Connection(Config(identity=server_id, policy=policy), "server")
    for _ in range(4):
        _feed(server, client.data_to_send())
        _feed(client, server.data_to_send())
    if not (client.handshake_complete and server.handshake_complete):
        raise RuntimeError("the handshake did not complete")
    return client, server


def measure(kem: str, steps: int, server_id: Identity) -> dict[str, float | int | str]:
    client, server = _pair(kem, server_id)
    init_us, resp_us = [], []
    sizes: tuple[int, int, int] = (0, 0, 0)
    for _ in range(steps):
        t0 = time.process_time()
        client.start_pq_rekey()
        share = client.data_to_send()
        t1 = time.process_time()
        _feed(server, share)
        ciphertext = server.data_to_send()
        t2 = time.process_time()
        _feed(client, ciphertext)
        switch = client.data_to_send()
        t3 = time.process_time()
        _feed(server, switch)
        t4 = time.process_time()
        init_us.append(((t1 - t0) + (t3 - t2)) * 1e6)
        resp_us.append(((t2 - t1) + (t4 - t3)) * 1e6)
        sizes = (len(share), len(ciphertext), len(switch))
        client.send_data(b"x")  # data between steps (the flood bound, §9.4)
        _feed(server, client.data_to_send())
    if not client.pq_rekeys == server.pq_rekeys == steps or client.suite is None:
        raise RuntimeError("a ratchet step did not complete")
    return {
        "session KEM": kem,
        "ratchet KEM": ratchet_kem(client.suite),
        "initiator us": statistics.median(init_us),
        "responder us": statistics.median(resp_us),
        "share B": sizes[0],
        "ciphertext B": sizes[1],
        "switch B": sizes[2],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    server_id = Identity.generate()
    rows = [
        measure(kem, args.steps, server_id)
        for kem in ("X25519MLKEM768", "X-Wing", "ML-KEM-768", "ML-KEM-1024", "X25519")
    ]
    print("| " + " | ".join(rows[0]) + " |")
    print("|" + "---|" * len(rows[0]))
    for row in rows:
        cells = [f"{v:.0f}" if isinstance(v, float) else str(v) for v in row.values()]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
