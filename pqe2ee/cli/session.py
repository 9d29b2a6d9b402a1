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
import os
import socket
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pqe2ee.cli.output import CommandFailed, info
from pqe2ee.cli.padding import add_pad_option
from pqe2ee.cli.passphrase import add_passphrase_options, load_private_identity
from pqe2ee.cli.pq_rekey import add_pq_rekey_options
from pqe2ee.exceptions import HandshakeEvicted, InvalidInput, Pqe2eeError, RemoteProtocolError
from pqe2ee.handshake import (
    Config,
    Identity,
    PeerCheck,
    Policy,
    PublicIdentity,
    parse_fingerprint,
)
from pqe2ee.handshake.suites import KEM_IDS, MODES
from pqe2ee.hazmat.padding import NO_PADDING
from pqe2ee.io.accept import accept_session
from pqe2ee.io.addresses import address_text
from pqe2ee.io.pending import DEFAULT_MAX_PENDING
from pqe2ee.io.socket import SecureSocket, wrap_socket
from pqe2ee.trust import KnownPeers, default_known_peers_path, load_public_identity

__all__ = ["register"]


#: Library field names in messages -> the flags a user of this command typed.
_FLAGS = {
    "require_pq": "--require-pq",
    "allow_classical_client_identity": "--allow-classical-client",
    "require_client_identity": "--require-client-identity",
}


def _flag_names(text: str) -> str:
    for field, flag in _FLAGS.items():
        text = text.replace(field, flag)
    return text


def _reason(error: BaseException) -> str:
    """Why a handshake failed, in the command's words."""
    if isinstance(error, TimeoutError):
        return "the handshake timed out"
    return _flag_names(str(error) or type(error).__name__)


def _load(args: argparse.Namespace) -> Identity | None:
    return load_private_identity(args.identity, args) if args.identity else None


def _say_recorded(store: KnownPeers, name: str, peer: PublicIdentity) -> None:
    info(f"added {name} ({peer.kind.value} {peer.fingerprint_hex()}) to {store.path}")


def _known_peers(args: argparse.Namespace, *, server: bool) -> KnownPeers | None:
    """The known-peers store to use, read once now so a malformed file fails at start-up."""
    if args.known_peers:
        path = Path(args.known_peers)
    elif server:
        if args.accept_new_clients:
            raise ValueError("--accept-new-clients needs --known-peers FILE")
        return None
    elif args.no_known_peers or args.peer or args.peer_key:
        return None  # pins decide alone; or the user asked for no check at all
    else:
        path = default_known_peers_path()
    store = KnownPeers(path, on_record=_say_recorded)
    store.load()
    return store


def _config(args: argparse.Namespace, *, server: bool, peer_name: str | None = None) -> Config:
    identity = _load(args)
    pins = frozenset(parse_fingerprint(p) for p in args.peer)
    server_identity = None
    if not server and args.peer_key:
        # a public identity file pins the server; a kem one also lets this client
        # encapsulate to it in its first flight (docs/protocol.md §6.2)
        key = _load_peer_key(args.peer_key)
        pins |= {key.fingerprint()}
        server_identity = None if key.kind.signs else key
    known = _known_peers(args, server=server)
    check: PeerCheck | None = None
    if known is not None:
        # a client files the server under HOST:PORT; a server keys clients by fingerprint
        if server:
            check = known.client_check(accept_new=args.accept_new_clients)
        elif peer_name is not None:
            check = known.server_check(peer_name)
            server_identity = server_identity or known.known_identity(peer_name)
    try:
        policy = Policy.from_options(args.mode, args.kem, args.require_pq)
    except ValueError as exc:  # the library names its fields; a user typed flags
        raise ValueError(_flag_names(str(exc))) from None
    if server and args.allow_classical_client:
        policy = dataclasses.replace(policy, allow_classical_client_identity=True)
    return Config(
        identity=identity,
        policy=policy,
        peer_fingerprints=pins,
        check_peer=check,
        require_client_identity=server
        and (bool(args.peer) or args.require_client_identity or known is not None),
        server_identity=server_identity,
        padding=args.pad,
    )


def _load_peer_key(path: str) -> PublicIdentity:
    """The server's public identity file given with ``--peer-key``."""
    try:
        return load_public_identity(path)
    except OSError as exc:
        raise ValueError(f"--peer-key {path}: {exc.strerror or exc}") from None
    except InvalidInput as exc:
        raise ValueError(f"--peer-key {path}: {exc}") from None


def _pipe(session: SecureSocket, *, on_first: Callable[[], None] | None = None) -> None:
    """stdin -> peer in a thread, peer -> stdout here, until both ends are done.

    :param on_first: called once the peer's first record (data or its close) arrived.
    """
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
    chunk = session.recv(1 << 16)
    if on_first is not None:
        on_first()
    while chunk:
        out.write(chunk)
        out.flush()
        chunk = session.recv(1 << 16)
    sender.join(timeout=None if not sys.stdin.isatty() else 0.1)
    if failure and not isinstance(failure[0], (BrokenPipeError, ConnectionResetError)):
        raise failure[0]


def _describe(session: SecureSocket, address: str) -> str:
    peer = session.peer_identity
    who = f"{peer.kind.value} {peer.fingerprint_hex()}" if peer else "anonymous client"
    return f"connected to {address}, suite {session.suite}, peer {who}"


def _cmd_listen(args: argparse.Namespace, _console: object) -> int:
    config = _config(args, server=True)  # identity and known peers checked before binding
    dropped: list[BaseException] = []

    def on_drop(address: Any, error: BaseException) -> None:
        dropped.append(error)
        if isinstance(error, RemoteProtocolError):
            # said at once, and listening goes on: one peer that fails (or an attacker's
            # garbage) must not end the wait for the one that is expected
            print(f"pqe2ee: refused {address_text(address)}: {_reason(error)}", file=sys.stderr)

    backlog = min(args.max_pending_handshakes, 4096)
    try:
        listener = socket.create_server((args.host, args.port), backlog=backlog)
    except OSError as exc:
        raise CommandFailed(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}"
        ) from None
    with listener:
        info(f"listening on {args.host}:{listener.getsockname()[1]}")
        session, address = accept_session(
            listener,
            config,
            handshake_timeout=args.handshake_timeout,
            max_pending_handshakes=args.max_pending_handshakes,
            raise_failures=False,
            on_drop=on_drop,
        )
    if dropped:
        evicted = sum(isinstance(e, HandshakeEvicted) for e in dropped)
        info(
            f"dropped {len(dropped)} connections that did not finish a handshake "
            f"({evicted} evicted to make room)"
        )
    with session:
        session.settimeout(None)
        session.configure_pq_rekey(args.pq_rekey_after, args.pq_rekey_bytes)
        info(_describe(session, address_text(address)).replace("connected to", "accepted"))
        _pipe(session)
        _say_pq_rekeys(args, session)
    return 0


def _say_pq_rekeys(args: argparse.Namespace, session: SecureSocket) -> None:
    if args.pq_rekey_after is not None or args.pq_rekey_bytes is not None:
        info(f"{session.pq_rekeys} post-quantum ratchet steps completed")


def _cmd_connect(args: argparse.Namespace, _console: object) -> int:
    host, _, port = args.address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"want HOST:PORT, got {args.address!r}")
    config = _config(args, server=False, peer_name=args.address)
    where = args.address
    timeout = args.handshake_timeout
    try:
        sock = socket.create_connection((host, int(port)), timeout=timeout)
    except socket.gaierror as exc:
        raise CommandFailed(f"cannot resolve {host} (in {where}): {exc.strerror}") from None
    except TimeoutError:
        raise CommandFailed(f"cannot connect to {where}: no answer in {timeout:g} s") from None
    except OSError as exc:
        raise CommandFailed(f"cannot connect to {where}: {exc.strerror or exc}") from None
    try:
        session = wrap_socket(
            sock,
            config,
            pq_rekey_after=args.pq_rekey_after,
            pq_rekey_bytes=args.pq_rekey_bytes,
        )
    except TimeoutError:
        sock.close()
        raise CommandFailed(
            f"{where}: the handshake timed out after {timeout:g} s (--handshake-timeout)"
        ) from None
    except Pqe2eeError as exc:
        sock.close()
        raise CommandFailed(f"{where}: {_reason(exc)}") from None
    except OSError as exc:
        sock.close()
        raise CommandFailed(f"{where}: {exc.strerror or exc}") from None
    with session:
        session.settimeout(None)
        said = _describe(session, where)
        try:
            if session.client_identity_requested:
                # the server decides on our identity after our Finished: "connected"
                # only once its first record shows it accepted us (a refusal: its alert)
                _pipe(session, on_first=lambda: info(said))
            else:
                info(said)
                _pipe(session)
        except Pqe2eeError as exc:
            raise CommandFailed(f"{where}: {_reason(exc)}") from None
        _say_pq_rekeys(args, session)
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
        p.add_argument(
            "--peer-key",
            metavar="FILE",
            help="accept only the server whose public identity file (keygen's .pub) this "
            "is; for a kem identity the first flight already authenticates it",
        )
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
    add_pad_option(p, default=NO_PADDING)
    add_pq_rekey_options(p)
    add_passphrase_options(p)
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
