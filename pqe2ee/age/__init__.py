"""age v1 files (C2SP age spec), readable and writable byte for byte with age 1.3.

Recipient types, each in its own module: X25519 (``age1…`` / ``AGE-SECRET-KEY-1…``),
scrypt passphrases, and the post-quantum hybrid ``mlkem768x25519`` (``age1pq1…`` /
``AGE-SECRET-KEY-PQ-1…``).  The payload runs through :mod:`pqe2ee.hazmat.stream`.

>>> from pqe2ee import age
>>> identity = age.HybridIdentity.generate()
>>> str(identity.recipient()).startswith("age1pq1")
True

Files: ``format`` (header, stanzas), ``armor``, ``payload``, ``x25519``, ``scrypt``,
``mlkem768x25519``, ``keys`` (string forms), ``api`` (encrypt/decrypt); the command
line is :mod:`pqe2ee.cli.age`.
"""

from pqe2ee.age.api import AgeReader, check_recipients, decrypt, encrypt, unwrap_file_key
from pqe2ee.age.keys import (
    identity_recipient,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
    read_identity_file,
)
from pqe2ee.age.mlkem768x25519 import HybridIdentity, HybridRecipient
from pqe2ee.age.recipient import Identity, Recipient
from pqe2ee.age.scrypt import ScryptIdentity, ScryptRecipient
from pqe2ee.age.x25519 import X25519Identity, X25519Recipient
from pqe2ee.exceptions import (
    AgeArmorError,
    AgeError,
    AgeHeaderError,
    AgeHeaderMACError,
    AgeNoIdentityMatch,
    AgePayloadError,
)

__all__ = [
    "AgeArmorError",
    "AgeError",
    "AgeHeaderError",
    "AgeHeaderMACError",
    "AgeNoIdentityMatch",
    "AgePayloadError",
    "AgeReader",
    "HybridIdentity",
    "HybridRecipient",
    "Identity",
    "Recipient",
    "ScryptIdentity",
    "ScryptRecipient",
    "X25519Identity",
    "X25519Recipient",
    "check_recipients",
    "decrypt",
    "encrypt",
    "identity_recipient",
    "parse_identities",
    "parse_identity",
    "parse_recipient",
    "parse_recipients",
    "read_identity_file",
    "unwrap_file_key",
]
