"""Every mode against every other, every auth kind and AEAD: agree or refuse as the
policies say, with the right error on each side."""

from __future__ import annotations

import pytest

from pqe2ee.exceptions import DowngradeError, RemoteProtocolError, UnauthenticatedAlert
from pqe2ee.handshake import AuthKind, Config, Policy, Suite
from pqe2ee.handshake.connection import Alert
from pqe2ee.handshake.events import HandshakeComplete
from tests.handshake.util import identity, pair, run

MODES = ["classical", "hybrid", "pq"]


@pytest.mark.parametrize("auth", [k.value for k in AuthKind])
@pytest.mark.parametrize("aead", ["chacha20-poly1305", "aes-256-gcm"])
@pytest.mark.parametrize(
    "kem", ["X25519", "X25519MLKEM768", "X-Wing", "SecP256r1MLKEM768", "ML-KEM-768", "ML-KEM-1024"]
)
def test_every_suite_completes_with_mutual_auth(kem: str, aead: str, auth: str) -> None:
    suite = Suite(kem, AuthKind(auth), aead)
    policy = Policy(suites=(suite,))
    server_id, client_id = identity(auth), identity("hybrid")
    client, server = pair(
        Config(
            identity=client_id,
            policy=policy,
            peer_fingerprints=frozenset({server_id.public().fingerprint()}),
        ),
        Config(identity=server_id, policy=policy, require_client_identity=True),
    )
    out = run(client, server)
    assert out.error is None, out.error
    c_done = [e for e in out.client_events if isinstance(e, HandshakeComplete)]
    s_done = [e for e in out.server_events if isinstance(e, HandshakeComplete)]
    assert c_done[0].suite == s_done[0].suite == suite
    assert c_done[0].peer_identity == server_id.public()
    assert s_done[0].peer_identity == client_id.public()
    assert client.export_keying_material("test", b"ctx", 32) == server.export_keying_material(
        "test", b"ctx", 32
    )
    client.send_data(b"ping")
    server.receive_data(client.data_to_send())
    assert server.next_event().data == b"ping"  # type: ignore[union-attr]


@pytest.mark.parametrize("client_mode", MODES)
@pytest.mark.parametrize("server_mode", MODES)
@pytest.mark.parametrize("server_require_pq", [False, True])
def test_mode_matrix(client_mode: str, server_mode: str, server_require_pq: bool) -> None:
    client_policy = Policy.for_mode(client_mode)
    if server_require_pq and server_mode == "classical":
        with pytest.raises(ValueError, match="require_pq is set but no suite has ML-KEM"):
            Policy.for_mode(server_mode, require_pq=True)
        return
    server_policy = Policy.for_mode(server_mode, require_pq=server_require_pq)
    client, server = pair(
        Config(policy=client_policy), Config(identity=identity(), policy=server_policy)
    )
    out = run(client, server)
    if client_mode == server_mode:
        assert out.error is None
        assert out.client_done and out.server_done
        assert client.suite is not None and client.suite.mode == client_mode
    else:
        assert out.server_error is not None
        assert out.client_error is not None  # the alert tells the client why
        assert out.server_error.alert == Alert.NO_COMMON_SUITE
        assert not out.client_done and not out.server_done


def test_default_policies_agree_on_hybrid() -> None:
    client, server = pair()
    out = run(client, server)
    assert out.error is None
    assert client.suite == Suite("X25519MLKEM768", AuthKind.ED25519, "chacha20-poly1305")


def test_require_pq_server_refuses_classical_only_client_with_downgrade_error() -> None:
    client, server = pair(
        Config(policy=Policy.for_mode("classical")),
        Config(identity=identity(), policy=Policy(require_pq=True)),
    )
    out = run(client, server)
    assert isinstance(out.server_error, DowngradeError)
    # the client is told in the clear: anyone on the path could have said it
    assert isinstance(out.client_error, UnauthenticatedAlert)
    assert out.client_error.alert == Alert.DOWNGRADE
    assert "require_pq" in str(out.server_error)


def test_require_pq_client_never_offers_classical() -> None:
    client, server = pair(
        Config(policy=Policy(require_pq=True)),
        Config(identity=identity(), policy=Policy.for_mode("classical")),
    )
    out = run(client, server)
    assert out.server_error is not None
    assert out.server_error.alert == Alert.NO_COMMON_SUITE
    assert all(s.has_pq for s in Policy(require_pq=True).effective_suites())


def test_hello_retry_when_server_prefers_a_kem_without_a_share() -> None:
    server_policy = Policy(suites=(Suite("X-Wing", AuthKind.ED25519, "chacha20-poly1305"),))
    client_policy = Policy(key_share_kems=("X25519MLKEM768",))
    client, server = pair(
        Config(policy=client_policy), Config(identity=identity(), policy=server_policy)
    )
    out = run(client, server)
    assert out.error is None
    done = [e for e in out.client_events if isinstance(e, HandshakeComplete)][0]
    assert done.retried
    assert done.suite.kem == "X-Wing"


def test_server_takes_a_same_mode_suite_with_a_share_instead_of_retrying() -> None:
    server_policy = Policy(
        suites=(
            Suite("X-Wing", AuthKind.ED25519, "chacha20-poly1305"),
            Suite("X25519MLKEM768", AuthKind.ED25519, "chacha20-poly1305"),
            Suite("X25519", AuthKind.ED25519, "chacha20-poly1305"),
        )
    )
    client, server = pair(
        Config(policy=Policy(key_share_kems=("X25519MLKEM768", "X25519"))),
        Config(identity=identity(), policy=server_policy),
    )
    out = run(client, server)
    assert out.error is None
    assert client.suite is not None and client.suite.kem == "X25519MLKEM768"


def test_server_retries_rather_than_downgrade_to_a_classical_share() -> None:
    client, server = pair(
        Config(policy=Policy(key_share_kems=("X25519",))),
        Config(identity=identity()),
    )
    out = run(client, server)
    assert out.error is None
    assert client.suite is not None and client.suite.mode == "hybrid"
    assert [e for e in out.client_events if isinstance(e, HandshakeComplete)][0].retried


def test_no_suite_for_the_server_identity_kind() -> None:
    client, server = pair(
        Config(
            policy=Policy(suites=tuple(s for s in Policy().suites if s.auth is AuthKind.ML_DSA_65))
        ),
        Config(identity=identity("ed25519")),
    )
    out = run(client, server)
    assert isinstance(out.server_error, RemoteProtocolError)
    assert out.server_error.alert == Alert.NO_COMMON_SUITE


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="at least one suite"):
        Policy(suites=())
    suite = Suite("X25519", AuthKind.ED25519, "aes-256-gcm")
    with pytest.raises(ValueError, match="twice"):
        Policy(suites=(suite, suite))
    with pytest.raises(ValueError, match="not usable in a handshake"):
        Suite("P-384", AuthKind.ED25519, "aes-256-gcm")
    with pytest.raises(ValueError, match="unknown mode"):
        Policy.for_mode("quantum")
    with pytest.raises(ValueError, match="not a pq KEM"):
        Policy.for_mode("pq", kem="X25519")
