"""Which key exchange methods an SSH server offers, read from its cleartext KEXINIT.

An SSH server sends its identification string (RFC 4253 §4.2) and then, still in the
clear, its SSH_MSG_KEXINIT (§7.1) listing the key exchange and host key algorithms it
accepts.  The probe sends only its own identification string, reads those two messages
and closes: no key exchange is started, no authentication attempted.

Every read is bounded (a line at most 255 bytes, at most :data:`MAX_PRE_IDENT_LINES`
lines before the identification, a packet at most :data:`MAX_PACKET_LENGTH` bytes,
§6.1) and the whole probe runs under one deadline, so a hostile or slow server costs at
most ``timeout`` seconds and a few kilobytes.
"""

from __future__ import annotations

import asyncio
import random
import struct

from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.scan._net import BoundedReader, close, connect, describe_network_error
from pqe2ee.scan.model import ScanResult, Target

__all__ = [
    "CLIENT_IDENTIFICATION",
    "MAX_PACKET_LENGTH",
    "MAX_PRE_IDENT_LINES",
    "PQ_KEX_METHODS",
    "KexInit",
    "parse_identification",
    "parse_kexinit",
    "scan_ssh",
]

#: What the probe announces itself as (RFC 4253 §4.2: ``SSH-protoversion-softwareversion``).
CLIENT_IDENTIFICATION = b"SSH-2.0-pqe2ee_scan\r\n"
#: RFC 4253 §4.2: the identification line is at most 255 bytes with its CR LF.
MAX_LINE = 255
#: Lines a server may send before its identification (§4.2 allows some; we bound them).
MAX_PRE_IDENT_LINES = 64
#: RFC 4253 §6.1: implementations must handle packets of 35000 bytes; we refuse larger.
MAX_PACKET_LENGTH = 35000
#: Packets (SSH_MSG_IGNORE, SSH_MSG_DEBUG) skipped while waiting for KEXINIT.
MAX_SKIPPED_PACKETS = 8
#: RFC 4251 §6: an algorithm name is at most 64 characters.
MAX_NAME = 64
#: Connections retried when the server closes before its identification string.
#: OpenSSH turns unauthenticated connections beyond ``MaxStartups`` (10 by default)
#: away that way, at random, after a line ``Exceeded MaxStartups``: scanning one busy
#: server, or many ports behind one sshd, would otherwise report it as down.
DROPPED_RETRIES = 2
_RETRY_DELAY = 0.25

#: Hybrid post-quantum key exchange methods: ML-KEM-768 + X25519 (draft-ietf-sshm-mlkem-
#: hybrid-kex, OpenSSH 9.9), the NIST-curve variants of the same draft, and
#: Streamlined NTRU Prime + X25519 (draft-ietf-sshm-ntruprime-ssh, OpenSSH 8.5 / 9.0).
PQ_KEX_METHODS = frozenset(
    {
        "mlkem768x25519-sha256",
        "mlkem768nistp256-sha256",
        "mlkem1024nistp384-sha384",
        "sntrup761x25519-sha512@openssh.com",
        "sntrup761x25519-sha512",
    }
)

_MSG_IGNORE, _MSG_DEBUG, _MSG_KEXINIT = 2, 4, 20
_NAME_LISTS = (
    "kex_algorithms",
    "server_host_key_algorithms",
    "encryption_algorithms_client_to_server",
    "encryption_algorithms_server_to_client",
    "mac_algorithms_client_to_server",
    "mac_algorithms_server_to_client",
    "compression_algorithms_client_to_server",
    "compression_algorithms_server_to_client",
    "languages_client_to_server",
    "languages_server_to_client",
)


class KexInit:
    """The name-lists of an SSH_MSG_KEXINIT (RFC 4253 §7.1), in the server's order."""

    def __init__(self, lists: dict[str, list[str]], first_kex_packet_follows: bool) -> None:
        """Hold the parsed ``lists`` (keyed by the RFC's field names)."""
        self.lists = lists
        self.first_kex_packet_follows = first_kex_packet_follows

    @property
    def kex_algorithms(self) -> list[str]:
        """The key exchange methods, most preferred first."""
        return self.lists["kex_algorithms"]

    @property
    def server_host_key_algorithms(self) -> list[str]:
        """The host key algorithms, most preferred first."""
        return self.lists["server_host_key_algorithms"]


def parse_identification(line: bytes) -> str:
    """Check one server line that starts with ``SSH-`` (RFC 4253 §4.2).

    :param line: the line with its line ending.
    :returns: the identification string, without CR LF.
    :raises RemoteProtocolError: not SSH 2.0 (1.99 counts as 2.0, §5.1) or not printable.
    """
    text = line.rstrip(b"\r\n")
    try:
        banner = text.decode("ascii")
    except UnicodeDecodeError:
        raise RemoteProtocolError("the SSH identification string is not ASCII") from None
    if not banner.isprintable():
        raise RemoteProtocolError("the SSH identification string has control characters")
    parts = banner.split("-", 2)
    if len(parts) < 3 or not parts[2]:
        raise RemoteProtocolError(f"malformed SSH identification string {banner!r}")
    if parts[1] not in ("2.0", "1.99"):
        raise RemoteProtocolError(f"the server speaks SSH protocol {parts[1]}, not 2.0")
    return banner


def _name_list(payload: bytes, offset: int, field: str) -> tuple[list[str], int]:
    if offset + 4 > len(payload):
        raise RemoteProtocolError(f"KEXINIT truncated before {field}")
    (length,) = struct.unpack_from(">I", payload, offset)
    offset += 4
    if length > len(payload) - offset:
        raise RemoteProtocolError(f"KEXINIT {field}: length {length} runs past the packet")
    raw = payload[offset : offset + length]
    offset += length
    if not raw:
        return [], offset
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise RemoteProtocolError(f"KEXINIT {field}: not ASCII") from None
    names = text.split(",")
    for name in names:
        if not name or len(name) > MAX_NAME or not name.isprintable() or " " in name:
            raise RemoteProtocolError(f"KEXINIT {field}: bad algorithm name {name[:80]!r}")
    return names, offset


def parse_kexinit(payload: bytes) -> KexInit:
    """Parse an SSH_MSG_KEXINIT payload (RFC 4253 §7.1; RFC 4251 §5 name-lists).

    :param payload: the packet's payload, starting with the message number 20.
    :raises RemoteProtocolError: not a KEXINIT, truncated, or a name-list that is not one.
    """
    if not payload or payload[0] != _MSG_KEXINIT:
        raise RemoteProtocolError("not a KEXINIT message")
    offset = 1 + 16  # message number, cookie
    if len(payload) < offset:
        raise RemoteProtocolError("KEXINIT truncated in its cookie")
    lists: dict[str, list[str]] = {}
    for field in _NAME_LISTS:
        lists[field], offset = _name_list(payload, offset, field)
    if offset + 5 > len(payload):
        raise RemoteProtocolError("KEXINIT truncated after its name-lists")
    if not lists["kex_algorithms"] or not lists["server_host_key_algorithms"]:
        raise RemoteProtocolError("KEXINIT offers no key exchange or no host key algorithm")
    return KexInit(lists, first_kex_packet_follows=payload[offset] != 0)


class _Dropped(RemoteProtocolError):
    """The server closed before its identification string, saying it was too busy."""


def _preview(data: bytes) -> str:
    """The start of what a non-SSH server sent, safe to put in a report."""
    text = data.strip()[:40].decode("ascii", "replace")
    return "".join(c if c.isprintable() else "?" for c in text)


async def _read_identification(reader: BoundedReader) -> str:
    busy = False
    first: bytes | None = None
    for index in range(MAX_PRE_IDENT_LINES + 1):
        try:
            line = await reader.line(MAX_LINE)
        except asyncio.IncompleteReadError as exc:
            if busy:
                raise _Dropped(
                    "the server turned the connection away as too busy (OpenSSH's "
                    "MaxStartups); scan it with a lower concurrency"
                ) from None
            sent = first if first is not None else exc.partial
            if sent.strip():
                raise RemoteProtocolError(
                    f"not an SSH server: it sent {_preview(sent)!r} and closed"
                ) from None
            raise  # closed having said nothing: perhaps dropped, worth a retry
        if line is None:
            raise RemoteProtocolError(
                "not an SSH server: a line longer than 255 bytes before the identification"
            )
        if line.startswith(b"SSH-"):
            return parse_identification(line)
        if index == 0 and line.startswith(b"HTTP/"):
            raise RemoteProtocolError("not an SSH server: it answered with HTTP")
        busy = busy or line.startswith(b"Exceeded MaxStartups")
        if first is None and line.strip():
            first = line
    raise RemoteProtocolError(
        f"not an SSH server: no identification string in its first {MAX_PRE_IDENT_LINES} lines"
    )


async def _read_packet(reader: BoundedReader) -> bytes:
    """One unencrypted binary packet (RFC 4253 §6): its payload."""
    (packet_length,) = struct.unpack(">I", await reader.exactly(4))
    if packet_length > MAX_PACKET_LENGTH:
        raise RemoteProtocolError(
            f"packet length {packet_length} is over the {MAX_PACKET_LENGTH} bytes of RFC 4253"
        )
    if packet_length < 5:
        raise RemoteProtocolError(f"packet length {packet_length} is too short")
    body = await reader.exactly(packet_length)
    padding = body[0]
    if padding < 4 or padding + 1 > packet_length:
        raise RemoteProtocolError(f"bad padding length {padding} in a {packet_length}-byte packet")
    return body[1 : packet_length - padding]


async def _read_kexinit(reader: BoundedReader) -> KexInit:
    for _ in range(MAX_SKIPPED_PACKETS + 1):
        payload = await _read_packet(reader)
        if payload and payload[0] in (_MSG_IGNORE, _MSG_DEBUG):
            continue
        if not payload or payload[0] != _MSG_KEXINIT:
            kind = payload[0] if payload else "none"
            raise RemoteProtocolError(f"expected KEXINIT (message 20), got message {kind}")
        return parse_kexinit(payload)
    raise RemoteProtocolError(f"no KEXINIT after {MAX_SKIPPED_PACKETS} ignored packets")


async def scan_ssh(target: Target, *, timeout: float) -> ScanResult:
    """Read ``target``'s SSH identification string and KEXINIT, then close.

    The probe sends only ``SSH-2.0-pqe2ee_scan``.  A connection the server closes or
    resets before its identification string is retried up to :data:`DROPPED_RETRIES`
    times (OpenSSH's ``MaxStartups``), within the same deadline.  ``pq_key_exchange`` is
    true when the server offers a method of :data:`PQ_KEX_METHODS`.

    :param target: an ``ssh://`` target.
    :param timeout: seconds for the whole probe, connecting included.
    :returns: the result; ``reachable`` is true only if a well-formed KEXINIT arrived.
        Every failure (refused, reset, unresolvable name, timeout, not SSH, malformed
        packet) is in ``error``; this function raises nothing but cancellation.
    """
    result = ScanResult(target=str(target), protocol="ssh")
    stage = "connecting"
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            for attempt in range(DROPPED_RETRIES + 1):
                stage = "connecting"
                stream, writer = await connect(target)
                reader = BoundedReader(stream, limit=MAX_PACKET_LENGTH)
                stage = "waiting for the SSH identification string"
                try:
                    writer.write(CLIENT_IDENTIFICATION)
                    await writer.drain()
                    result.banner = await _read_identification(reader)
                    break
                except (OSError, asyncio.IncompleteReadError, _Dropped):
                    if attempt == DROPPED_RETRIES:
                        raise
                await close(writer)
                writer = None
                # spread the retries, as many probes may have been dropped together
                await asyncio.sleep(_RETRY_DELAY * (attempt + 1) * (0.5 + random.random()))  # noqa: S311
            stage = "waiting for KEXINIT"
            kexinit = await _read_kexinit(reader)
    except TimeoutError:
        result.error = f"timed out after {timeout:g} s {stage}"
    except RemoteProtocolError as exc:
        result.error = str(exc)
    except (OSError, asyncio.IncompleteReadError) as exc:
        result.error = describe_network_error(exc, target)
        if stage != "connecting":
            result.error += f" while {stage}"
    else:
        result.reachable = True
        result.kex_methods = kexinit.kex_algorithms
        result.host_key_algorithms = kexinit.server_host_key_algorithms
        result.pq_key_exchange = any(m in PQ_KEX_METHODS for m in result.kex_methods)
    finally:
        if writer is not None:
            await close(writer)
    return result
