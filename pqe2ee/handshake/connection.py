"""The sans-IO protocol core: :class:`Connection`, a state machine over bytes.

It never touches a socket or a file.  Feed it what arrived (:meth:`Connection.receive_data`),
ask for events (:meth:`Connection.next_event`), hand it data to protect
(:meth:`Connection.send_data`) and write out what it produced
(:meth:`Connection.data_to_send`).  The parts, one module each:

- :mod:`~pqe2ee.handshake.state`: roles, states, alerts and the transition table (data:
  per state, the handshake messages accepted there and the states each may lead to);
- :mod:`~pqe2ee.handshake.client` and :mod:`~pqe2ee.handshake.server`: the flights,
  :mod:`~pqe2ee.handshake.peer_auth`: the peer's Identity and IdentityVerify;
- :mod:`~pqe2ee.handshake.transport`: records, key updates, the close, and lending the
  live traffic keys to the C socket pump.

Anything the table does not list moves the connection to ``ERROR``, queues an alert for
the peer and raises :class:`~pqe2ee.exceptions.RemoteProtocolError` (misuse by the
caller raises :class:`~pqe2ee.exceptions.LocalProtocolError`).  A rejected message
changes no key, emits no event and releases no plaintext.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from pqe2ee.exceptions import (
    DowngradeError,
    IdentityRejected,
    InvalidInput,
    LocalProtocolError,
    Pqe2eeError,
    RemoteProtocolError,
    UnauthenticatedAlert,
)
from pqe2ee.handshake import client, server
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.config import Config
from pqe2ee.handshake.events import (
    NEED_DATA,
    ConnectionClosed,
    DataReceived,
    Event,
    HandshakeComplete,
)
from pqe2ee.handshake.handshake_state import FixedRandomness, HandshakeState
from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.keyschedule import export
from pqe2ee.handshake.ratchet import MAX_PQ_REKEYS_IN_A_ROW, Ratchet
from pqe2ee.handshake.record import (
    CT_ALERT,
    CT_HANDSHAKE,
    INNER_ALERT,
    INNER_CLOSE,
    INNER_DATA,
    INNER_HANDSHAKE,
    INNER_KEY_UPDATE,
    INNER_PQ_CIPHERTEXT,
    INNER_PQ_SHARE,
    INNER_PQ_SWITCH,
    FrameError,
    RecordState,
)
from pqe2ee.handshake.state import PLAINTEXT_MESSAGES, TRANSITIONS, Alert, Fail, Role, State, fail
from pqe2ee.handshake.suites import Suite
from pqe2ee.handshake.transport import MAX_KEY_UPDATES_IN_A_ROW, Transport
from pqe2ee.hazmat.padding import Padding

__all__ = [
    "MAX_KEY_UPDATES_IN_A_ROW",
    "MAX_PQ_REKEYS_IN_A_ROW",
    "Alert",
    "Connection",
    "FixedRandomness",
    "Role",
    "State",
]

_Handler = Callable[[HandshakeState, bytes, bytes], State]

#: Every (state, message) pair has exactly one handler, and the table lists them all.
_HANDLERS: dict[tuple[State, int], _Handler] = {**client.HANDLERS, **server.HANDLERS}
if _HANDLERS.keys() != TRANSITIONS.keys():  # pragma: no cover - caught by the tests
    raise ImportError("handshake handlers and the transition table disagree")


class Connection:
    """One side of one pqe2ee connection.

    :param config: identity, policy, pins, optional PSK and channel binding.
    :param role: ``"client"`` (sends the first flight at once) or ``"server"``.
    :param fixed_randomness_for_testing_only: known-answer tests only.
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
        self._transport = Transport(Padding.of(config.padding))
        self._hs = HandshakeState(
            config, self.role, self._transport, fixed_randomness_for_testing_only
        )
        self._events: deque[Event] = deque()
        self._error: Pqe2eeError | None = None
        self._eof = False
        self._done = False
        self._ratchet: Ratchet | None = None  # from handshake completion on (§9)
        if self.role is Role.CLIENT:
            self.state = State.CLIENT_WAIT_SH
            client.send_client_hello(self._hs)
        else:
            self.state = State.SERVER_WAIT_CH

    @property
    def suite(self) -> Suite | None:
        """The negotiated suite, once the peer's hello has chosen or accepted one."""
        return self._hs.suite

    @property
    def peer_identity(self) -> PublicIdentity | None:
        """The peer's identity, once its signature verified and the policy accepted it."""
        return self._hs.peer_identity

    @property
    def client_identity_requested(self) -> bool:
        """Whether the server asks for the client's identity (its EncryptedExtensions).

        A client that was asked learns whether the server accepted its identity only
        from the server's next record (data, or the alert of a refusal): the server
        decides after the client's Finished (docs/protocol.md §3).
        """
        return self._hs.want_client_identity

    # ------------------------------------------------------------------ public API
    def receive_data(self, data: bytes | bytearray | memoryview) -> None:
        """Feed bytes that arrived from the peer; empty means the stream ended.

        The bytes are copied: the caller may reuse its buffer at once.
        """
        if self._error is not None:
            raise self._error
        if data:
            self._transport.reader.feed(data)
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
            except Fail as failure:
                raise self._die(failure) from None
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
                + (" after close()" if self._transport.send_closed else "")
            )
        self._transport.seal_data(data)

    def update_keys(self, *, request_peer: bool = False) -> None:
        """Send a key update and move this direction to the next key.

        :raises LocalProtocolError: the connection is not established and open, or this
            would be key update number 65 in a row with no application data sent between
            (the peer refuses more as a flood: send data first).
        """
        if not self._can_send():
            raise LocalProtocolError("key update needs a connected, open connection")
        self._transport.send_key_update(request_peer=request_peer)

    def start_pq_rekey(self) -> None:
        """Start a post-quantum ratchet step (docs/protocol.md §9): send a fresh
        ephemeral key share; application data goes on both ways meanwhile, and the step
        completes (:attr:`pq_rekeys` grows) once the peer's ciphertext has been read.

        Security: after the step, records are under keys that need the step's KEM secret,
        so an attacker who had learned this session's keys and only watches loses it
        (§9.5).  Crossing starts resolve to the client's exchange (§9.4).

        :raises LocalProtocolError: the connection is not established with both
            directions open, a step is already in progress (ours, or one we answer), or
            this would be step number 65 in a row with no application data sent between.
        """
        if not self._can_send() or self.state is not State.CONNECTED or self._ratchet is None:
            raise LocalProtocolError("a post-quantum rekey needs a connected, open connection")
        self._ratchet.start()

    @property
    def pq_rekeys(self) -> int:
        """Post-quantum ratchet steps completed on this side (either side's starts)."""
        return 0 if self._ratchet is None else self._ratchet.completed

    @property
    def pq_rekey_in_progress(self) -> bool:
        """Whether a ratchet step is outstanding: ours, or one this side answered."""
        return self._ratchet is not None and self._ratchet.in_progress

    @property
    def bytes_since_pq_rekey(self) -> tuple[int, int]:
        """Application bytes ``(sent, received)`` since the last completed ratchet step
        (or the handshake): what the adapters' ``pq_rekey_bytes`` trigger counts."""
        return (0, 0) if self._ratchet is None else self._ratchet.bytes_since_step

    def data_to_send(self) -> bytes:
        """Everything produced since the last call (write it to the peer)."""
        out = self.pop_output()
        joined = out[0] if len(out) == 1 else b"".join(out)
        return joined if isinstance(joined, bytes) else bytes(joined)

    def pop_output(self) -> list[bytes | bytearray]:
        """What :meth:`data_to_send` would return, as the buffers it is made of, without
        joining them (for adapters that write each buffer to a socket as it is)."""
        out, self._transport.out = self._transport.out, []
        return out

    def close(self) -> None:
        """Send the authenticated close: this side sends nothing more.

        Before the handshake completes there is no key to close with; the connection
        just stops (the peer sees truncation).  Closing twice is harmless.
        """
        if self._transport.send_closed or self._error is not None:
            return
        if self._can_send():
            self._transport.seal_close()
        self._transport.send_closed = True

    def export_keying_material(self, label: str, context: bytes, length: int) -> bytes:
        """Keys bound to this session for the caller's own use (RFC 8446 §7.5 style).

        :raises InvalidInput: ``label`` too long or ``length`` outside 1..8160.
        :raises LocalProtocolError: the handshake has not completed.
        """
        if self._hs.exporter is None:
            raise LocalProtocolError("the handshake has not completed")
        return export(self._hs.exporter, label, context, length)

    @property
    def handshake_complete(self) -> bool:
        """Whether :class:`HandshakeComplete` has been emitted."""
        return self._done

    # ------------------------------------------------------------------ bulk data path
    def lend_traffic_keys(self) -> tuple[RecordState | None, RecordState | None, bytes]:
        """Hand the live application-traffic keys and sequence numbers to a data path
        outside this object (the C socket pump, :mod:`pqe2ee.io.socket_pump`), which
        then seals and opens the application-data records itself.

        Whoever holds them can read and forge this session's traffic: they must stay in
        this process and be wiped after use.  Everything else goes on through this
        object: the borrower feeds it every record that is not application data
        (:meth:`receive_data`, :meth:`next_event`), asks it for key updates and the
        close, and reports what it used with :meth:`return_traffic_keys` before each of
        those calls.  Lend again after them: a key update changes the keys.

        :returns: ``(send, receive, unprocessed)``: the sending direction's state (None
            once this side has closed), the receiving direction's (None once the peer
            has), and the bytes received but not processed yet, which now belong to the
            borrower and come before anything it reads.
        :raises LocalProtocolError: the handshake is not complete, the connection failed,
            or events are still waiting to be read.
        """
        if not self._done or self._error is not None or self.state is State.ERROR:
            raise LocalProtocolError("only an established, healthy connection can be lent")
        if self._events or self._transport.pending_control is not None:
            raise LocalProtocolError("read the waiting events before lending the records")
        return self._transport.lend(send=self._can_send(), receive=self.state is State.CONNECTED)

    def return_traffic_keys(self, sent: tuple[int, int], received: tuple[int, int]) -> None:
        """Count what the borrower of :meth:`lend_traffic_keys` sealed and opened since it
        last reported: ``(records, content bytes)`` each way."""
        self._transport.give_back(sent, received)

    # ------------------------------------------------------------------ plumbing
    def _can_send(self) -> bool:
        """Handshake done, this direction not closed (the peer's may be: half-close)."""
        return (
            self._done
            and not self._transport.send_closed
            and self._error is None
            and self.state in (State.CONNECTED, State.CLOSED)
        )

    def _die(self, failure: Fail) -> RemoteProtocolError:
        self.state = State.ERROR
        self._transport.queue_alert(failure.alert)
        error = failure.cls(str(failure), alert=int(failure.alert))
        self._error = error
        self._hs.forget()
        if self._ratchet is not None:
            self._ratchet.forget()
        return error

    def _eof_failure(self) -> Fail:
        if self.state is State.CONNECTED:
            return fail(
                Alert.DECODE_ERROR,
                "connection truncated: the peer's stream ended without a close record",
            )
        return fail(
            Alert.HANDSHAKE_FAILURE,
            f"peer closed the connection during the handshake ({self.state.name})",
        )

    def _process_one_frame(self) -> bool:
        transport = self._transport
        if transport.pending_control is not None:
            # a control record opened in bulk behind data that has now been handed out
            pending, transport.pending_control = transport.pending_control, None
            self._on_record(*pending)
            return True
        transport.refuse_plaintext_after_keys()
        if self.state is State.CONNECTED:
            opened = transport.open_bulk()
            if opened is not None:
                data, control = opened
                if data:
                    self._events.append(DataReceived(data))
                    # hand the data out before the control record acts (an alert would
                    # otherwise raise with authenticated data still queued), as the
                    # one-record path does
                    transport.pending_control = control
                elif control is not None:
                    self._on_record(*control)
                return True
        try:
            frame = next(transport.reader.frames(), None)
        except FrameError as exc:
            raise fail(Alert.DECODE_ERROR, str(exc)) from None
        if frame is None:
            return False
        ctype, header, payload = frame
        try:
            self._dispatch_frame(ctype, header, payload)
        finally:
            payload.release()  # the reader's buffer may grow again only after this
        return True

    def _dispatch_frame(self, ctype: int, header: bytes, payload: memoryview) -> None:
        # plaintext frames after keys were refused at their first byte
        if ctype == CT_ALERT:
            self._on_alert(bytes(payload))
        elif ctype == CT_HANDSHAKE:
            self._on_handshake_bytes(bytes(payload), encrypted=False)
        else:
            read = self._transport.read
            if read is None:
                raise fail(Alert.UNEXPECTED_MESSAGE, "encrypted record before keys were set")
            try:
                inner, content = read.open(header, payload)
            except FrameError as exc:
                if self.state is State.CLIENT_WAIT_EE and self._hs.peer_claim is not None:
                    raise fail(
                        Alert.BAD_RECORD_MAC,
                        "the server's first encrypted record does not open under the keys "
                        "of the kem identity known for it "
                        f"({self._hs.peer_claim.fingerprint_hex()}): the server has another "
                        "key, or someone is in the middle",
                        IdentityRejected,
                    ) from None
                raise fail(Alert.BAD_RECORD_MAC, str(exc)) from None
            over = read.check_received(inner, len(content))
            if over is not None:
                raise fail(Alert.UNEXPECTED_MESSAGE, over)
            self._on_record(inner, content)

    def _on_alert(self, payload: bytes) -> None:
        code = payload[0] if len(payload) == 1 else 0
        try:
            name = Alert(code).name.lower().replace("_", " ")
        except ValueError:
            name = f"unknown alert {code}"
        before, self.state = self.state, State.ERROR
        if not self._done:
            # in the clear, or under handshake keys an active attacker may share: nothing
            # says the peer sent it, so its reason is not taken for the peer's verdict
            hint = ""
            if code == Alert.DECODE_ERROR and before is State.CLIENT_WAIT_SH:
                hint = (
                    f" (a server that speaks only protocol version 1 answers a version "
                    f"{m.VERSION} hello this way: upgrade it)"
                )
            self._error = UnauthenticatedAlert(
                f"the handshake was aborted with alert '{name}', which is not authenticated:"
                f" the peer or anyone on the path may have sent it{hint}",
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
            raise fail(Alert.UNEXPECTED_MESSAGE, f"record type 0x{inner:02x} during the handshake")
        elif self.state is State.CLOSED:
            raise fail(Alert.UNEXPECTED_MESSAGE, "record after the peer's close")
        elif inner == INNER_DATA:
            self._transport.received_data(content)
            if content:
                self._events.append(DataReceived(content))
        elif inner == INNER_KEY_UPDATE:
            self._transport.received_key_update(content)
        elif inner in (INNER_PQ_SHARE, INNER_PQ_CIPHERTEXT, INNER_PQ_SWITCH):
            assert self._ratchet is not None  # made at completion, before any such record
            if inner == INNER_PQ_SHARE:
                self._ratchet.on_share(content)
            elif inner == INNER_PQ_CIPHERTEXT:
                self._ratchet.on_ciphertext(content)
            else:
                self._ratchet.on_switch(content)
        elif inner == INNER_CLOSE:
            if content:
                raise fail(Alert.DECODE_ERROR, "close record with content")
            self.state = State.CLOSED
            self._events.append(ConnectionClosed())
        else:  # from the bulk path, behind the data it has handed out
            raise fail(Alert.BAD_RECORD_MAC, f"unknown inner record type 0x{inner:02x}")

    def _on_handshake_bytes(self, data: bytes, *, encrypted: bool) -> None:
        pos = 0
        if not data:
            raise fail(Alert.DECODE_ERROR, "empty handshake frame")
        while pos < len(data):
            if pos + 4 > len(data):
                raise fail(Alert.DECODE_ERROR, "handshake message header is truncated")
            msg_type = data[pos]
            length = int.from_bytes(data[pos + 1 : pos + 4], "big")
            if pos + 4 + length > len(data):
                raise fail(Alert.DECODE_ERROR, "handshake message runs past its record")
            whole = data[pos : pos + 4 + length]
            body = whole[4:]
            pos += 4 + length
            if not encrypted and pos != len(data):
                raise fail(Alert.DECODE_ERROR, "plaintext frame carries more than one message")
            self._on_handshake_message(msg_type, whole, body, encrypted=encrypted)

    def _on_handshake_message(
        self, msg_type: int, whole: bytes, body: bytes, *, encrypted: bool
    ) -> None:
        """One handshake message, through the transition table."""
        key = (self.state, msg_type)
        allowed = TRANSITIONS.get(key)
        if allowed is None:
            raise fail(
                Alert.UNEXPECTED_MESSAGE,
                f"unexpected handshake message {msg_type} in state {self.state.name}",
            )
        if encrypted != (msg_type not in PLAINTEXT_MESSAGES):
            raise fail(Alert.UNEXPECTED_MESSAGE, f"handshake message {msg_type} in the wrong layer")
        try:
            following = _HANDLERS[key](self._hs, whole, body)
        except m.VersionError as exc:
            raise fail(Alert.PROTOCOL_VERSION, str(exc)) from None
        except m.DecodeError as exc:
            raise fail(Alert.DECODE_ERROR, str(exc)) from None
        except InvalidInput as exc:
            raise fail(Alert.DECODE_ERROR, str(exc)) from None
        if following not in allowed:  # a bug here, not the peer's: fail closed
            raise fail(
                Alert.INTERNAL_ERROR,
                f"internal error: {self.state.name} may not lead to {following.name}",
            )
        self.state = following
        if following is State.CONNECTED:
            self._complete()

    def _complete(self) -> None:
        hs = self._hs
        assert hs.suite is not None
        self._done = True
        root = hs.schedule.ratchet_root
        assert root is not None
        self._ratchet = Ratchet(self.role, hs.suite, root, self._transport)
        hs.schedule.ratchet_root = None  # the ratchet holds (and advances) it from here
        hs.finish()
        self._events.append(HandshakeComplete(hs.suite, hs.peer_identity, hs.retried))
