"""A known-peers file with trust on first use, like SSH's ``known_hosts``.

One line per peer: ``NAME KIND FINGERPRINT`` (fingerprint as 64 hex digits, groups
allowed; ``#`` starts a comment); a ``kem`` identity's line ends with its public key too
(base64), which a client needs to encapsulate to the server in its first flight
(docs/protocol.md §6.2), and which must hash to the fingerprint on its line.  A name is
printable, without whitespace or ``#``, and appears on one line only: a file with two
lines for one name is refused on load, since either line could be the one an attacker
added.

Two ways to consult the file:

- by name (:meth:`KnownPeers.check`, a client filing a server under ``HOST:PORT``): the
  first time a name is seen its identity is recorded; afterwards a different identity
  for that name raises :class:`KnownPeerMismatch` naming the file and line.
- by fingerprint (:meth:`KnownPeers.check_client`, a server deciding on clients, which
  send no name of their own and whose address changes): every line lets its identity
  in; an empty file records the first client; once the file has a line, a client not in
  it is refused with :class:`KnownPeerMismatch`, unless new clients are accepted
  explicitly (each then gets a line ``client-<16 hex digits>``).

Nothing is ever silently replaced: edit or delete the line to accept a new key.  Each
record is made under an exclusive ``fcntl.flock`` on a sibling lock file, re-reading the
file under the lock, and the new content replaces the file atomically (a 0600 temporary
file in the same folder, fsynced, then ``os.replace``): concurrent first uses never lose a
line, a crash never leaves half a file, and the file stays 0600.  Any ``OSError`` on the
way is raised as :class:`~pqe2ee.exceptions.TrustStoreError`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import fcntl
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from pqe2ee.exceptions import IdentityRejected, InvalidInput, KnownPeerMismatch, TrustStoreError
from pqe2ee.handshake.config import PeerCheck
from pqe2ee.handshake.identity import PublicIdentity, format_fingerprint, parse_fingerprint
from pqe2ee.handshake.suites import AuthKind

__all__ = ["KnownPeer", "KnownPeers", "check_peer_name", "default_known_peers_path"]

#: Called after a new line is safely in the file: ``(file, name, identity)``.
OnRecord = Callable[["KnownPeers", str, PublicIdentity], None]


@dataclass(frozen=True)
class KnownPeer:
    """One line of a known-peers file."""

    name: str
    kind: AuthKind
    fingerprint: bytes
    line: int
    #: a ``kem`` identity's whole public identity, when its line carries the key
    identity: PublicIdentity | None = None


def check_peer_name(name: str) -> str:
    """Return ``name`` if it can be a known-peers name, else raise.

    :raises ValueError: empty, or contains whitespace, ``#`` or a control character
        (each would change how the line reads back).
    """
    if not name:
        raise ValueError("a known-peers name must not be empty")
    if any(c.isspace() for c in name):
        raise ValueError(f"a known-peers name must not contain whitespace: {name!r}")
    if "#" in name:
        raise ValueError(f"a known-peers name must not contain '#' (it starts a comment): {name!r}")
    if not name.isprintable():
        raise ValueError(f"a known-peers name must be printable: {name!r}")
    return name


def default_known_peers_path(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user store: ``$XDG_CONFIG_HOME/pqe2ee/known_peers``, else
    ``~/.config/pqe2ee/known_peers`` (a relative ``XDG_CONFIG_HOME`` is ignored, as the
    XDG base directory specification says)."""
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_CONFIG_HOME", "")
    if xdg and os.path.isabs(xdg):
        base = Path(xdg)
    else:
        home = env.get("HOME") or os.path.expanduser("~")
        base = Path(home) / ".config"
    return base / "pqe2ee" / "known_peers"


class KnownPeers:
    """The known-peers file at ``path`` (created, 0600, on first record).

    :param path: the file; a missing folder is created with mode 0700.
    :param on_record: called after each line this object adds is in the file (the
        command line uses it to say so; library code never prints).
    """

    def __init__(self, path: str | os.PathLike[str], *, on_record: OnRecord | None = None) -> None:
        self.path = Path(path)
        self._on_record = on_record

    # ------------------------------------------------------------------ reading
    def _read(self) -> str:
        try:
            return self.path.read_text()
        except FileNotFoundError:
            return ""
        except UnicodeDecodeError:
            raise InvalidInput(f"{self.path}: not a text file") from None
        except OSError as exc:
            raise TrustStoreError(f"cannot read {self.path}: {exc.strerror or exc}") from exc

    def _parse(self, text: str) -> dict[str, KnownPeer]:
        entries: dict[str, KnownPeer] = {}
        for number, raw in enumerate(text.splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(maxsplit=2)
            if len(parts) != 3:
                raise InvalidInput(f"{self.path}:{number}: want 'NAME KIND FINGERPRINT'")
            name, kind, fp = parts
            key = ""
            tokens = fp.split()
            if kind == AuthKind.KEM.value and len(tokens) > 1 and len(tokens[-1]) > 64:
                # the last field is the key (a grouped fingerprint has short groups)
                fp, key = " ".join(tokens[:-1]), tokens[-1]
            try:
                check_peer_name(name)
                peer = KnownPeer(name, AuthKind(kind), parse_fingerprint(fp), number)
                if key:
                    peer = self._with_key(peer, key)
            except ValueError as exc:
                raise InvalidInput(f"{self.path}:{number}: {exc}") from None
            if name in entries:
                raise InvalidInput(
                    f"{self.path}:{number}: {name} is already on line {entries[name].line}; "
                    "one line per name (delete the line you no longer trust)"
                )
            entries[name] = peer
        return entries

    @staticmethod
    def _with_key(peer: KnownPeer, key: str) -> KnownPeer:
        """``peer`` with the kem identity its line's base64 key gives, checked against
        its fingerprint (a line whose key and fingerprint disagree is refused)."""
        try:
            raw = base64.b64decode(key, validate=True)
        except binascii.Error:
            raise ValueError("the key is not base64") from None
        identity = PublicIdentity(AuthKind.KEM, [raw])  # InvalidInput is a ValueError
        if identity.fingerprint() != peer.fingerprint:
            raise ValueError("the key does not match the fingerprint on the line")
        return dataclasses.replace(peer, identity=identity)

    def known_identity(self, name: str) -> PublicIdentity | None:
        """The ``kem`` identity filed under ``name`` with its key, if there is one: a
        client hands it to its handshake (``Config(server_identity=...)``) to
        authenticate the server in the first flight.

        :raises InvalidInput: the file is malformed.
        :raises TrustStoreError: the file exists but cannot be read.
        """
        peer = self.load().get(name)
        return peer.identity if peer is not None else None

    def load(self) -> dict[str, KnownPeer]:
        """Every line of the file, by name (a missing file is an empty one).

        :raises InvalidInput: a malformed line, or two lines for one name (the message
            names the file and the line numbers).
        :raises TrustStoreError: the file exists but cannot be read.
        """
        return self._parse(self._read())

    def entries(self) -> dict[str, bytes]:
        """Every name in the file and its fingerprint (see :meth:`load`)."""
        return {name: peer.fingerprint for name, peer in self.load().items()}

    # ------------------------------------------------------------------ checking
    def server_check(self, name: str, *, trust_on_first_use: bool = True) -> PeerCheck:
        """The check a client hands its handshake (``Config(check_peer=...)``): its server's
        identity must be the one filed under ``name`` (e.g. ``"host:port"``), or is recorded
        there the first time (:meth:`check`).

        :raises ValueError: ``name`` cannot be a known-peers name (:func:`check_peer_name`).
        """
        check_peer_name(name)

        def check(identity: PublicIdentity) -> None:
            self.check(name, identity, trust_on_first_use=trust_on_first_use)

        return check

    def client_check(self, *, accept_new: bool = False) -> PeerCheck:
        """The check a server hands its handshake (``Config(check_peer=...)``, with
        ``require_client_identity``): a client's identity must be in the file, by
        fingerprint, or is recorded as described in :meth:`check_client`."""

        def check(identity: PublicIdentity) -> None:
            self.check_client(identity, accept_new=accept_new)

        return check

    def _load_for_check(self) -> dict[str, KnownPeer]:
        try:
            return self.load()
        except InvalidInput as exc:  # during a handshake: the store is unusable
            raise TrustStoreError(str(exc)) from exc

    def _mismatch(self, name: str, peer: KnownPeer, fp: bytes) -> KnownPeerMismatch:
        return KnownPeerMismatch(
            f"IDENTITY OF {name} HAS CHANGED: {self.path}:{peer.line} expects "
            f"{format_fingerprint(peer.fingerprint)}, the peer presented "
            f"{format_fingerprint(fp)}. Someone may be in the middle, or the peer has a new "
            "key; if you trust the new key, edit that line."
        )

    def check(self, name: str, identity: PublicIdentity, *, trust_on_first_use: bool = True) -> str:
        """Accept ``identity`` for ``name`` or raise (keyed by name: a client's servers).

        :returns: ``"known"`` when it matches the file, ``"added"`` when it was recorded now.
        :raises ValueError: ``name`` cannot be a known-peers name (:func:`check_peer_name`).
        :raises KnownPeerMismatch: the file has another identity for ``name``.
        :raises IdentityRejected: unknown name and ``trust_on_first_use`` is off.
        :raises TrustStoreError: the file is malformed, or cannot be read, locked or
            written; nothing was accepted.
        """
        check_peer_name(name)
        fp = identity.fingerprint()
        peer = self._load_for_check().get(name)
        if peer is None and not trust_on_first_use:
            raise IdentityRejected(f"{name} is not in {self.path} and trust on first use is off")
        if peer is None:
            with self._locked() as text:
                # re-read under the lock: another process may have recorded it meanwhile
                peer = self._parse_for_check(text).get(name)
                if peer is None:
                    self._replace(text, name, identity)
        if peer is None:
            self._recorded(name, identity)
            return "added"
        if peer.fingerprint != fp:
            raise self._mismatch(name, peer, fp)
        return "known"

    def check_client(self, identity: PublicIdentity, *, accept_new: bool = False) -> str:
        """Accept a client's ``identity`` or raise (keyed by fingerprint: a server's clients).

        A client sends no name, and its address is no name either (it changes, and is
        shared behind NAT), so the fingerprint is the key: any line lets its identity
        in.  An empty or missing file records the first client (trust on first use);
        after that an unknown client is refused unless ``accept_new``.

        :returns: ``"known"`` or ``"added"``.
        :raises KnownPeerMismatch: the file lists other clients only (the message names
            the file and their lines).
        :raises TrustStoreError: as for :meth:`check`.
        """
        fp = identity.fingerprint()
        entries = self._load_for_check()
        if any(p.fingerprint == fp for p in entries.values()):
            return "known"
        if entries and not accept_new:
            raise self._unknown_client(entries, fp)
        with self._locked() as text:
            entries = self._parse_for_check(text)
            if any(p.fingerprint == fp for p in entries.values()):
                return "known"
            if entries and not accept_new:
                raise self._unknown_client(entries, fp)
            name = f"client-{fp.hex()[:16]}"
            if name in entries:  # another key with the same 64-bit prefix: use it all
                name = f"client-{fp.hex()}"
            self._replace(text, name, identity)
        self._recorded(name, identity)
        return "added"

    def _parse_for_check(self, text: str) -> dict[str, KnownPeer]:
        try:
            return self._parse(text)
        except InvalidInput as exc:
            raise TrustStoreError(str(exc)) from exc

    def _unknown_client(self, entries: dict[str, KnownPeer], fp: bytes) -> KnownPeerMismatch:
        lines = ",".join(str(p.line) for p in sorted(entries.values(), key=lambda p: p.line))
        only = next(iter(entries.values())) if len(entries) == 1 else None
        expects = (
            f"expects {format_fingerprint(only.fingerprint)}" if only else "lists other clients"
        )
        return KnownPeerMismatch(
            f"UNKNOWN CLIENT IDENTITY: {self.path}:{lines} {expects}, the client presented "
            f"{format_fingerprint(fp)}. Someone may be posing as a client, or the client has "
            "a new key; if you trust it, add a line for it to that file."
        )

    def _recorded(self, name: str, identity: PublicIdentity) -> None:
        if self._on_record is not None:
            self._on_record(self, name, identity)

    # ------------------------------------------------------------------ writing
    @contextlib.contextmanager
    def _locked(self) -> Iterator[str]:
        """Hold an exclusive lock on the sibling ``.NAME.lock`` and yield the file's text.

        The lock is on a separate file because the store itself is replaced, not
        rewritten: a lock on the old inode would not stop a writer that opens the new one.
        """
        target = Path(os.path.realpath(self.path))  # a symlinked store stays a symlink
        lock_path = target.with_name(f".{target.name}.lock")
        try:
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise TrustStoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            except OSError as exc:
                raise TrustStoreError(f"cannot lock {self.path}: {exc.strerror or exc}") from exc
            try:
                text = self._read()
            except InvalidInput as exc:  # became unreadable as text since the first look
                raise TrustStoreError(str(exc)) from exc
            yield text
        finally:
            os.close(fd)  # releases the lock

    def _replace(self, text: str, name: str, identity: PublicIdentity) -> None:
        """Write ``text`` plus one line for ``name`` in place of the file (under the lock)."""
        check_peer_name(name)
        if text and not text.endswith("\n"):
            text += "\n"
        line = f"{name} {identity.kind.value} {identity.fingerprint().hex()}"
        if identity.kind is AuthKind.KEM:  # the key itself: encapsulate to it next time
            line += " " + base64.b64encode(identity.keys[0]).decode()
        text += line + "\n"
        target = Path(os.path.realpath(self.path))
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
            with open(fd, "w") as f:  # mkstemp made it 0600
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
            tmp = None
            dir_fd = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)  # the rename itself survives a crash
            finally:
                os.close(dir_fd)
        except OSError as exc:
            raise TrustStoreError(
                f"cannot record {name} in {self.path}: {exc.strerror or exc}"
            ) from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
