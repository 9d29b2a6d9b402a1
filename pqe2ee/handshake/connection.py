"""The sans-IO protocol core: :class:`Connection`, a state machine over bytes.

It never touches a socket.  Feed it what arrived (:meth:`Connection.receive_data`), ask
for events (:meth:`Connection.next_event`), hand it data to protect
(:meth:`Connection.send_data`) and write out what it produced
(:meth:`Connection.data_to_send`).  States are an :class:`enum.Enum`; the transition
table lists, per state, the one handshake message accepted there.  Anything else moves
the connection to ``ERROR``, queues an alert for the peer and raises
:class:`~pqe2ee.exceptions.RemoteProtocolError` (misuse by the caller raises
:class:`~pqe2ee.exceptions.LocalProtocolError`).  A rejected message changes no key,
emits no event and releases no plaintext.
"""

from __future__ import annotations

import enum
import hmac
import os
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pqe2ee.exceptions import (
    DowngradeError,
    IdentityRejected,
    InvalidInput,
    InvalidSignature,
    LocalProtocolError,
    Pqe2eeError,
    RemoteProtocolError,
    TrustStoreError,
    UnauthenticatedAlert,
)
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.config import Config
from pqe2ee.handshake.events import (
    NEED_DATA,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeComplete,
)
from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.keyschedule import KeySchedule, Transcript, export, finished_mac
from pqe2ee.handshake.record import (
    CT_ALERT,
    CT_ENCRYPTED,
    CT_HANDSHAKE,
    INNER_ALERT,
    INNER_CLOSE,
    INNER_DATA,
    INNER_HANDSHAKE,
    INNER_KEY_UPDATE,
    MAX_PLAINTEXT,
    FrameError,
    FrameReader,
    RecordCipher,
    RecordState,
    plain_frame,
)
from pqe2ee.handshake.suites import KEM_IDS, Suite
from pqe2ee.hazmat.kem import KEMPrivateKey, get_kem

__all__ = ["Alert", "Connection", "FixedRandomness", "Role", "State"]


class Role(enum.Enum):
    CLIENT = "client"
    SERVER = "server"


class State(enum.Enum):
    """Where a connection is.  ``CONNECTED`` carries application data both ways."""

    CLIENT_WAIT_SH = enum.auto()
    CLIENT_WAIT_EE = enum.auto()
    CLIENT_WAIT_IDENTITY = enum.auto()
    CLIENT_WAIT_IDENTITY_VERIFY = enum.auto()
    CLIENT_WAIT_FINISHED = enum.auto()
    SERVER_WAIT_CH = enum.auto()
    SERVER_WAIT_CH2 = enum.auto()
    SERVER_WAIT_IDENTITY = enum.auto()
    SERVER_WAIT_IDENTITY_VERIFY = enum.auto()
    SERVER_WAIT_FINISHED = enum.auto()
    CONNECTED = enum.auto()
    CLOSED = enum.auto()
    ERROR = enum.auto()


class Alert(enum.IntEnum):
    """Alert codes (docs/protocol.md §7)."""

    HANDSHAKE_FAILURE = 1
    NO_COMMON_SUITE = 2
    DOWNGRADE = 3
    IDENTITY_REFUSED = 4
    DECODE_ERROR = 5
    BAD_RECORD_MAC = 6
    INTERNAL_ERROR = 7
    UNKNOWN_PSK = 8
    UNEXPECTED_MESSAGE = 9


@dataclass(frozen=True)
class FixedRandomness:
    """Test-only: fixed randoms and KEM randomness, for known-answer transcripts.

    Reusing these outside a test destroys every security property of the handshake.
    """

    random: bytes
    kem_seed: bytes = b""
    encaps_randomness: bytes = b""


#: Key updates accepted in a row with no application data between them (§8): an honest
#: peer updates once per 2^24 records, or when its application asks; more is a flood.
MAX_KEY_UPDATES_IN_A_ROW = 64

_SERVER_CONTEXT = b" " * 64 + b"pqe2ee v1, server IdentityVerify\x00"
_CLIENT_CONTEXT = b" " * 64 + b"pqe2ee v1, client IdentityVerify\x00"

_Handler = Callable[["Connection", bytes, bytes], None]


class _Fail(Exception):
    def __init__(self, alert: Alert, message: str, cls: type[RemoteProtocolError]) -> None:
        super().__init__(message)
        self.alert = alert
        self.cls = cls


def _fail(
    alert: Alert, message: str, cls: type[RemoteProtocolError] = RemoteProtocolError
) -> _Fail:
    return _Fail(alert, message, cls)


class Connection:
    """One side of one pqe2ee connection.

    :param config: identity, policy, pins, optional PSK and channel binding.
    :param role: ``"client"`` (sends the first flight at once) or ``"server"``.
    """

    def __init__(
        self,
        config: Config,
        role: Role | str,
        *,
        fixed_randomness_for_testing_only: FixedRandomness | None = None,
    ) -> None:
        self.role = Role(role)
        self.config = config
        config.check_for(self.role.value)
        self._fixed = fixed_randomness_for_testing_only
        self._reader = FrameReader()
        self._out: list[bytes | bytearray] = []
        self._flight: list[bytes] = []  # encrypted handshake messages not yet sealed
        self._pending_control: tuple[int, bytes] | None = None
        self._events: deque[Event] = deque()
        self._transcript = Transcript(config.channel_binding)
        self._schedule = KeySchedule(config.psk)
        self._read: RecordCipher | None = None
        self._write: RecordCipher | None = None
        self._error: Pqe2eeError | None = None
        self._eof = False
        self._send_closed = False
        self._exporter: bytes | None = None
        self.suite: Suite | None = None
        self.peer_identity: PublicIdentity | None = None
        self._retried = False
        self._hrr_suite: tuple[int, int, int] | None = None
        self._key_updates_in_a_row = 0  # received, no data between
        self._key_updates_sent_in_a_row = 0  # sent, no data between
        self._update_answered = False  # a requested key update was sent, no data since
        self._ephemeral: dict[int, KEMPrivateKey] = {}
        self._first_hello: m.ClientHello | None = None
        self._want_client_identity = False
        self._peer_kind_claim: PublicIdentity | None = None
        self._c_hs = self._s_hs = self._c_ap = self._s_ap = b""
        self._done = False
        if self.role is Role.CLIENT:
            self.state = State.CLIENT_WAIT_SH
            self._send_client_hello()
        else:
            self.state = State.SERVER_WAIT_CH

    # ------------------------------------------------------------------ public API
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes that arrived from the peer; empty means the stream ended.

        The bytes are copied: the caller may reuse its buffer at once.
        """
        if self._error is not None:
            raise self._error
        if data:
            self._reader.feed(data)
        else:
            self._eof = True

    def next_event(self) -> Event | Any:
        """The next event, or :data:`NEED_DATA` when more bytes are needed.

        :raises RemoteProtocolError: the peer broke the protocol (and subclasses:
            :class:`DowngradeError`, :class:`IdentityRejected`); the connection is dead.
        """
        if self._error is not None:
            raise self._error
        while not self._events:
            try:
                progressed = self._process_one_frame()
            except _Fail as fail:
                raise self._die(fail) from None
            if not progressed:
                if self._eof and self.state is not State.CLOSED:
                    raise self._die(self._eof_failure()) from None
                return NEED_DATA
        return self._events.popleft()

    def send_data(self, data: bytes) -> None:
        """Protect ``data`` as application records (handshake must be complete)."""
        if self._error is not None:
            raise LocalProtocolError(f"connection failed earlier: {self._error}")
        if not self._can_send():
            raise LocalProtocolError(
                f"cannot send application data in state {self.state.name}"
                + (" after close()" if self._send_closed else "")
            )
        assert self._write is not None
        view = memoryview(data)
        start = 0
        while start < len(view):
            if self._write.needs_update:
                self.update_keys()
            # as many records as the key may still seal, in one buffer
            end = min(len(view), start + self._write.records_left() * MAX_PLAINTEXT)
            self._out.append(self._write.seal_many(INNER_DATA, view[start:end]))
            self._update_answered = False
            self._key_updates_sent_in_a_row = 0
            start = end

    def update_keys(self, *, request_peer: bool = False) -> None:
        """Send a key update and move this direction to the next key.

        :raises LocalProtocolError: the connection is not established and open, or this
            would be key update number 65 in a row with no application data sent between
            (the peer refuses more as a flood: send data first).
        """
        if not self._can_send():
            raise LocalProtocolError("key update needs a connected, open connection")
        if self._key_updates_sent_in_a_row >= MAX_KEY_UPDATES_IN_A_ROW:
            raise LocalProtocolError(
                f"{MAX_KEY_UPDATES_IN_A_ROW} key updates in a row with no data between: "
                "the peer would refuse another before some data"
            )
        self._key_updates_sent_in_a_row += 1
        assert self._write is not None
        self._out.append(self._write.seal(INNER_KEY_UPDATE, bytes([int(request_peer)])))
        self._write.update()

    def data_to_send(self) -> bytes:
        """Everything produced since the last call (write it to the peer)."""
        out = self._out[0] if len(self._out) == 1 else b"".join(self._out)
        self._out = []
        return out if isinstance(out, bytes) else bytes(out)

    def pop_output(self) -> list[bytes | bytearray]:
        """What :meth:`data_to_send` would return, as the buffers it is made of, without
        joining them (for adapters that write each buffer to a socket as it is)."""
        out, self._out = self._out, []
        return out

    def close(self) -> None:
        """Send the authenticated close: this side sends nothing more.

        Before the handshake completes there is no key to close with; the connection
        just stops (the peer sees truncation).  Closing twice is harmless.
        """
        if self._send_closed or self._error is not None:
            return
        if self._can_send():
            assert self._write is not None
            self._out.append(self._write.seal(INNER_CLOSE, b""))
        self._send_closed = True

    def _can_send(self) -> bool:
        """Handshake done, this direction not closed (the peer's may be: half-close)."""
        return (
            self._done
            and not self._send_closed
            and self._error is None
            and self.state in (State.CONNECTED, State.CLOSED)
        )

    def export_keying_material(self, label: str, context: bytes, length: int) -> bytes:
        """Keys bound to this session for the caller's own use (RFC 8446 §7.5 style).

        :raises InvalidInput: ``label`` too long or ``length`` outside 1..8160.
        :raises LocalProtocolError: the handshake has not completed.
        """
        if self._exporter is None:
            raise LocalProtocolError("the handshake has not completed")
        return export(self._exporter, label, context, length)

    @property
    def handshake_complete(self) -> bool:
        """Whether :class:`HandshakeComplete` has been emitted."""
        return self._done

    # ------------------------------------------------------------------ bulk data path
    def lend_records(self) -> tuple[RecordState | None, RecordState | None, bytes]:
        """Lend the application-data record state to a data path outside this object
        (the C socket pump, :mod:`pqe2ee.io.splice`), which then seals and opens the
        application-data records itself.

        Everything else goes on through this object: the borrower feeds it every record
        that is not application data (:meth:`receive_data`, :meth:`next_event`), asks it
        for key updates and the close, and reports what it used with
        :meth:`return_records` before each of those calls.  Lend again after them: a key
        update changes the keys.

        :returns: ``(send, receive, unprocessed)``: the sending direction's state (None
            once this side has closed), the receiving direction's (None once the peer
            has), and the bytes received but not processed yet, which now belong to the
            borrower and come before anything it reads.
        :raises LocalProtocolError: the handshake is not complete, the connection failed,
            or events are still waiting to be read.
        """
        if not self._done or self._error is not None or self.state is State.ERROR:
            raise LocalProtocolError("only an established, healthy connection can be lent")
        if self._events or self._pending_control is not None:
            raise LocalProtocolError("read the waiting events before lending the records")
        assert self._write is not None
        assert self._read is not None
        send = self._write.lend(sending=True) if self._can_send() else None
        receive = self._read.lend(sending=False) if self.state is State.CONNECTED else None
        with self._reader.unread() as view:
            unprocessed = bytes(view)
        self._reader.advance(len(unprocessed))
        return send, receive, unprocessed

    def return_records(self, sent: tuple[int, int], received: tuple[int, int]) -> None:
        """Count what the borrower of :meth:`lend_records` sealed and opened since it
        last reported: ``(records, content bytes)`` each way."""
        if self._write is None or self._read is None:
            raise LocalProtocolError("nothing was lent")
        self._write.advance(*sent)
        self._read.advance(*received)
        if sent[0]:
            self._update_answered = False
            self._key_updates_sent_in_a_row = 0
        if received[0]:
            self._key_updates_in_a_row = 0

    # ------------------------------------------------------------------ plumbing
    def _die(self, fail: _Fail) -> RemoteProtocolError:
        self.state = State.ERROR
        self._queue_alert(fail.alert)
        error = fail.cls(str(fail), alert=int(fail.alert))
        self._error = error
        self._ephemeral.clear()
        return error

    def _queue_alert(self, alert: Alert) -> None:
        if self._send_closed:
            return
        if self._write is not None:
            self._out.append(self._write.seal(INNER_ALERT, bytes([alert])))
        else:
            self._out.append(plain_frame(CT_ALERT, bytes([alert])))
        self._send_closed = True

    def _eof_failure(self) -> _Fail:
        if self.state is State.CONNECTED:
            return _fail(
                Alert.DECODE_ERROR,
                "connection truncated: the peer's stream ended without a close record",
            )
        return _fail(
            Alert.HANDSHAKE_FAILURE,
            f"peer closed the connection during the handshake ({self.state.name})",
        )

    def _process_one_frame(self) -> bool:
        if self._pending_control is not None:
            # a control record opened in bulk behind data that has now been handed out
            pending, self._pending_control = self._pending_control, None
            self._on_record(*pending)
            return True
        ctype = self._reader.peek_type()
        if self._read is not None and ctype is not None and ctype != CT_ENCRYPTED:
            # fatal at its first byte: waiting for the body of a frame that can never be
            # valid would let anyone on the path stall the connection with four bytes
            raise _fail(
                Alert.UNEXPECTED_MESSAGE,
                f"a frame of content type 0x{ctype:02x} after keys were set "
                "(only encrypted records may follow)",
            )
        if (
            self.state is State.CONNECTED
            and self._read is not None
            and self._read.bulk
            and ctype == CT_ENCRYPTED
            and self._read.bulk_within_limits(self._reader.buffered)
        ):
            try:
                opened = self._read.open_many(self._reader)
            except FrameError as exc:
                raise _fail(Alert.DECODE_ERROR, str(exc)) from None
            if opened is not None:
                data, control = opened
                if data:
                    self._key_updates_in_a_row = 0
                    self._events.append(DataReceived(data))
                    # hand the data out before the control record acts (an alert would
                    # otherwise raise with authenticated data still queued), as the
                    # one-record path does
                    self._pending_control = control
                elif control is not None:
                    self._on_record(*control)
                return True
        try:
            frame = next(self._reader.frames(), None)
        except FrameError as exc:
            raise _fail(Alert.DECODE_ERROR, str(exc)) from None
        if frame is None:
            return False
        ctype, header, payload = frame
        try:
            self._dispatch_frame(ctype, header, payload)
        finally:
            payload.release()  # the reader's buffer may grow again only after this
        return True

    def _dispatch_frame(self, ctype: int, header: bytes, payload: memoryview) -> None:
        # plaintext frames after keys were refused at their first byte (_process_one_frame)
        if ctype == CT_ALERT:
            self._on_alert(bytes(payload))
        elif ctype == CT_HANDSHAKE:
            self._on_handshake_bytes(bytes(payload), encrypted=False)
        else:
            if self._read is None:
                raise _fail(Alert.UNEXPECTED_MESSAGE, "encrypted record before keys were set")
            try:
                inner, content = self._read.open(header, payload)
            except FrameError as exc:
                raise _fail(Alert.BAD_RECORD_MAC, str(exc)) from None
            over = self._read.check_received(inner, len(content))
            if over is not None:
                raise _fail(Alert.UNEXPECTED_MESSAGE, over)
            self._on_record(inner, content)

    def _on_alert(self, payload: bytes) -> None:
        code = payload[0] if len(payload) == 1 else 0
        try:
            name = Alert(code).name.lower().replace("_", " ")
        except ValueError:
            name = f"unknown alert {code}"
        self.state = State.ERROR
        if not self._done:
            # in the clear, or under handshake keys an active attacker may share: nothing
            # says the peer sent it, so its reason is not taken for the peer's verdict
            self._error = UnauthenticatedAlert(
                f"the handshake was aborted with alert '{name}', which is not authenticated:"
                " the peer or anyone on the path may have sent it",
                alert=code,
            )
            raise self._error
        cls: type[RemoteProtocolError] = RemoteProtocolError
        if code == Alert.DOWNGRADE:
            cls = DowngradeError
        elif code == Alert.IDENTITY_REFUSED:
            cls = IdentityRejected
        self._error = cls(f"the peer aborted: {name}", alert=code)
        raise self._error

    def _on_record(self, inner: int, content: bytes) -> None:
        if inner == INNER_HANDSHAKE:
            self._on_handshake_bytes(content, encrypted=True)
        elif inner == INNER_ALERT:
            self._on_alert(content)
        elif self.state not in (State.CONNECTED, State.CLOSED):
            raise _fail(Alert.UNEXPECTED_MESSAGE, f"record type 0x{inner:02x} during the handshake")
        elif self.state is State.CLOSED:
            raise _fail(Alert.UNEXPECTED_MESSAGE, "record after the peer's close")
        elif inner == INNER_DATA:
            if content:  # empty records do not count as data between key updates
                self._key_updates_in_a_row = 0
                self._events.append(DataReceived(content))
        elif inner == INNER_KEY_UPDATE:
            if len(content) != 1 or content[0] > 1:
                raise _fail(Alert.DECODE_ERROR, "malformed key update")
            self._key_updates_in_a_row += 1
            if self._key_updates_in_a_row > MAX_KEY_UPDATES_IN_A_ROW:
                raise _fail(
                    Alert.UNEXPECTED_MESSAGE,
                    f"more than {MAX_KEY_UPDATES_IN_A_ROW} key updates with no data between",
                )
            assert self._read is not None
            self._read.update()
            # one answer however many requests arrive while this side sends nothing
            # (RFC 8446 §4.6.3): a peer cannot make it queue a record per record it sends
            if (
                content[0]
                and not self._send_closed
                and not self._update_answered
                and self._key_updates_sent_in_a_row < MAX_KEY_UPDATES_IN_A_ROW
            ):
                self.update_keys()
                self._update_answered = True
        elif inner == INNER_CLOSE:
            if content:
                raise _fail(Alert.DECODE_ERROR, "close record with content")
            self.state = State.CLOSED
            self._events.append(ConnectionClosed())
        else:  # from the bulk path, behind the data it has handed out
            raise _fail(Alert.BAD_RECORD_MAC, f"unknown inner record type 0x{inner:02x}")

    def _on_handshake_bytes(self, data: bytes, *, encrypted: bool) -> None:
        pos = 0
        if not data:
            raise _fail(Alert.DECODE_ERROR, "empty handshake frame")
        while pos < len(data):
            if pos + 4 > len(data):
                raise _fail(Alert.DECODE_ERROR, "handshake message header is truncated")
            msg_type = data[pos]
            length = int.from_bytes(data[pos + 1 : pos + 4], "big")
            if pos + 4 + length > len(data):
                raise _fail(Alert.DECODE_ERROR, "handshake message runs past its record")
            whole = data[pos : pos + 4 + length]
            body = whole[4:]
            pos += 4 + length
            if not encrypted and pos != len(data):
                raise _fail(Alert.DECODE_ERROR, "plaintext frame carries more than one message")
            handler = _TRANSITIONS.get((self.state, msg_type))
            if handler is None:
                raise _fail(
                    Alert.UNEXPECTED_MESSAGE,
                    f"unexpected handshake message {msg_type} in state {self.state.name}",
                )
            if encrypted != (msg_type not in _PLAINTEXT_MESSAGES):
                raise _fail(
                    Alert.UNEXPECTED_MESSAGE, f"handshake message {msg_type} in the wrong layer"
                )
            try:
                handler(self, whole, body)
            except m.DecodeError as exc:
                raise _fail(Alert.DECODE_ERROR, str(exc)) from None
            except InvalidInput as exc:
                raise _fail(Alert.DECODE_ERROR, str(exc)) from None

    def _send_handshake(self, message: bytes) -> None:
        """Add to the transcript and queue: in the clear, one message per frame, or under
        the write key, where a flight's messages share one record (see _end_flight)."""
        self._transcript.add(message)
        if self._write is None:
            self._out.append(plain_frame(CT_HANDSHAKE, message))
        else:
            self._flight.append(message)

    def _end_flight(self) -> None:
        """Seal the encrypted messages of this flight together, before the key changes."""
        if self._flight:
            assert self._write is not None
            # a flight is a few KB; one record keeps every message whole (§7)
            assert sum(map(len, self._flight)) <= MAX_PLAINTEXT
            self._out.append(self._write.seal_many(INNER_HANDSHAKE, b"".join(self._flight)))
            self._flight = []

    def _random(self) -> bytes:
        return self._fixed.random if self._fixed else os.urandom(32)

    # ------------------------------------------------------------------ client side
    def _send_client_hello(self, only_kem: str | None = None) -> None:
        policy = self.config.policy
        suites = policy.effective_suites()
        kems = [only_kem] if only_kem else policy.share_kems()
        shares = []
        for kem_name in kems:
            kem = get_kem(kem_name)
            if self._fixed and self._fixed.kem_seed:
                key = kem.from_seed_bytes(self._fixed.kem_seed)
            else:
                key = kem.generate()
            code = KEM_IDS[kem_name][0]
            self._ephemeral[code] = key
            shares.append((code, key.public_key().public_bytes_raw()))
        hello = m.ClientHello(
            random=self._first_hello.random if self._first_hello else self._random(),
            suites=tuple(s.codes for s in suites),
            key_shares=tuple(shares),
            psk_identity=self.config.psk_identity,
        )
        if self._first_hello is None:
            self._first_hello = hello
        self._send_handshake(hello.encode())

    def _client_on_retry(self, whole: bytes, body: bytes) -> None:
        hrr = m.HelloRetryRequest.decode(body)
        assert self._first_hello is not None
        suite = Suite.from_codes(*hrr.suite)
        self._hrr_suite = hrr.suite
        if self._retried or suite is None or hrr.suite not in self._first_hello.suites:
            raise _fail(
                Alert.HANDSHAKE_FAILURE, "server asked to retry with a suite we did not offer"
            )
        if KEM_IDS[suite.kem][0] in self._ephemeral:
            raise _fail(
                Alert.HANDSHAKE_FAILURE, "server asked to retry for a KEM we sent a share for"
            )
        self._retried = True
        self._transcript.add(whole)
        self._ephemeral.clear()
        self._send_client_hello(only_kem=suite.kem)

    def _client_on_server_hello(self, whole: bytes, body: bytes) -> None:
        sh = m.ServerHello.decode(body)
        assert self._first_hello is not None
        suite = Suite.from_codes(*sh.suite)
        if suite is None or sh.suite not in self._first_hello.suites:
            raise _fail(Alert.HANDSHAKE_FAILURE, "server chose a suite we did not offer")
        if self._hrr_suite is not None and sh.suite != self._hrr_suite:
            raise _fail(
                Alert.HANDSHAKE_FAILURE,
                "server chose another suite than the one its HelloRetryRequest asked for",
            )
        if self.config.policy.require_pq and not suite.has_pq:
            raise _fail(
                Alert.DOWNGRADE, f"server chose {suite}, which has no ML-KEM", DowngradeError
            )
        key = self._ephemeral.get(KEM_IDS[suite.kem][0])
        if key is None:
            raise _fail(Alert.HANDSHAKE_FAILURE, "server chose a KEM we sent no share for")
        try:
            kem_secret = key.decapsulate(sh.ciphertext)
        except InvalidInput as exc:
            raise _fail(Alert.HANDSHAKE_FAILURE, f"bad KEM ciphertext: {exc}") from None
        self._ephemeral.clear()  # forward secrecy: the ephemeral key is no longer needed
        self.suite = suite
        self._transcript.add(whole)
        self._c_hs, self._s_hs = self._schedule.handshake_secrets(
            kem_secret, self._transcript.digest()
        )
        self._read = RecordCipher(suite.aead, self._s_hs)
        self._write = RecordCipher(suite.aead, self._c_hs)
        self.state = State.CLIENT_WAIT_EE

    def _client_on_extensions(self, whole: bytes, body: bytes) -> None:
        ee = m.EncryptedExtensions.decode(body)
        self._want_client_identity = ee.require_client_identity
        self._transcript.add(whole)
        self.state = State.CLIENT_WAIT_IDENTITY

    def _on_identity(self, whole: bytes, body: bytes) -> None:
        identity = PublicIdentity.decode(body)
        assert self.suite is not None
        if self.role is Role.CLIENT:
            if identity.kind is not self.suite.auth:
                raise _fail(
                    Alert.IDENTITY_REFUSED,
                    f"server identity is {identity.kind.value}, "
                    f"the suite says {self.suite.auth.value}",
                    IdentityRejected,
                )
        elif (
            self.suite.auth.post_quantum
            and not identity.kind.post_quantum
            and not self.config.policy.allow_classical_client_identity
        ):
            # mutual authentication is only as post-quantum as its weaker signature
            raise _fail(
                Alert.IDENTITY_REFUSED,
                f"client identity is {identity.kind.value} (classical), and this server "
                f"authenticates with {self.suite.auth.value}: a post-quantum client identity "
                "is required (Policy.allow_classical_client_identity allows it)",
                IdentityRejected,
            )
        self._peer_kind_claim = identity
        self._transcript.add(whole)
        self.state = (
            State.CLIENT_WAIT_IDENTITY_VERIFY
            if self.role is Role.CLIENT
            else State.SERVER_WAIT_IDENTITY_VERIFY
        )

    def _on_identity_verify(self, whole: bytes, body: bytes) -> None:
        iv = m.IdentityVerify.decode(body)
        identity = self._peer_kind_claim
        assert identity is not None
        context = _SERVER_CONTEXT if self.role is Role.CLIENT else _CLIENT_CONTEXT
        try:
            identity.verify(context + self._transcript.digest(), iv.signatures)
        except InvalidSignature as exc:
            raise _fail(
                Alert.IDENTITY_REFUSED, f"peer signature: {exc}", IdentityRejected
            ) from None
        try:
            self.config.accept_peer(identity)
        except IdentityRejected as exc:
            raise _fail(Alert.IDENTITY_REFUSED, str(exc), type(exc)) from None
        except TrustStoreError as exc:  # fail closed: a peer we could not check or record
            raise _fail(Alert.INTERNAL_ERROR, str(exc), TrustStoreError) from None
        self.peer_identity = identity
        self._transcript.add(whole)
        self.state = (
            State.CLIENT_WAIT_FINISHED if self.role is Role.CLIENT else State.SERVER_WAIT_FINISHED
        )

    def _client_on_finished(self, whole: bytes, body: bytes) -> None:
        fin = m.Finished.decode(body)
        expected = finished_mac(self._s_hs, self._transcript.digest())
        if not hmac.compare_digest(fin.verify_data, expected):
            raise _fail(Alert.HANDSHAKE_FAILURE, "server Finished does not verify")
        self._transcript.add(whole)
        assert self.suite is not None
        self._c_ap, self._s_ap, self._exporter = self._schedule.application_secrets(
            self._transcript.digest()
        )
        identity = self.config.identity
        if self._want_client_identity and identity is not None:
            self._send_handshake(m.frame_message(m.MSG_IDENTITY, identity.public().encode()))
            sigs = identity.sign(_CLIENT_CONTEXT + self._transcript.digest())
            self._send_handshake(m.IdentityVerify(tuple(sigs)).encode())
        self._send_handshake(
            m.Finished(finished_mac(self._c_hs, self._transcript.digest())).encode()
        )
        self._end_flight()
        self._read = RecordCipher(self.suite.aead, self._s_ap)
        self._write = RecordCipher(self.suite.aead, self._c_ap)
        self._complete()

    def _complete(self) -> None:
        assert self.suite is not None
        self.state = State.CONNECTED
        self._done = True
        self._c_hs = self._s_hs = b""
        self._events.append(HandshakeComplete(self.suite, self.peer_identity, self._retried))

    # ------------------------------------------------------------------ server side
    def _choose(self, hello: m.ClientHello) -> tuple[Suite, bool]:
        """The server's pick, and whether the client sent a share for its KEM.

        The server's own order decides.  To save a round trip it takes a later suite the
        client has a share for, but only one of the same mode: never a weaker key
        exchange just to avoid a HelloRetryRequest.
        """
        offered = set(hello.suites)
        identity = self.config.identity
        assert identity is not None
        policy = self.config.policy
        candidates = [
            s for s in policy.effective_suites() if s.codes in offered and s.auth is identity.kind
        ]
        if not candidates:
            common = [s for s in policy.suites if s.codes in offered and s.auth is identity.kind]
            if policy.require_pq and common:
                raise _fail(
                    Alert.DOWNGRADE,
                    "client offered no suite with ML-KEM and require_pq is set",
                    DowngradeError,
                )
            raise _fail(Alert.NO_COMMON_SUITE, "no suite in common with the client")
        shares = {kem for kem, _ in hello.key_shares}
        best = candidates[0]
        for suite in candidates:
            if suite.mode == best.mode and KEM_IDS[suite.kem][0] in shares:
                return suite, True
        return best, False

    def _server_on_client_hello(self, whole: bytes, body: bytes) -> None:
        hello = m.ClientHello.decode(body)
        if self._first_hello is not None:
            first = self._first_hello
            if (
                hello.suites != first.suites
                or hello.psk_identity != first.psk_identity
                or hello.random != first.random
            ):
                raise _fail(Alert.HANDSHAKE_FAILURE, "second ClientHello differs from the first")
        if hello.psk_identity != self.config.psk_identity:
            raise _fail(
                Alert.UNKNOWN_PSK, "client names a pre-shared key this server does not hold"
            )
        suite, has_share = self._choose(hello)
        if not has_share:
            if self._retried:
                raise _fail(Alert.HANDSHAKE_FAILURE, "second ClientHello lacks the requested share")
            self._retried = True
            self._first_hello = hello
            self._transcript.add(whole)
            self._send_handshake(m.HelloRetryRequest(suite.codes).encode())
            self.state = State.SERVER_WAIT_CH2
            return
        self._transcript.add(whole)
        kem = get_kem(suite.kem)
        pk = dict(hello.key_shares)[KEM_IDS[suite.kem][0]]
        try:
            if self._fixed and self._fixed.encaps_randomness:
                kem_secret, ct = kem.encapsulate_derand_for_testing_only(
                    pk, self._fixed.encaps_randomness
                )
            else:
                kem_secret, ct = kem.from_public_bytes(pk).encapsulate()
        except InvalidInput as exc:
            raise _fail(Alert.HANDSHAKE_FAILURE, f"bad key share: {exc}") from None
        self.suite = suite
        self._send_handshake(m.ServerHello(self._random(), suite.codes, ct).encode())
        self._c_hs, self._s_hs = self._schedule.handshake_secrets(
            kem_secret, self._transcript.digest()
        )
        self._write = RecordCipher(suite.aead, self._s_hs)
        self._read = RecordCipher(suite.aead, self._c_hs)
        identity = self.config.identity
        assert identity is not None
        self._want_client_identity = self.config.require_client_identity
        self._send_handshake(m.EncryptedExtensions(self._want_client_identity).encode())
        self._send_handshake(m.frame_message(m.MSG_IDENTITY, identity.public().encode()))
        sigs = identity.sign(_SERVER_CONTEXT + self._transcript.digest())
        self._send_handshake(m.IdentityVerify(tuple(sigs)).encode())
        self._send_handshake(
            m.Finished(finished_mac(self._s_hs, self._transcript.digest())).encode()
        )
        self._end_flight()
        self._c_ap, self._s_ap, self._exporter = self._schedule.application_secrets(
            self._transcript.digest()
        )
        self._write = RecordCipher(suite.aead, self._s_ap)
        self.state = (
            State.SERVER_WAIT_IDENTITY if self._want_client_identity else State.SERVER_WAIT_FINISHED
        )

    def _server_missing_identity(self, whole: bytes, body: bytes) -> None:
        raise _fail(
            Alert.IDENTITY_REFUSED,
            "client sent no identity, and this server requires one",
            IdentityRejected,
        )

    def _server_on_finished(self, whole: bytes, body: bytes) -> None:
        fin = m.Finished.decode(body)
        expected = finished_mac(self._c_hs, self._transcript.digest())
        if not hmac.compare_digest(fin.verify_data, expected):
            raise _fail(Alert.HANDSHAKE_FAILURE, "client Finished does not verify")
        self._transcript.add(whole)
        assert self.suite is not None
        self._read = RecordCipher(self.suite.aead, self._c_ap)
        self._complete()


_PLAINTEXT_MESSAGES = frozenset({m.MSG_CLIENT_HELLO, m.MSG_HELLO_RETRY, m.MSG_SERVER_HELLO})

#: (state, message type) -> handler.  Nothing else is accepted anywhere.
_TRANSITIONS: dict[tuple[State, int], _Handler] = {
    (State.CLIENT_WAIT_SH, m.MSG_HELLO_RETRY): Connection._client_on_retry,
    (State.CLIENT_WAIT_SH, m.MSG_SERVER_HELLO): Connection._client_on_server_hello,
    (State.CLIENT_WAIT_EE, m.MSG_ENCRYPTED_EXTENSIONS): Connection._client_on_extensions,
    (State.CLIENT_WAIT_IDENTITY, m.MSG_IDENTITY): Connection._on_identity,
    (State.CLIENT_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): Connection._on_identity_verify,
    (State.CLIENT_WAIT_FINISHED, m.MSG_FINISHED): Connection._client_on_finished,
    (State.SERVER_WAIT_CH, m.MSG_CLIENT_HELLO): Connection._server_on_client_hello,
    (State.SERVER_WAIT_CH2, m.MSG_CLIENT_HELLO): Connection._server_on_client_hello,
    (State.SERVER_WAIT_IDENTITY, m.MSG_IDENTITY): Connection._on_identity,
    (State.SERVER_WAIT_IDENTITY, m.MSG_FINISHED): Connection._server_missing_identity,
    (State.SERVER_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): Connection._on_identity_verify,
    (State.SERVER_WAIT_FINISHED, m.MSG_FINISHED): Connection._server_on_finished,
}
