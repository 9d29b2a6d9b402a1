"""Targets parsed from the command line and results to JSON and back."""

from __future__ import annotations

import json

import pytest

from pqe2ee.scan.model import Certificate, ScanResult, Target, load_results, parse_target


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tls://example.com:443", Target("tls", "example.com", 443)),
        ("ssh://host.internal:2222", Target("ssh", "host.internal", 2222)),
        ("example.com:8443", Target("tls", "example.com", 8443)),
        ("Example.COM:1", Target("tls", "example.com", 1)),
        ("SSH://10.0.0.1:22", Target("ssh", "10.0.0.1", 22)),
        ("[::1]:22", Target("tls", "::1", 22)),
        ("ssh://[2001:DB8::1]:65535", Target("ssh", "2001:db8::1", 65535)),
        ("ssh://bastion", Target("ssh", "bastion", 22)),
        ("example.com", Target("tls", "example.com", 443)),
        ("tls://[::1]", Target("tls", "::1", 443)),
        ("  db-1_a.example.:5432 ", Target("tls", "db-1_a.example.", 5432)),
    ],
)
def test_parse_target(text: str, expected: Target) -> None:
    assert parse_target(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("http://example.com:80", "unknown scheme 'http'"),
        ("example.com:0", "outside 1..65535"),
        ("example.com:65536", "outside 1..65535"),
        ("example.com:https", "not a number"),
        ("example.com:-1", "not a number"),
        ("::1:22", "in brackets"),
        ("[::1:22", "unclosed"),
        ("[::1]22", "':port' after ']'"),
        ("[10.0.0.1]:22", "only for IPv6"),
        ("[::zz]:22", "not a valid IPv6"),
        (":22", "no host"),
        ("tls://", "no host"),
        ("exa mple.com:443", "not a valid host"),
        ("-bad.example:443", "not a valid host"),
        ("example.com:443/path", "no path"),
        ("user@example.com:22", "no path or user"),
    ],
)
def test_parse_target_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="target .*" + message.replace("(", r"\(")) as info:
        parse_target(text)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize("text", ["tls://example.com:443", "ssh://[::1]:22", "ssh://10.1.2.3:2222"])
def test_target_str_round_trips(text: str) -> None:
    assert str(parse_target(text)) == text
    assert parse_target(str(parse_target(text))) == parse_target(text)


def _tls_result() -> ScanResult:
    return ScanResult(
        target="tls://example.com:443",
        protocol="tls",
        reachable=True,
        tls_version="TLSv1.3",
        pq_key_exchange=True,
        groups={"X25519MLKEM768": "supported", "MLKEM768": "not supported"},
        preferred_group="X25519MLKEM768",
        key_exchange_verified=True,
        large_client_hello_ok=True,
        certificate=Certificate(
            key_type="EC",
            key_size=256,
            curve="secp256r1",
            signature_algorithm="ecdsa-with-SHA256",
            not_after="2027-01-01T00:00:00+00:00",
            subject="CN=example.com",
            quantum_vulnerable=True,
        ),
    )


def test_to_json_has_the_issue_keys() -> None:
    obj = _tls_result().to_json()
    assert {
        "target",
        "protocol",
        "reachable",
        "error",
        "tls_version",
        "pq_key_exchange",
        "groups",
        "preferred_group",
        "key_exchange_verified",
        "certificate",
    } <= obj.keys()
    assert obj["certificate"]["key_type"] == "EC"
    assert obj["certificate"]["key_size"] == 256
    assert obj["certificate"]["signature_algorithm"] == "ecdsa-with-SHA256"
    assert obj["certificate"]["quantum_vulnerable"] is True
    assert "kex_methods" not in obj
    ssh = ScanResult("ssh://h:22", "ssh", reachable=True, kex_methods=["curve25519-sha256"])
    assert ssh.to_json()["kex_methods"] == ["curve25519-sha256"]
    assert ssh.to_json()["host_key_algorithms"] == []
    assert ssh.to_json()["certificate"] is None


def test_json_round_trip() -> None:
    results = [
        _tls_result(),
        ScanResult(
            "ssh://[::1]:22",
            "ssh",
            reachable=True,
            pq_key_exchange=True,
            kex_methods=["sntrup761x25519-sha512@openssh.com"],
            host_key_algorithms=["ssh-ed25519"],
            banner="SSH-2.0-OpenSSH_9.2p1",
        ),
        ScanResult("tls://nonexistent.invalid:443", "tls", error="name does not resolve"),
    ]
    text = json.dumps({"targets": [r.to_json() for r in results]})
    assert load_results(json.loads(text)) == results
    assert load_results([r.to_json() for r in results]) == results


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"nope": []}, "not a pqe2ee scan inventory"),
        ("text", "not a pqe2ee scan inventory"),
        ({"targets": [1]}, "expected a JSON object"),
        ({"targets": [{"protocol": "tls", "reachable": True}]}, "missing 'target'"),
        ({"targets": [{"target": "x", "protocol": "ftp", "reachable": True}]}, "protocol"),
        ({"targets": [{"target": "x", "protocol": "tls", "reachable": "yes"}]}, "'reachable'"),
        (
            {"targets": [{"target": "x", "protocol": "tls", "reachable": True, "groups": [1]}]},
            "'groups'",
        ),
        (
            {"targets": [{"target": "x", "protocol": "ssh", "reachable": True, "kex_methods": 3}]},
            "'kex_methods'",
        ),
        (
            {
                "targets": [
                    {
                        "target": "x",
                        "protocol": "tls",
                        "reachable": True,
                        "certificate": {"key_type": "RSA", "key_size": True},
                    }
                ]
            },
            "certificate: 'key_size'",
        ),
    ],
)
def test_load_results_rejects(document: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_results(document)
