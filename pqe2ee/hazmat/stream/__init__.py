"""STREAM: chunked authenticated encryption of large data (age's payload format).

Security property: a stream sealed under a key decrypts only to exactly the plaintext
that was sealed, in order and complete.  Any change, reordering, duplication or removal
of chunks, truncation or extension fails with :class:`pqe2ee.exceptions.InvalidTag`
(age spec, "Payload"; C2SP STREAM; RFC 8439 for ChaCha20-Poly1305, NIST SP 800-38D for
AES-256-GCM).  Use each key for one stream only.

The work runs in the compiled core (``csrc/stream.c``: whole runs of chunks per call,
on several threads, over OpenSSL EVP); without the core, a pure-Python path over
``cryptography`` gives the same bytes, slowly, and warns once.

>>> from pqe2ee.hazmat import stream
>>> key = bytes(32)                                 # use a fresh random key per stream
>>> ct = stream.encrypt(key, b"attack at dawn")
>>> bytes(stream.decrypt(key, ct))
b'attack at dawn'
"""

from pqe2ee.hazmat.stream._files import decrypt_file, encrypt_file
from pqe2ee.hazmat.stream._format import (
    CIPHERS,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_CIPHER,
    KEY_SIZE,
    TAG_SIZE,
    ciphertext_size,
    plaintext_size,
)
from pqe2ee.hazmat.stream._incremental import Decryptor, Encryptor
from pqe2ee.hazmat.stream._oneshot import (
    decrypt,
    decrypt_chunk,
    decrypt_into,
    encrypt,
    encrypt_into,
)

__all__ = [
    "CIPHERS",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_CIPHER",
    "KEY_SIZE",
    "TAG_SIZE",
    "Decryptor",
    "Encryptor",
    "ciphertext_size",
    "decrypt",
    "decrypt_chunk",
    "decrypt_file",
    "decrypt_into",
    "encrypt",
    "encrypt_file",
    "encrypt_into",
    "plaintext_size",
]
