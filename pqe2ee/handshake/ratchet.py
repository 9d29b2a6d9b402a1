"""The post-quantum ratchet inside a session (docs/protocol.md §9).

Either side sends a ``pq_rekey_share`` (an ephemeral encapsulation key); the other
answers with a ``pq_rekey_ciphertext`` and moves its sending direction to the new
secret at once; the initiator, on the ciphertext, moves its receiving direction, sends
``pq_rekey_switch`` under its old key and then moves its sending direction; the
responder moves its receiving direction after the switch.  Every direction thus changes
key at one record both ends agree on, and application data flows throughout.

Security property (§9.5): the new traffic secrets are Derive-Secret of
``HKDF-Extract(salt = root, ikm = ss)``, so an attacker who learned every secret of the
session and then only watches cannot compute them without breaking the ratchet KEM
(hybrid: both X25519 and ML-KEM), nor reach them by symmetric key updates of the old
secrets.  Limits (§9.4): crossing starts resolve to the client's exchange; a record out
of turn is fatal; more than :data:`MAX_PQ_REKEYS_IN_A_ROW` shares with no application
data between are fatal, so a peer cannot make this side encapsulate without bound.
"""

from __future__ import annotations

import enum
import hashlib

from pqe2ee.exceptions import InvalidInput, LocalProtocolError
from pqe2ee.handshake.keyschedule import derive_secret
from pqe2ee.handshake.record import (
    INNER_PQ_CIPHERTEXT,
    INNER_PQ_SHARE,
    INNER_PQ_SWITCH,
    RecordCipher,
)
from pqe2ee.handshake.state import Alert, Role, fail
from pqe2ee.handshake.suites import KEM_IDS, Suite
from pqe2ee.handshake.transport import Transport
from pqe2ee.hazmat.kdf import hkdf_extract
from pqe2ee.hazmat.kem import KEMPrivateKey, get_kem

__all__ = ["MAX_PQ_REKEYS_IN_A_ROW", "RATCHET_FALLBACK_KEM", "Ratchet", "ratchet_kem"]

#: Shares accepted in a row with no application data between them (§9.4), as for key
#: updates (§7): each costs an encapsulation, so a peer may not ask for them without end.
MAX_PQ_REKEYS_IN_A_ROW = 64

#: The ratchet KEM of a session whose suite has no ML-KEM (§9.1).
RATCHET_FALLBACK_KEM = "X25519MLKEM768"


def ratchet_kem(suite: Suite) -> str:
    """The ratchet KEM of a session: its suite's KEM if that includes ML-KEM, else
    X25519MLKEM768, so a classical session gains a post-quantum secret (§9.1)."""
    return suite.kem if suite.has_pq else RATCHET_FALLBACK_KEM


class Step(enum.Enum):
    """Where this side's ratchet is."""

    IDLE = enum.auto()
    INITIATED = enum.auto()  # our share is out, its ciphertext not yet in
    ANSWERED = enum.auto()  # we sent a ciphertext and switched sending; the switch not yet in


def _u16(data: bytes, pos: int) -> int:
    return int.from_bytes(data[pos : pos + 2], "big")


class Ratchet:
    """One session's ratchet state, over the session's :class:`Transport`.

    :param role: this side's role: it names the direction of each new secret.
    :param suite: the negotiated suite (its AEAD, and its KEM per :func:`ratchet_kem`).
    :param root: ``ratchet_root_0`` of the key schedule (§9.3).
    :param transport: where records are sealed and the new ciphers installed.
    """

    def __init__(self, role: Role, suite: Suite, root: bytes, transport: Transport) -> None:
        self._role = role
        self._aead = suite.aead
        self._kem = get_kem(ratchet_kem(suite))
        self._kem_code = KEM_IDS[self._kem.name][0]
        self._root = root
        self._transport = transport
        self.step = Step.IDLE
        self._private: KEMPrivateKey | None = None
        self._share = b""  # the content of the outstanding share (ours when INITIATED)
        self._next_read: bytes | None = None  # ANSWERED: the peer's next sending secret
        self._ignored_peer_share = False  # a client met the server's crossing share
        #: Completed steps.
        self.completed = 0
        self._sent_at_step = self._received_at_step = 0

    # ------------------------------------------------------------------ properties
    @property
    def in_progress(self) -> bool:
        """Whether an exchange is outstanding (ours, or one we answered)."""
        return self.step is not Step.IDLE

    @property
    def bytes_since_step(self) -> tuple[int, int]:
        """Application bytes ``(sent, received)`` since the last completed step."""
        t = self._transport
        return t.data_sent - self._sent_at_step, t.data_received - self._received_at_step

    # ------------------------------------------------------------------ starting
    def start(self) -> None:
        """Seal a share under the current sending key (data goes on under it).

        :raises LocalProtocolError: an exchange is outstanding, or this would be share
            number 65 in a row with no application data sent between.
        """
        if self.step is not Step.IDLE:
            raise LocalProtocolError("a post-quantum rekey is already in progress")
        t = self._transport
        if t.pq_shares_sent_in_a_row >= MAX_PQ_REKEYS_IN_A_ROW:
            raise LocalProtocolError(
                f"{MAX_PQ_REKEYS_IN_A_ROW} post-quantum rekeys in a row with no data between: "
                "the peer would refuse another before some data"
            )
        private = self._kem.generate()
        public = private.public_key().public_bytes_raw()
        share = self._kem_code.to_bytes(2, "big") + len(public).to_bytes(2, "big") + public
        self._seal(INNER_PQ_SHARE, share)
        t.pq_shares_sent_in_a_row += 1
        self._private, self._share = private, share
        self.step = Step.INITIATED

    # ------------------------------------------------------------------ receiving
    def on_share(self, content: bytes) -> None:
        """The peer's share: answer it, or resolve a crossing start (§9.4).

        :raises Fail: out of turn, malformed, or past the flood bound.
        """
        t = self._transport
        t.pq_shares_received_in_a_row += 1
        if t.pq_shares_received_in_a_row > MAX_PQ_REKEYS_IN_A_ROW:
            raise fail(
                Alert.UNEXPECTED_MESSAGE,
                f"more than {MAX_PQ_REKEYS_IN_A_ROW} post-quantum rekeys with no data between",
            )
        public = self._parse_share(content)
        if self.step is Step.ANSWERED:
            raise fail(
                Alert.UNEXPECTED_MESSAGE, "a second post-quantum rekey share before the switch"
            )
        if self.step is Step.INITIATED:
            if self._role is Role.CLIENT:
                # crossing starts: the client's exchange wins, the server will answer it
                if self._ignored_peer_share:
                    raise fail(
                        Alert.UNEXPECTED_MESSAGE,
                        "a second post-quantum rekey share while ours is outstanding",
                    )
                self._ignored_peer_share = True
                return
            self._forget_private()  # the server abandons its own share
            self.step = Step.IDLE
        if t.send_closed:
            return  # this side sends nothing more: the step cannot complete
        try:
            ss, ciphertext = self._kem.from_public_bytes(public).encapsulate()
        except InvalidInput as exc:
            raise fail(Alert.DECODE_ERROR, f"bad post-quantum rekey share: {exc}") from None
        ct = len(ciphertext).to_bytes(2, "big") + ciphertext
        self._seal(INNER_PQ_CIPHERTEXT, ct)
        send, receive = self._derive(ss, content, ct)
        t.write = RecordCipher(self._aead, send)
        self._next_read = receive
        self.step = Step.ANSWERED

    def on_ciphertext(self, content: bytes) -> None:
        """The answer to our share: switch receiving now, send the switch, switch sending.

        :raises Fail: no share of ours is outstanding, or the ciphertext is malformed.
        """
        if self.step is not Step.INITIATED or self._private is None:
            raise fail(
                Alert.UNEXPECTED_MESSAGE, "a post-quantum rekey ciphertext with no share out"
            )
        if len(content) < 2 or _u16(content, 0) != len(content) - 2:
            raise fail(Alert.DECODE_ERROR, "malformed post-quantum rekey ciphertext")
        try:
            ss = self._private.decapsulate(content[2:])
        except InvalidInput as exc:
            raise fail(Alert.DECODE_ERROR, f"bad post-quantum rekey ciphertext: {exc}") from None
        share = self._share
        self._forget_private()  # the private key goes as soon as the secret exists
        send, receive = self._derive(ss, share, content)
        t = self._transport
        t.read = RecordCipher(self._aead, receive)
        if not t.send_closed:
            self._seal(INNER_PQ_SWITCH, b"")
            t.write = RecordCipher(self._aead, send)
        self._completed()

    def on_switch(self, content: bytes) -> None:
        """The initiator switched its sending direction: switch our receiving one.

        :raises Fail: no answered exchange, or the record has content.
        """
        if self.step is not Step.ANSWERED or self._next_read is None:
            raise fail(Alert.UNEXPECTED_MESSAGE, "a post-quantum rekey switch with no exchange")
        if content:
            raise fail(Alert.DECODE_ERROR, "post-quantum rekey switch with content")
        self._transport.read = RecordCipher(self._aead, self._next_read)
        self._next_read = None
        self._completed()

    def forget(self) -> None:
        """Drop every secret (the connection failed)."""
        self._forget_private()
        self._next_read = None
        self._root = b""

    # ------------------------------------------------------------------ plumbing
    def _parse_share(self, content: bytes) -> bytes:
        if len(content) < 4 or _u16(content, 2) != len(content) - 4:
            raise fail(Alert.DECODE_ERROR, "malformed post-quantum rekey share")
        kem = _u16(content, 0)
        if kem != self._kem_code:
            raise fail(
                Alert.DECODE_ERROR,
                f"post-quantum rekey share for KEM 0x{kem:04x}; this session ratchets with "
                f"{self._kem.name} (0x{self._kem_code:04x})",
            )
        if len(content) - 4 != self._kem.public_key_size:
            raise fail(Alert.DECODE_ERROR, "post-quantum rekey share has the wrong key length")
        return content[4:]

    def _seal(self, inner: int, content: bytes) -> None:
        t = self._transport
        assert t.write is not None
        if t.write.needs_update:  # a control record may not run past the key's limit
            t.send_key_update(request_peer=False)
        t.out.append(t.write.seal(inner, content))

    def _derive(self, ss: bytes, share: bytes, ciphertext: bytes) -> tuple[bytes, bytes]:
        """``(sending, receiving)`` secrets of the next step, advancing the root (§9.3)."""
        root = hkdf_extract(self._root, ss)
        h = hashlib.sha256(share + ciphertext).digest()
        c_ap = derive_secret(root, "c ap traffic", h)
        s_ap = derive_secret(root, "s ap traffic", h)
        self._root = root
        return (c_ap, s_ap) if self._role is Role.CLIENT else (s_ap, c_ap)

    def _forget_private(self) -> None:
        self._private = None
        self._share = b""

    def _completed(self) -> None:
        self.step = Step.IDLE
        self._ignored_peer_share = False
        self.completed += 1
        t = self._transport
        self._sent_at_step, self._received_at_step = t.data_sent, t.data_received
