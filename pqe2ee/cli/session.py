"""``pqe2ee listen`` and ``pqe2ee connect``: one session between stdin/stdout and a peer.

``listen`` and ``connect`` are netcat-like: one session, the peer's authenticated
data to stdout, stdin to the peer (end of stdin sends the authenticated close).  Any
failure exits non-zero with one line on stderr; nothing the peer sent is printed unless
it authenticated.  ``listen`` waits for the first connection that completes a
handshake: one that fails it (a refused identity, a downgrade, garbage) gets a line on
stderr and listening goes on, so no stranger can end the wait for the expected peer.

Known peers, as ssh does it: ``connect`` files the server's identity under ``HOST:PORT``
in ``--known-peers FILE``, or by default in the per-user store
(:func:`~pqe2ee.trust.default_known_peers_path`), says so on stderr the first time,
and refuses a changed key; ``--peer FPR`` pins instead, ``--no-known-peers`` checks
nothing.  ``listen --known-peers FILE`` requires a client identity and keys clients by
fingerprint: the first one into an empty file is recorded, any other is refused unless
``--accept-new-clients``.  Identity and known-peers files are read before the socket
is bound or connected, so a missing or malformed one fails at once.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any

from pqe2ee.cli.keys import read_passphrase
from pqe2ee.exceptions import HandshakeEvicted, RemoteProtocolError
from pqe2ee.handshake import (
    Config,
    Identity,
    PeerCheck,
    Policy,
    PublicIdentity,
    parse_fingerprint,
)
from pqe2ee.handshake.suites import KEM_IDS, MODES
from pqe2ee.io.accept import accept_session
from pqe2ee.io.addresses import address_text
from pqe2ee.io.pending import DEFAULT_MAX_PENDING
from pqe2ee.io.socket import SecureSocket, wrap_socket
from pqe2ee.trust import KnownPeers, default_known_peers_path, load_identity

__all__ = ["register"]


def _load(args: argparse.Namespace) -> Identity | None:
    if not args.identity:
        return None
    path = Path(args.identity)
    try:
        return load_identity(path, passphrase=read_passphrase(args))
    except OSError as exc:  # a bad argument: exit 2 naming the file
        raise ValueError(f"cannot read identity file {path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        if "passphrase-protected" in str(exc) and sys.stdin.isatty():
            return load_identity(path, passphrase=getpass.getpass(f"passphrase for {path}: "))
        raise


def _say_recorded(store: KnownPeers, name: str, peer: PublicIdentity) -> None:
    print(f"pqe2ee: added {name} ({peer.fingerprint().hex()}) to {store.path}", file=sys.stderr)


def _known_peers(args: argparse.Namespace, *, server: bool) -> KnownPeers | None:
    """The known-peers store to use, read once now so a malformed file fails at start-up."""
    if args.known_peers:
        path = Path(args.known_peers)
    elif server:
        if args.accept_new_clients:
            raise ValueError("--accept-new-clients needs --known-peers FILE")
        return None
    elif args.no_known_peers or args.peer:
        return None  # pins decide alone; or the user asked for no check at all
    else:
        path = default_known_peers_path()
    store = KnownPeers(path, on_record=_say_recorded)
    store.load()
    return store


def _config(args: argparse.Namespace, *, server: bool, peer_name: str | None = None) -> Config:
    identity = _load(args)
    pins = frozenset(parse_fingerprint(p) for p in args.peer)
    known = _known_peers(args, server=server)
    check: PeerCheck | None = None
    if known is not None:
        # a client files the server under HOST:PORT; a server keys clients by fingerprint
        if server:
            check = known.client_check(accept_new=args.accept_new_clients)
        elif peer_name is not None:
            check = known.server_check(peer_name)
    policy = Policy.from_options(args.mode, args.kem, args.require_pq)
    if server and args.allow_classical_client:
        policy = dataclasses.replace(policy, allow_classical_client_identity=True)
    return Config(
        identity=identity,
        policy=policy,
        peer_fingerprints=pins,
        check_peer=check,
        require_client_identity=server
        and (bool(args.peer) or args.require_client_identity or known is not None),
    )


def _pipe(session: SecureSocket) -> None:
    """stdin -> peer in a thread, peer -> stdout here, until both ends are done."""
    failure: list[BaseException] = []

    def upload() -> None:
        # os.read, not sys.stdin.buffer: a daemon thread blocked inside the buffered
        # reader holds its lock, and an interpreter that exits meanwhile (the peer
        # refused us) aborts on that lock instead of exiting with our error
        fd = sys.stdin.fileno()
        try:
            while chunk := os.read(fd, 1 << 16):
                session.sendall(chunk)
            session.shutdown_write()
        except BaseException as exc:
            failure.append(exc)

    sender = threading.Thread(target=upload, daemon=True)
    sender.start()
    out = sys.stdout.buffer
    while chunk := session.recv(1 << 16):
        out.write(chunk)
        out.flush()
    sender.join(timeout=None if not sys.stdin.isatty() else 0.1)
    if failure and not isinstance(failure[0], (BrokenPipeError, ConnectionResetError)):
        raise failure[0]


def _describe(session: SecureSocket) -> str:
    peer = session.peer_identity
    who = f"{peer.kind.value} {peer.fingerprint().hex()}" if peer else "anonymous client"
    return f"pqe2ee: connected, suite {session.suite}, peer {who}"


def _cmd_listen(args: argparse.Namespace, _console: object) -> int:
    config = _config(args, server=True)  # identity and known peers checked before binding
    dropped: list[BaseException] = []

    def on_drop(address: Any, error: BaseException) -> None:
        dropped.append(error)
        if isinstance(error, RemoteProtocolError):
            # said at once, and listening goes on: one peer that fails (or an attacker's
            # garbage) must not end the wait for the one that is expected
            print(f"pqe2ee: refused {address_text(address)}: {error}", file=sys.stderr)

    backlog = min(args.max_pending_handshakes, 4096)
    with socket.create_server((args.host, args.port), backlog=backlog) as listener:
        print(f"pqe2ee: listening on {args.host}:{listener.getsockname()[1]}", file=sys.stderr)
        session, _ = accept_session(
            listener,
            config,
            handshake_timeout=args.handshake_timeout,
            max_pending_handshakes=args.max_pending_handshakes,
            raise_failures=False,
            on_drop=on_drop,
        )
    if dropped:
        evicted = sum(isinstance(e, HandshakeEvicted) for e in dropped)
        print(
            f"pqe2ee: dropped {len(dropped)} connections that did not finish a handshake "
            f"({evicted} evicted to make room)",
            file=sys.stderr,
        )
    with session:
        session.settimeout(None)
        print(_describe(session), file=sys.stderr)
        _pipe(session)
    return 0


def _cmd_connect(args: argparse.Namespace, _console: object) -> int:
    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"want HOST:PORT, got {args.address!r}")
    config = _config(args, server=False, peer_name=args.address)
    sock = socket.create_connection((host, int(port)), timeout=args.handshake_timeout)
    with wrap_socket(sock, config) as session:
        session.settimeout(None)
        print(_describe(session), file=sys.stderr)
        _pipe(session)
    return 0


def _session_options(p: argparse.ArgumentParser, *, server: bool) -> None:
    p.add_argument("--identity", required=server, help="private identity file")
    p.add_argument("--mode", choices=MODES, help="only this key-exchange mode")
    p.add_argument("--kem", choices=list(KEM_IDS), help="only this KEM (with --mode)")
    p.add_argument("--require-pq", action="store_true", help="refuse suites without ML-KEM")
    p.add_argument(
        "--peer",
        action="append",
        default=[],
        metavar="FPR",
        help="accept only this peer fingerprint (repeatable)",
    )
    if server:
        p.add_argument(
            "--known-peers",
            metavar="FILE",
            help="allowed clients, by fingerprint (NAME KIND FPR lines); requires a client "
            "identity; a missing or empty file records the first client, and any other "
            "client is then refused",
        )
        p.add_argument(
            "--accept-new-clients",
            action="store_true",
            help="with --known-peers: record each new client instead of refusing it",
        )
    else:
        known = p.add_mutually_exclusive_group()
        known.add_argument(
            "--known-peers",
            metavar="FILE",
            help="trust-on-first-use file; the server is filed under HOST:PORT and a changed "
            "key is refused (default without --peer: $XDG_CONFIG_HOME/pqe2ee/known_peers, "
            "else ~/.config/pqe2ee/known_peers)",
        )
        known.add_argument(
            "--no-known-peers",
            action="store_true",
            help="INSECURE, for throwaway use: no known-peers file, so without --peer the "
            "server's key is not checked at all",
        )
    p.add_argument("--handshake-timeout", type=float, default=30.0, metavar="SECONDS")
    p.add_argument("--passphrase-file", help="read the identity's passphrase from this file")
    if server:
        p.add_argument(
            "--require-client-identity",
            action="store_true",
            help="ask the client to authenticate (implied by --peer)",
        )
        p.add_argument(
            "--allow-classical-client",
            action="store_true",
            help="accept an ed25519 client identity although this server's identity is "
            "post-quantum (refused by default: mutual authentication is only as strong "
            "as its weaker signature)",
        )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``listen`` and ``connect`` to the top-level parser."""
    p = sub.add_parser(
        "listen",
        help="accept one session: peer -> stdout, stdin -> peer (failed handshakes are "
        "reported and listening goes on)",
    )
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument(
        "--max-pending-handshakes",
        type=int,
        default=DEFAULT_MAX_PENDING,
        metavar="N",
        help="connections handshaking at once; when full, the oldest is dropped for a "
        f"newcomer (default {DEFAULT_MAX_PENDING})",
    )
    _session_options(p, server=True)
    p.set_defaults(func=_cmd_listen)

    p = sub.add_parser("connect", help="open one session: peer -> stdout, stdin -> peer")
    p.add_argument("address", metavar="HOST:PORT")
    _session_options(p, server=False)
    p.set_defaults(func=_cmd_connect)
