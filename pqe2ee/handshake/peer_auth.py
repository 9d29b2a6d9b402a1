"""Authenticating the peer (docs/protocol.md §6): its Identity message, then its
IdentityVerify signature over the transcript, then this side's policy; or, for a ``kem``
identity (§6.2), a KemCiphertext encapsulated to it, whose secret is folded into the key
schedule, so the peer's next Finished proves that it holds the secret key.

Used by both roles.  The identity's kind must match the suite (client checking its
server), or be post-quantum when the server authenticates post-quantum (a server checking
its client, unless ``Policy.allow_classical_client_identity``).  The peer is accepted only
after its signature verifies *and* :meth:`Config.accept_peer` (kinds, pins, the
adapter's ``check_peer`` callback) says yes; until then ``peer_identity`` stays None.
"""

from __future__ import annotations

from pqe2ee.exceptions import IdentityRejected, InvalidInput, InvalidSignature, TrustStoreError
from pqe2ee.handshake import messages as m
from pqe2ee.handshake.handshake_state import CLIENT_CONTEXT, SERVER_CONTEXT, HandshakeState
from pqe2ee.handshake.identity import PublicIdentity
from pqe2ee.handshake.state import Alert, Role, State, fail

__all__ = ["accept", "answer_challenge", "on_identity", "on_identity_verify"]


def on_identity(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The peer's Identity: decode it and check its kind against the suite."""
    identity = PublicIdentity.decode(body)
    assert hs.suite is not None
    if hs.role is Role.CLIENT:
        if identity.kind is not hs.suite.auth:
            raise fail(
                Alert.IDENTITY_REFUSED,
                f"server identity is {identity.kind.value}, the suite says {hs.suite.auth.value}",
                IdentityRejected,
            )
    elif (
        hs.suite.auth.post_quantum
        and not identity.kind.post_quantum
        and not hs.config.policy.allow_classical_client_identity
    ):
        # mutual authentication is only as post-quantum as its weaker signature
        raise fail(
            Alert.IDENTITY_REFUSED,
            f"client identity is {identity.kind.value} (classical), and this server "
            f"authenticates with {hs.suite.auth.value}: a post-quantum client identity "
            "is required (Policy.allow_classical_client_identity allows it)",
            IdentityRejected,
        )
    hs.peer_claim = identity
    hs.transcript.add(whole)
    if identity.kind.signs:
        if hs.role is Role.CLIENT:
            return State.CLIENT_WAIT_IDENTITY_VERIFY
        return State.SERVER_WAIT_IDENTITY_VERIFY
    return _challenge(hs, identity)


def _challenge(hs: HandshakeState, identity: PublicIdentity) -> State:
    """Encapsulate to the peer's ``kem`` identity and fold the secret into the chain:
    from here the peer's Finished is a MAC under a key only the holder of the identity's
    secret key derives (§6.2).  Records stay under the keys already installed: what
    authenticates is the Finished, and what follows it comes from the new chain."""
    secret, ct = hs.encapsulate_to(identity)
    hs.send(m.KemCiphertext(ct).encode())
    hs.end_flight()
    c_hs, s_hs = hs.schedule.mix(secret, hs.transcript.digest())
    hs.c_hs = c_hs
    if hs.role is Role.CLIENT:
        hs.s_hs = s_hs
        return State.CLIENT_WAIT_FINISHED
    return State.SERVER_WAIT_FINISHED


def answer_challenge(hs: HandshakeState, whole: bytes, body: bytes) -> tuple[bytes, bytes]:
    """A KemCiphertext to this side's own ``kem`` identity: decapsulate it and fold the
    secret into the chain; the new ``(client, server)`` handshake secrets (§6.2).

    :raises Fail: a ciphertext of the wrong length (``handshake failure``).  A wrong
        ciphertext of the right length decapsulates to a secret the peer does not have
        (implicit rejection): the Finished that follows fails instead.
    """
    msg = m.KemCiphertext.decode(body)
    identity = hs.config.identity
    assert identity is not None
    try:
        secret = identity.decapsulate(msg.ciphertext)
    except InvalidInput as exc:
        raise fail(Alert.HANDSHAKE_FAILURE, f"bad KemCiphertext: {exc}") from None
    hs.transcript.add(whole)
    return hs.schedule.mix(secret, hs.transcript.digest())


def accept(hs: HandshakeState, identity: PublicIdentity) -> None:
    """Run this side's acceptance policy on the peer's authenticated identity (kinds,
    pins, ``check_peer``), then take it as the peer's.

    :raises Fail: refused (``identity refused``), or the trust store could not decide
        (``internal error``: fail closed).
    """
    try:
        hs.config.accept_peer(identity)
    except IdentityRejected as exc:
        raise fail(Alert.IDENTITY_REFUSED, str(exc), type(exc)) from None
    except TrustStoreError as exc:  # fail closed: a peer we could not check or record
        raise fail(Alert.INTERNAL_ERROR, str(exc), TrustStoreError) from None
    hs.peer_identity = identity


def on_identity_verify(hs: HandshakeState, whole: bytes, body: bytes) -> State:
    """The peer's IdentityVerify: its signatures over the transcript so far, under the
    other side's context string, then this side's acceptance policy."""
    iv = m.IdentityVerify.decode(body)
    identity = hs.peer_claim
    assert identity is not None
    context = SERVER_CONTEXT if hs.role is Role.CLIENT else CLIENT_CONTEXT
    try:
        identity.verify(context + hs.transcript.digest(), iv.signatures)
    except InvalidSignature as exc:
        raise fail(Alert.IDENTITY_REFUSED, f"peer signature: {exc}", IdentityRejected) from None
    accept(hs, identity)
    hs.transcript.add(whole)
    if hs.role is Role.CLIENT:
        return State.CLIENT_WAIT_FINISHED
    return State.SERVER_WAIT_FINISHED
