"""The package's exceptions: one base class, each subclass named for what failed.

Misuse (a wrong type, an impossible argument) raises the builtin ``TypeError`` or
``ValueError``; those are never shadowed.  Bad *data* (keys, ciphertexts, seeds that
come from a file or a peer) raises :class:`InvalidInput`, which is also a
``ValueError`` so that ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "AgeArmorError",
    "AgeError",
    "AgeHeaderError",
    "AgeHeaderMACError",
    "AgeNoIdentityMatch",
    "AgePayloadError",
    "BackendUnavailable",
    "DowngradeError",
    "HandshakeEvicted",
    "IdentityRejected",
    "InternalError",
    "InvalidInput",
    "InvalidSignature",
    "InvalidTag",
    "KnownPeerMismatch",
    "LocalProtocolError",
    "MissingExtra",
    "Pqe2eeError",
    "RemoteProtocolError",
    "TrustStoreError",
    "UnauthenticatedAlert",
    "UnsupportedAlgorithm",
]


class Pqe2eeError(Exception):
    """Base class of every exception that pqe2ee raises on purpose."""


class InvalidInput(Pqe2eeError, ValueError):
    """Bytes that are not a valid key, ciphertext or seed for the named algorithm.

    Raised for a wrong length, an ML-KEM encapsulation key that fails the FIPS 203
    §7.2 modulus check, an elliptic-curve point that is not on the curve, a private
    scalar out of range, or a Diffie-Hellman exchange whose result is all zeros.
    The message names the algorithm and, for lengths, the expected size; it never
    contains secret bytes.
    """


class InvalidTag(Pqe2eeError):
    """Authentication failed: the data was tampered with, truncated, or the key is wrong.

    Every authentication failure raises this and nothing else, so that callers
    cannot learn *why* a forgery was rejected.
    """


class UnsupportedAlgorithm(Pqe2eeError):
    """The algorithm exists, but no backend on this machine can run it."""


class BackendUnavailable(Pqe2eeError):
    """A backend was asked for by name but cannot be loaded here (the message says why)."""


class MissingExtra(BackendUnavailable):
    """A feature needs an optional dependency that is not installed.

    The message names the feature and the command that installs it, e.g.
    ``pip install 'pqe2ee[plots]'``; :attr:`extra` is the extra's name.
    """

    def __init__(self, message: str, *, extra: str) -> None:
        super().__init__(message)
        #: The extra of pqe2ee that provides the dependency (``plots``, ``oqs``).
        self.extra = extra


class InternalError(Pqe2eeError):
    """The compiled core or a backend reported a state that should be impossible."""


class HandshakeEvicted(Pqe2eeError):
    """A connection still in its handshake was closed to admit a newer one: the server's
    pool of pending handshakes (or its per-source share of it) was full.

    Not the peer's fault as far as the server can tell: silent connections are evicted
    oldest first, so an honest handshake, which takes milliseconds, is not.
    """


class InvalidSignature(Pqe2eeError):
    """A signature did not verify (for a hybrid identity: either of its two)."""


class LocalProtocolError(Pqe2eeError):
    """This side misused a protocol object (for example, sent data before the handshake)."""


class RemoteProtocolError(Pqe2eeError):
    """The peer broke the protocol: malformed or unexpected message, failed authentication,
    truncated stream, or an alert it sent.  The connection is dead after this."""

    def __init__(self, message: str, *, alert: int | None = None) -> None:
        super().__init__(message)
        #: The alert code sent to (or received from) the peer, if any.
        self.alert = alert


class DowngradeError(RemoteProtocolError):
    """``require_pq`` is set and the peer offered or chose no suite with ML-KEM."""


class IdentityRejected(RemoteProtocolError):
    """The peer's identity is not the pinned one, not allowed, or not what it claims."""


class UnauthenticatedAlert(RemoteProtocolError):
    """The handshake was aborted by an alert that nothing authenticates.

    Before a handshake completes, an alert (in the clear, or under handshake keys that
    an active attacker may share) can come from the peer or from anyone on the path, so
    it is reported as what it is: an abort, with its code in :attr:`alert` and its name
    in the message, never as :class:`DowngradeError` or :class:`IdentityRejected`, which
    would let an attacker pass a forged reason off as the peer's verdict.
    """


class KnownPeerMismatch(IdentityRejected):
    """A known-peers file names a different identity for this peer.

    Like SSH's ``REMOTE HOST IDENTIFICATION HAS CHANGED``: either the peer changed its key
    or someone is in the middle.  The message names the file and line to check.
    """


class TrustStoreError(RemoteProtocolError):
    """The known-peers file could not be used to decide on a peer.

    Raised when the file cannot be read, locked or written (the ``OSError`` is chained
    as ``__cause__``; the message names the file and the system's reason), and, from
    :meth:`~pqe2ee.handshake.KnownPeers.check` during a handshake, when the file is
    malformed (the message names the file and line).  The peer did nothing wrong.

    It derives from :class:`RemoteProtocolError` because, raised out of
    ``Connection.next_event()``, it carries that class's promise: the connection is in
    ``ERROR``, an ``internal error`` alert was queued for the peer, and every adapter
    that handles a failed handshake handles this one too.  Raised by ``KnownPeers``
    outside a connection, ``alert`` is ``None``.  Failing closed is the security
    property: a peer that could not be checked against, or recorded in, the file is
    never accepted.
    """


class AgeError(Pqe2eeError):
    """An age file could not be decrypted; the subclass says which part failed.

    Raised by :mod:`pqe2ee.age`.  The message is one line, names the problem and, where
    there is one, the fix.  No plaintext is released for header, MAC or armor failures;
    for payload failures see :class:`AgePayloadError`.
    """


class AgeNoIdentityMatch(AgeError):
    """None of the given identities (keys, passphrases) opens any recipient stanza.

    Also raised for a wrong passphrase and for a stanza whose wrapped file key does not
    authenticate: age cannot tell "not for you" from "tampered" at this point.
    """


class AgeHeaderError(AgeError):
    """The header is malformed: an unsupported version, a bad stanza, bad base64, a
    key share of the wrong size or an invalid (all-zero) Diffie-Hellman result, an
    scrypt stanza that is not alone or whose work factor exceeds the limit, or a
    missing payload nonce.
    """


class AgeHeaderMACError(AgeError, InvalidTag):
    """The header MAC does not verify under the file key: the header was changed."""


class AgeArmorError(AgeError):
    """The ASCII armor (``-----BEGIN AGE ENCRYPTED FILE-----``) is malformed."""


class AgePayloadError(AgeError, InvalidTag):
    """The payload failed: a chunk does not authenticate, the file is truncated, or
    data follows the final chunk.

    Only chunks that authenticated were released before this was raised; the file API
    removes its temporary output, so nothing is left at the destination.
    """
