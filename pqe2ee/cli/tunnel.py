"""``pqe2ee tunnel server|client``: the tunnel as a long-running command.

Options come from flags or a ``--config`` TOML file (flags win).  The process logs one
line per connection on stderr and stops on SIGINT/SIGTERM: it closes the listening
socket at once, lets open connections finish for the grace period, then cuts the rest
and exits 0.  At start-up it raises its soft limit on open files to the hard limit (as
Go programs do): every tunnelled connection holds several descriptors, and the default
soft limit of 1024 would cap the connection limits below their defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from pqe2ee.cli.limits import raise_fd_limit
from pqe2ee.cli.output import info
from pqe2ee.cli.padding import add_pad_option
from pqe2ee.cli.passphrase import add_passphrase_options, identity_passphrase
from pqe2ee.cli.pq_rekey import add_pq_rekey_options
from pqe2ee.handshake.suites import KEM_IDS, MODES
from pqe2ee.io.pending import DEFAULT_MAX_PENDING
from pqe2ee.io.tunnel.client import TunnelClient
from pqe2ee.io.tunnel.config import client_settings, load_toml, server_settings
from pqe2ee.io.tunnel.listener import Listener
from pqe2ee.io.tunnel.server import TunnelServer

__all__ = ["register"]


_NOT_SETTINGS = frozenset(
    ("config", "func", "command", "tunnel_role", "verbose", "quiet", "ask_passphrase", "log_format")
)


def _options(args: argparse.Namespace, role: str) -> dict[str, Any]:
    options: dict[str, Any] = load_toml(args.config, role) if args.config else {}
    for key, value in vars(args).items():
        if key in _NOT_SETTINGS:
            continue
        if value is not None and value != []:
            options[key] = value
    if options.get("identity"):
        # asked here, on a terminal, before the settings open the file (a daemon
        # without a terminal fails at once, naming --passphrase-file)
        how = argparse.Namespace(
            passphrase_file=options.get("passphrase_file"), ask_passphrase=args.ask_passphrase
        )
        options["passphrase"] = identity_passphrase(options["identity"], how)
    return options


async def _serve(tunnel: Listener, *, json_log: bool = False) -> None:
    """Run until the first SIGINT/SIGTERM, then shut down with the grace period; a
    second signal during the grace period cuts the open connections at once."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    shutdown: asyncio.Task[None] | None = None

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
        elif shutdown is not None:
            tunnel.cut_now()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    await tunnel.start()
    if not json_log:  # in JSON, the tunnel's own "listening on" record says it
        info(f"tunnel {tunnel.role} listening on {tunnel.address}")
    try:
        await stop.wait()
    finally:
        shutdown = asyncio.create_task(tunnel.shutdown())
        await shutdown
        logging.getLogger("pqe2ee.tunnel").info("tunnel %s: stopped", tunnel.role)


def _cmd_server(args: argparse.Namespace, _console: object) -> int:
    settings = server_settings(_options(args, "server"))
    raise_fd_limit()
    asyncio.run(_serve(TunnelServer(settings), json_log=args.log_format == "json"))
    return 0


def _cmd_client(args: argparse.Namespace, _console: object) -> int:
    settings = client_settings(_options(args, "client"))
    raise_fd_limit()
    asyncio.run(_serve(TunnelClient(settings), json_log=args.log_format == "json"))
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML file with these options (flags win)")
    p.add_argument("--listen", metavar="HOST:PORT", help="where to accept connections")
    p.add_argument("--identity", metavar="FILE", help="this end's private identity file")
    add_passphrase_options(p)
    p.add_argument("--mode", choices=MODES, help="only this key-exchange mode")
    p.add_argument("--kem", choices=list(KEM_IDS), help="only this KEM (with --mode)")
    p.add_argument(
        "--require-pq", action="store_true", default=None, help="refuse suites without ML-KEM"
    )
    p.add_argument("--handshake-timeout", type=float, metavar="S", help="default 10")
    add_pad_option(p, default=None)  # None: the config file's `pad`, else none
    p.add_argument("--idle-timeout", type=float, metavar="S", help="default 300; 0: none")
    p.add_argument("--connect-timeout", type=float, metavar="S", help="default 10")
    p.add_argument(
        "--max-connections", type=int, metavar="N", help="established sessions; default 1024"
    )
    p.add_argument("--grace", type=float, metavar="S", help="on SIGTERM/SIGINT; default 10")
    add_pq_rekey_options(p)
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines, or one JSON object per line (for log collectors)",
    )


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``pqe2ee tunnel server|client`` to the top-level parser."""
    tunnel = sub.add_parser("tunnel", help="wrap a TCP service in hybrid post-quantum sessions")
    roles = tunnel.add_subparsers(dest="tunnel_role", required=True)

    p = roles.add_parser("server", help="accept sessions, forward plaintext to the service")
    _common(p)
    p.add_argument("--forward", metavar="HOST:PORT", help="the service")
    p.add_argument("--allow", action="append", metavar="FPR", help="an allowed client (repeatable)")
    p.add_argument("--known-peers", metavar="FILE", help="allowed clients, NAME KIND FPR lines")
    p.add_argument(
        "--allow-classical-clients",
        action="store_true",
        default=None,
        help="accept ed25519 client identities although this server's identity is "
        "post-quantum (refused by default)",
    )
    p.add_argument(
        "--max-pending-handshakes",
        type=int,
        metavar="N",
        help="connections not yet through their handshake; when full, the oldest is "
        f"evicted for a newcomer (default {DEFAULT_MAX_PENDING})",
    )
    p.add_argument(
        "--max-pending-per-source",
        type=int,
        metavar="N",
        help="pending handshakes from one address; beyond it that address's oldest is "
        "evicted (default: no limit; 0: no limit)",
    )
    p.set_defaults(func=_cmd_server)

    p = roles.add_parser("client", help="accept plain connections, carry each in a session")
    _common(p)
    p.add_argument("--connect", metavar="HOST:PORT", help="the tunnel server")
    p.add_argument(
        "--peer", action="append", metavar="FPR", help="the server's fingerprint (repeatable)"
    )
    p.add_argument("--max-handshakes", type=int, metavar="N", help="in flight; default 64")
    p.set_defaults(func=_cmd_client)
