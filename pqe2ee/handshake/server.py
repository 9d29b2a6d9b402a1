"""The server's flights (docs/protocol.md §3, keys §5, kem identities §6.2): its choice
of suite, the answer to a ClientHello (a HelloRetryRequest, or ServerHello through
Finished in one flight; a ``kem`` server the client does not know yet sends its Identity
and waits for a KemCiphertext before its Finished), and what it does with the client's
last flight.

Each handler takes the handshake state and one message and returns the next state, or
raises :class:`~pqe2ee.handshake.state.Fail` before any key or transcript changes.  The
server's own suite order decides; it never picks a weaker key exchange to save a round
trip, and a second ClientHello must repeat the first one's suites, PSK name and random.
"""

from __future__ import annotations

from collections.abc import Callable

from pqe2ee.exceptions import DowngradeError, IdentityRejected, InvalidInput
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.handshake_state import SERVER_CONTEXT, HandshakeState
from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.keyschedule import finished_mac
from pqe2ee.handshake.peer_auth import accept, answer_challenge, on_identity, on_identity_verify
from pqe2ee.handshake.record import RecordCipher
from pqe2ee.handshake.state import Alert, State, fail
from pqe2ee.handshake.suites import KEM_IDS, AuthKind, Suite
from pqe2ee.hazmat.kem import get_kem

__all__ = ["HANDLERS", "choose"]


def choose(hs: HandshakeState, hello: m.ClientHello) -> tuple[Suite, bool]:
    """The server's pick, and whether the client sent a share for its KEM.

    The server's own order decides.  To save a round trip it takes a later suite the
    client has a share for, but only one of the same mode: never a weaker key exchange
    just to avoid a HelloRetryRequest.

    :raises Fail: no suite in common (``downgrade`` when only classical ones are and
        ``require_pq`` is set).
    """
    offered = set(hello.suites)
    identity = hs.config.identity
    assert identity is not None
    policy = hs.config.policy
    candidates = [
        s for s in policy.effective_suites() if s.codes in offered and s.auth is identity.kind
    ]
    if not candidates:
        common = [s for s in policy.suites if s.codes in offered and s.auth is identity.kind]
        if policy.require_pq and common:
            raise fail(
                Alert.DOWNGRADE,
                "client offered no suite with ML-KEM and require_pq is set",
                DowngradeError,
            )
        raise fail(Alert.NO_COMMON_SUITE, "no suite in common with the client")
    shares = {kem for kem, _ in hello.key_shares}
    best = candidates[0]
    for suite in candidates:
        if suite.mode == best.mode and KEM_IDS[suite.kem][0] in shares:
            return suite, True
    return best, False


def on_client_hello(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """A ClientHello: ask for another share once, or encapsulate and send the whole
    server flight (ServerHello, EncryptedExtensions, Identity, IdentityVerify,
    Finished), switching the sending direction to the application key."""
    hello = m.ClientHello.decode(body)
    if hs.first_hello is not None:
        first = hs.first_hello
        if (
            hello.suites != first.suites
            or hello.psk_identity != first.psk_identity
            or hello.random != first.random
            or hello.server_auth_ct != first.server_auth_ct
        ):
            raise fail(Alert.HANDSHAKE_FAILURE, "second ClientHello differs from the first")
    if hello.psk_identity != hs.config.psk_identity:
        raise fail(Alert.UNKNOWN_PSK, "client names a pre-shared key this server does not hold")
    suite, has_share = choose(hs, hello)
    if not has_share:
        if hs.retried:
            raise fail(Alert.HANDSHAKE_FAILURE, "second ClientHello lacks the requested share")
        hs.retried = True
        hs.first_hello = hello
        hs.transcript.add(whole)
        hs.send(m.HelloRetryRequest(suite.codes).encode())
        return State.SERVER_WAIT_CH2
    # the key of an early identity is bound to the transcript before this hello (§6.3)
    early_th = hs.transcript.digest_with(hello.prefix()) if hello.early_identity else b""
    hs.transcript.add(whole)
    kem = get_kem(suite.kem)
    pk = dict(hello.key_shares)[KEM_IDS[suite.kem][0]]
    try:
        if hs.fixed and hs.fixed.encaps_randomness:
            kem_secret, ct = kem.encapsulate_derand_for_testing_only(pk, hs.fixed.encaps_randomness)
        else:
            kem_secret, ct = kem.from_public_bytes(pk).encapsulate()
    except InvalidInput as exc:
        raise fail(Alert.HANDSHAKE_FAILURE, f"bad key share: {exc}") from None
    identity = hs.config.identity
    assert identity is not None
    # a kem server the client already knows: the ClientHello's ciphertext authenticates it
    static = None
    if suite.auth is AuthKind.KEM and hello.server_auth_ct:
        try:
            static = identity.decapsulate(hello.server_auth_ct)
        except InvalidInput as exc:
            raise fail(Alert.HANDSHAKE_FAILURE, f"bad server_auth_ct: {exc}") from None
    hs.suite = suite
    hs.send(m.ServerHello(hs.random(), suite.codes, ct).encode())
    hs.c_hs, hs.s_hs = hs.schedule.handshake_secrets(
        kem_secret, hs.transcript.digest(), static_secret=static
    )
    transport = hs.transport
    transport.write = RecordCipher(suite.aead, hs.s_hs)
    transport.read = RecordCipher(suite.aead, hs.c_hs)
    hs.want_client_identity = hs.config.require_client_identity
    hs.send(m.EncryptedExtensions(hs.want_client_identity).encode())
    if suite.auth is AuthKind.KEM:
        if static is None:  # the client learns the key now and encapsulates to it
            hs.send(m.frame_message(m.MSG_IDENTITY, identity.public().encode()))
            hs.end_flight()
            return State.SERVER_WAIT_KEM_CT
        if hs.want_client_identity and hello.early_identity:
            _challenge_early_identity(hs, static, hello, early_th)
        return _send_finished(hs)
    hs.send(m.frame_message(m.MSG_IDENTITY, identity.public().encode()))
    sigs = identity.sign(SERVER_CONTEXT + hs.transcript.digest())
    hs.send(m.IdentityVerify(tuple(sigs)).encode())
    return _send_finished(hs)


def _challenge_early_identity(
    hs: HandshakeState, static: bytes, hello: m.ClientHello, early_th: bytes
) -> None:
    """Open the client's early ``kem`` identity (§6.3) and encapsulate to it: the
    KemCiphertext goes before this server's Finished, and the secret into the chain, so
    the client's Finished (and the application keys) prove it holds the secret key.

    An early identity that does not open is ignored: the client sealed it for another
    key, and fails on this server's flight with that message.
    """
    body = hs.open_early_identity(static, hello.early_identity, early_th)
    if body is None:
        return
    claim = PublicIdentity.decode(body)  # InvalidInput: a decode error
    if claim.kind.signs:
        raise fail(Alert.DECODE_ERROR, "an early identity must be a kem identity")
    hs.peer_claim = claim
    secret, ct = hs.encapsulate_to(claim)
    hs.send(m.KemCiphertext(ct).encode())
    hs.c_hs, hs.s_hs = hs.schedule.mix(secret, hs.transcript.digest())


def _send_finished(hs: HandshakeState) -> State:
    """The server's Finished, then its sending direction moves to the application key."""
    assert hs.suite is not None
    hs.send(m.Finished(finished_mac(hs.s_hs, hs.transcript.digest())).encode())
    hs.end_flight()
    hs.c_ap, hs.s_ap, hs.exporter = hs.schedule.application_secrets(hs.transcript.digest())
    hs.transport.write = RecordCipher(hs.suite.aead, hs.s_ap)
    if hs.want_client_identity and hs.peer_claim is None:
        return State.SERVER_WAIT_IDENTITY
    return State.SERVER_WAIT_FINISHED


def on_kem_ciphertext(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The client's KemCiphertext to this server's ``kem`` identity: decapsulate, fold
    the secret into the chain, and prove it with the Finished (§6.2)."""
    hs.c_hs, hs.s_hs = answer_challenge(hs, whole, body)
    return _send_finished(hs)


def on_missing_identity(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """Finished where the client's Identity was required: refused."""
    raise fail(
        Alert.IDENTITY_REFUSED,
        "client sent no identity, and this server requires one",
        IdentityRejected,
    )


def on_finished(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The client's Finished: verify it (for a ``kem`` client identity this is what
    authenticates it) and switch reading to the application key."""
    hs.check_finished(whole, body, hs.c_hs, sender="client")
    assert hs.suite is not None
    claim = hs.peer_claim
    if claim is not None and not claim.kind.signs:
        accept(hs, claim)
    hs.transport.read = RecordCipher(hs.suite.aead, hs.c_ap)
    return State.CONNECTED


#: The server's part of the transition table (:data:`pqe2ee.handshake.state.TRANSITIONS`).
HANDLERS: dict[tuple[State, int], Callable[[HandshakeState, bytes, bytes], State]] = {
    (State.SERVER_WAIT_CH, m.MSG_CLIENT_HELLO): on_client_hello,
    (State.SERVER_WAIT_CH2, m.MSG_CLIENT_HELLO): on_client_hello,
    (State.SERVER_WAIT_KEM_CT, m.MSG_KEM_CIPHERTEXT): on_kem_ciphertext,
    (State.SERVER_WAIT_IDENTITY, m.MSG_IDENTITY): on_identity,
    (State.SERVER_WAIT_IDENTITY, m.MSG_FINISHED): on_missing_identity,
    (State.SERVER_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): on_identity_verify,
    (State.SERVER_WAIT_FINISHED, m.MSG_FINISHED): on_finished,
}
