"""The package's exceptions: one base class, each subclass named for what failed.

Misuse (a wrong type, an impossible argument) raises the builtin ``TypeError`` or
``ValueError``; those are never shadowed.  Bad *data* (keys, ciphertexts, seeds that
come from a file or a peer) raises :class:`InvalidInput`, which is also a
``ValueError`` so that ``except ValueError`` keeps working.
"""

from __future__ import annotations

__all__ = [
    "BackendUnavailable",
    "InternalError",
    "InvalidInput",
    "InvalidTag",
    "Pqe2eeError",
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


class InternalError(Pqe2eeError):
    """The compiled core or a backend reported a state that should be impossible."""
