"""The client's flights (docs/protocol.md §3, keys §5, kem identities §6.2): ClientHello,
and what it does with the server's HelloRetryRequest, ServerHello, EncryptedExtensions,
Finished and (for a client with a ``kem`` identity) KemCiphertext.

Each handler takes the handshake state and one message (``whole`` with its header,
``body`` without), and returns the next state; it raises :class:`~pqe2ee.handshake.
state.Fail` to refuse the message, before any key or transcript changes.  Downgrade
protection: the suite the server picks must be one this client offered (and, after a
HelloRetryRequest, the one it asked for), ``require_pq`` refuses one without ML-KEM, and
a server known by a ``kem`` identity must authenticate with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from pqe2ee.exceptions import DowngradeError, InvalidInput
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.handshake_state import CLIENT_CONTEXT, HandshakeState
from pqe2ee.handshake.keyschedule import finished_mac
from pqe2ee.handshake.peer_auth import accept, answer_challenge, on_identity, on_identity_verify
from pqe2ee.handshake.record import RecordCipher
from pqe2ee.handshake.state import Alert, State, fail
from pqe2ee.handshake.suites import KEM_IDS, AuthKind, Suite
from pqe2ee.hazmat.kem import get_kem

__all__ = ["HANDLERS", "send_client_hello"]


def send_client_hello(hs: HandshakeState, only_kem: str | None = None) -> None:
    """Queue a ClientHello: every suite of the policy, and a fresh ephemeral key share
    for each KEM the policy shares first (only ``only_kem`` after a retry request)."""
    policy = hs.config.policy
    suites = policy.effective_suites()
    kems = [only_kem] if only_kem else policy.share_kems()
    shares = []
    for kem_name in kems:
        kem = get_kem(kem_name)
        if hs.fixed and hs.fixed.kem_seed:
            key = kem.from_seed_bytes(hs.fixed.kem_seed)
        else:
            key = kem.generate()
        code = KEM_IDS[kem_name][0]
        hs.ephemeral[code] = key
        shares.append((code, key.public_key().public_bytes_raw()))
    server_auth_ct = b""
    if hs.first_hello is not None:
        server_auth_ct = hs.first_hello.server_auth_ct  # the same one after a retry
    elif hs.config.server_identity is not None and any(s.auth is AuthKind.KEM for s in suites):
        hs.server_auth_secret, server_auth_ct = hs.encapsulate_to(hs.config.server_identity)
    hello = m.ClientHello(
        random=hs.first_hello.random if hs.first_hello else hs.random(),
        suites=tuple(s.codes for s in suites),
        key_shares=tuple(shares),
        psk_identity=hs.config.psk_identity,
        server_auth_ct=server_auth_ct,
    )
    identity = hs.config.identity
    if hs.server_auth_secret is not None and identity is not None and not identity.kind.signs:
        # a kem client to a known kem server: its identity rides in the first flight,
        # sealed so that only the holder of the server's secret key reads it (§6.3)
        early = hs.seal_early_identity(hs.server_auth_secret, hello)
        hello = dataclasses.replace(hello, early_identity=early)
        hs.early_identity_sent = True
    if hs.first_hello is None:
        hs.first_hello = hello
    hs.send(hello.encode())


def on_retry(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """HelloRetryRequest: once, for a suite offered, whose KEM got no share; send again."""
    hrr = m.HelloRetryRequest.decode(body)
    assert hs.first_hello is not None
    suite = Suite.from_codes(*hrr.suite)
    hs.hrr_suite = hrr.suite
    if hs.retried or suite is None or hrr.suite not in hs.first_hello.suites:
        raise fail(Alert.HANDSHAKE_FAILURE, "server asked to retry with a suite we did not offer")
    if KEM_IDS[suite.kem][0] in hs.ephemeral:
        raise fail(Alert.HANDSHAKE_FAILURE, "server asked to retry for a KEM we sent a share for")
    hs.retried = True
    hs.transcript.add(whole)
    hs.ephemeral.clear()
    send_client_hello(hs, only_kem=suite.kem)
    return State.CLIENT_WAIT_SH


def on_server_hello(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """ServerHello: check the suite, decapsulate, install the handshake keys."""
    sh = m.ServerHello.decode(body)
    assert hs.first_hello is not None
    suite = Suite.from_codes(*sh.suite)
    if suite is None or sh.suite not in hs.first_hello.suites:
        raise fail(Alert.HANDSHAKE_FAILURE, "server chose a suite we did not offer")
    if hs.hrr_suite is not None and sh.suite != hs.hrr_suite:
        raise fail(
            Alert.HANDSHAKE_FAILURE,
            "server chose another suite than the one its HelloRetryRequest asked for",
        )
    if hs.config.policy.require_pq and not suite.has_pq:
        raise fail(Alert.DOWNGRADE, f"server chose {suite}, which has no ML-KEM", DowngradeError)
    known = hs.config.server_identity
    if known is not None and suite.auth is not AuthKind.KEM:
        raise fail(
            Alert.DOWNGRADE,
            f"the server is known by a kem identity ({known.fingerprint_hex()}) but chose "
            f"{suite.auth.value} authentication",
            DowngradeError,
        )
    key = hs.ephemeral.get(KEM_IDS[suite.kem][0])
    if key is None:
        raise fail(Alert.HANDSHAKE_FAILURE, "server chose a KEM we sent no share for")
    try:
        kem_secret = key.decapsulate(sh.ciphertext)
    except InvalidInput as exc:
        raise fail(Alert.HANDSHAKE_FAILURE, f"bad KEM ciphertext: {exc}") from None
    hs.ephemeral.clear()  # forward secrecy: the ephemeral key is no longer needed
    hs.suite = suite
    hs.transcript.add(whole)
    static = hs.server_auth_secret if suite.auth is AuthKind.KEM else None
    if static is not None:
        hs.peer_claim = known  # authenticated by the server's Finished, under keys from it
    hs.server_auth_secret = None
    hs.c_hs, hs.s_hs = hs.schedule.handshake_secrets(
        kem_secret, hs.transcript.digest(), static_secret=static
    )
    hs.transport.read = RecordCipher(suite.aead, hs.s_hs)
    hs.transport.write = RecordCipher(suite.aead, hs.c_hs)
    return State.CLIENT_WAIT_EE


def on_extensions(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """EncryptedExtensions: whether the server asks for the client's identity."""
    ee = m.EncryptedExtensions.decode(body)
    hs.want_client_identity = ee.require_client_identity
    hs.transcript.add(whole)
    if hs.peer_claim is None:
        return State.CLIENT_WAIT_IDENTITY
    # a server known by its kem identity sends none; it answers an early identity it
    # asks for with a KemCiphertext before its Finished
    if hs.want_client_identity and hs.early_identity_sent:
        return State.CLIENT_WAIT_EARLY_KEM_CT
    return State.CLIENT_WAIT_FINISHED


def on_finished(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The server's Finished: verify it (for a ``kem`` server this is what authenticates
    it), send the client's last flight, switch to the application keys."""
    hs.check_finished(whole, body, hs.s_hs, sender="server")
    assert hs.suite is not None
    if hs.suite.auth is AuthKind.KEM:
        assert hs.peer_claim is not None
        accept(hs, hs.peer_claim)
    hs.c_ap, hs.s_ap, hs.exporter = hs.schedule.application_secrets(hs.transcript.digest())
    hs.transport.read = RecordCipher(hs.suite.aead, hs.s_ap)
    identity = hs.config.identity
    if hs.want_client_identity and identity is not None and not hs.early_identity_sent:
        hs.send(m.frame_message(m.MSG_IDENTITY, identity.public().encode()))
        if not identity.kind.signs:  # it proves itself by decapsulating: wait for it
            hs.end_flight()
            return State.CLIENT_WAIT_KEM_CT
        sigs = identity.sign(CLIENT_CONTEXT + hs.transcript.digest())
        hs.send(m.IdentityVerify(tuple(sigs)).encode())
    return _send_finished(hs)


def _send_finished(hs: HandshakeState) -> State:
    assert hs.suite is not None
    hs.send(m.Finished(finished_mac(hs.c_hs, hs.transcript.digest())).encode())
    hs.end_flight()
    hs.transport.write = RecordCipher(hs.suite.aead, hs.c_ap)
    return State.CONNECTED


def on_kem_ciphertext(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The server's KemCiphertext to this client's ``kem`` identity (sent after the
    server's Finished): prove the secret with this client's Finished (§6.2)."""
    hs.c_hs, _ = answer_challenge(hs, whole, body)
    return _send_finished(hs)


def on_early_kem_ciphertext(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The known server's KemCiphertext to this client's early identity (§6.3), before
    its Finished: both Finished MACs and the application keys now depend on it."""
    hs.c_hs, hs.s_hs = answer_challenge(hs, whole, body)
    return State.CLIENT_WAIT_FINISHED


#: The client's part of the transition table (:data:`pqe2ee.handshake.state.TRANSITIONS`).
HANDLERS: dict[tuple[State, int], Callable[[HandshakeState, bytes, bytes], State]] = {
    (State.CLIENT_WAIT_SH, m.MSG_HELLO_RETRY): on_retry,
    (State.CLIENT_WAIT_SH, m.MSG_SERVER_HELLO): on_server_hello,
    (State.CLIENT_WAIT_EE, m.MSG_ENCRYPTED_EXTENSIONS): on_extensions,
    (State.CLIENT_WAIT_EARLY_KEM_CT, m.MSG_KEM_CIPHERTEXT): on_early_kem_ciphertext,
    (State.CLIENT_WAIT_IDENTITY, m.MSG_IDENTITY): on_identity,
    (State.CLIENT_WAIT_IDENTITY_VERIFY, m.MSG_IDENTITY_VERIFY): on_identity_verify,
    (State.CLIENT_WAIT_FINISHED, m.MSG_FINISHED): on_finished,
    (State.CLIENT_WAIT_KEM_CT, m.MSG_KEM_CIPHERTEXT): on_kem_ciphertext,
}
