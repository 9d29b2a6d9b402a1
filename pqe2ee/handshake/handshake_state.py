"""What a handshake in progress holds, shared by the client and server flights.

Named after Noise's (and snow's) ``HandshakeState``: the transcript, the key schedule,
the ephemeral KEM keys and the handshake secrets live here and nowhere else, and
:meth:`HandshakeState.finish` wipes what the application phase does not need.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from pqe2ee.exceptions import InvalidTag
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.config import Config
from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.keyschedule import KeySchedule, Transcript, finished_mac, traffic_key_iv
from pqe2ee.handshake.record import CT_HANDSHAKE, INNER_HANDSHAKE, MAX_PLAINTEXT, plain_frame
from pqe2ee.handshake.state import Alert, Role, fail
from pqe2ee.handshake.suites import Suite
from pqe2ee.handshake.transport import Transport
from pqe2ee.hazmat.aead import by_name
from pqe2ee.hazmat.kem import KEMPrivateKey

__all__ = ["EARLY_IDENTITY_AEAD", "FixedRandomness", "HandshakeState"]

#: The AEAD sealing an early identity (§6.3): fixed, since no suite is chosen yet.
EARLY_IDENTITY_AEAD = by_name("chacha20-poly1305")

#: The prefixes signed in IdentityVerify (docs/protocol.md §6): 64 spaces, then a
#: context string naming the side, as in TLS 1.3's CertificateVerify (RFC 8446 §4.4.3),
#: so a signature made by one side can never be replayed as the other's.
SERVER_CONTEXT = b" " * 64 + b"pqe2ee v2, server IdentityVerify\x00"
CLIENT_CONTEXT = b" " * 64 + b"pqe2ee v2, client IdentityVerify\x00"


@dataclass(frozen=True)
class FixedRandomness:
    """Test-only: fixed randoms and KEM randomness, for known-answer transcripts.

    Reusing these outside a test destroys every security property of the handshake.
    """

    random: bytes
    kem_seed: bytes = b""
    encaps_randomness: bytes = b""
    #: for encapsulating to the peer's ``kem`` identity (X-Wing: 64 bytes)
    auth_encaps_randomness: bytes = b""


class HandshakeState:
    """The state of one side's handshake, from the first flight to ``HandshakeComplete``.

    :param config: this side's configuration.
    :param role: client or server.
    :param transport: where handshake records go and where keys are installed.
    :param fixed: test-only fixed randomness (known-answer transcripts), or None.
    """

    def __init__(
        self,
        config: Config,
        role: Role,
        transport: Transport,
        fixed: FixedRandomness | None,
    ) -> None:
        self.config = config
        self.role = role
        self.transport = transport
        self.fixed = fixed
        self.transcript = Transcript(config.channel_binding)
        self.schedule = KeySchedule(config.psk)
        self.suite: Suite | None = None
        self.peer_identity: PublicIdentity | None = None
        self.peer_claim: PublicIdentity | None = None  # sent, its signature not yet checked
        self.retried = False
        self.hrr_suite: tuple[int, int, int] | None = None
        self.ephemeral: dict[int, KEMPrivateKey] = {}
        self.first_hello: m.ClientHello | None = None
        self.want_client_identity = False
        #: the secret this client encapsulated to the server's known kem identity
        self.server_auth_secret: bytes | None = None
        #: this client sent its kem identity inside its ClientHello (§6.3)
        self.early_identity_sent = False
        self.c_hs = self.s_hs = self.c_ap = self.s_ap = b""
        self.exporter: bytes | None = None
        self._flight: list[bytes] = []  # encrypted handshake messages not yet sealed

    def random(self) -> bytes:
        """32 fresh random bytes for a hello (fixed ones in a known-answer test)."""
        return self.fixed.random if self.fixed else os.urandom(32)

    def send(self, message: bytes) -> None:
        """Add ``message`` to the transcript and queue it: in the clear, one message per
        frame, or under the write key, where a flight's messages share one record (see
        :meth:`end_flight`)."""
        self.transcript.add(message)
        if self.transport.write is None:
            self.transport.out.append(plain_frame(CT_HANDSHAKE, message))
        else:
            self._flight.append(message)

    def end_flight(self) -> None:
        """Seal the encrypted messages of this flight together, before the key changes."""
        if self._flight:
            write = self.transport.write
            assert write is not None
            # a flight is a few KB; one record keeps every message whole (§7)
            assert sum(map(len, self._flight)) <= MAX_PLAINTEXT
            self.transport.out.append(write.seal_many(INNER_HANDSHAKE, b"".join(self._flight)))
            self._flight = []

    def check_finished(self, whole: bytes, body: bytes, secret: bytes, *, sender: str) -> None:
        """Verify the peer's Finished under its handshake ``secret`` (constant-time, §5)
        and add it to the transcript.

        :raises Fail: malformed, or the MAC does not verify (``handshake failure``).
        """
        fin = m.Finished.decode(body)
        expected = finished_mac(secret, self.transcript.digest())
        if not hmac.compare_digest(fin.verify_data, expected):
            raise fail(Alert.HANDSHAKE_FAILURE, f"{sender} Finished does not verify")
        self.transcript.add(whole)

    def encapsulate_to(self, identity: PublicIdentity) -> tuple[bytes, bytes]:
        """Encapsulate to the peer's ``kem`` identity (fixed randomness in a known-answer
        test): ``(shared_secret, ciphertext)``."""
        if self.fixed and self.fixed.auth_encaps_randomness:
            return identity.encapsulate_derand_for_testing_only(self.fixed.auth_encaps_randomness)
        return identity.encapsulate()

    def _early_key(self, static_secret: bytes, th_prefix: bytes) -> tuple[bytes, bytes]:
        return traffic_key_iv(self.schedule.early_identity_secret(static_secret, th_prefix))

    def seal_early_identity(self, static_secret: bytes, hello: m.ClientHello) -> bytes:
        """The client's ``kem`` Identity body sealed for ``hello``'s early_identity field
        under a key from ``static_secret`` and everything before the field (§6.3)."""
        assert self.config.identity is not None
        body = self.config.identity.public().encode()
        sealed_size = len(body) + 16  # ChaCha20-Poly1305's tag
        th_prefix = self.transcript.digest_with(hello.prefix(sealed_size))
        key, iv = self._early_key(static_secret, th_prefix)
        return EARLY_IDENTITY_AEAD.seal(key, iv, b"", body)

    def open_early_identity(
        self, static_secret: bytes, sealed: bytes, th_prefix: bytes
    ) -> bytes | None:
        """An early Identity body, or None if it does not open (the client encapsulated
        to another key: it will fail on this server's flight, and say so).

        :param th_prefix: the transcript hash up to the hello's early_identity field.
        """
        key, iv = self._early_key(static_secret, th_prefix)
        try:
            return EARLY_IDENTITY_AEAD.open(key, iv, b"", sealed)
        except InvalidTag:
            return None

    def finish(self) -> None:
        """Forget what the application phase never needs: handshake secrets, ephemerals."""
        self.c_hs = self.s_hs = b""
        self.server_auth_secret = None
        self.ephemeral.clear()

    def forget(self) -> None:
        """On failure: drop the ephemeral KEM keys and pending KEM secrets at once."""
        self.server_auth_secret = None
        self.ephemeral.clear()
