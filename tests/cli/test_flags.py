"""What every command shares: ``-v`` / ``-q``, defaults in ``--help``, usage errors that
list the sub-commands, ``tunnel --log-format json``, ``migrate --json`` and shell
completion generated from the parsers."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pqe2ee.bench.runner import Budget, run
from pqe2ee.cli import build_parser, subparsers
from pqe2ee.cli.output import JsonFormatter
from pqe2ee.io.tunnel.connlog import ConnectionRecord

PQE2EE = [sys.executable, "-m", "pqe2ee"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PQE2EE, *args], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )


def _leaves(
    parser: argparse.ArgumentParser, path: str = "pqe2ee"
) -> list[tuple[str, argparse.ArgumentParser]]:
    children = subparsers(parser)
    if not children:
        return [(path, parser)]
    return [leaf for name, child in children.items() for leaf in _leaves(child, f"{path} {name}")]


LEAVES = _leaves(build_parser())


def test_the_tree_has_every_command() -> None:
    names = {path for path, _ in LEAVES}
    for want in ("pqe2ee keygen", "pqe2ee tunnel server", "pqe2ee age encrypt", "pqe2ee bench"):
        assert want in names
    assert "pqe2ee completion" in names


@pytest.mark.parametrize(("path", "parser"), LEAVES, ids=[p for p, _ in LEAVES])
def test_every_command_has_v_and_q_and_shows_its_defaults(
    path: str, parser: argparse.ArgumentParser
) -> None:
    options = {o for a in parser._actions for o in a.option_strings}
    assert {"-v", "--verbose", "-q", "--quiet"} <= options, path
    text = parser.format_help()
    for action in parser._actions:
        if action.default in (None, False, [], argparse.SUPPRESS) or not action.option_strings:
            continue
        if isinstance(action, argparse._CountAction):
            continue
        assert action.help and "default" in action.help, (path, action.dest)
    assert "%(default)" not in text


def test_defaults_are_in_the_help_text() -> None:
    out = _run("listen", "--help").stdout
    assert "--host HOST" in out and "(default: 127.0.0.1)" in out
    assert "(default: 30.0)" in out  # --handshake-timeout
    out = _run("migrate", "--help").stdout
    assert f"default: the profile file's, else this machine's {os.cpu_count()}" in " ".join(
        out.split()
    )


@pytest.mark.parametrize(
    ("argv", "choices"),
    [
        ([], "{kem,info,demo,keygen,fingerprint,safety-number,listen,connect,tunnel,bench,"
             "migrate,age,scan,completion}"),
        (["tunnel"], "{server,client}"),
        (["age"], "{keygen,convert,encrypt,decrypt}"),
        (["kem"], "{list}"),
    ],
)  # fmt: skip
def test_a_missing_sub_command_lists_them_all(argv: list[str], choices: str) -> None:
    out = _run(*argv)
    assert out.returncode == 2
    assert f"the following arguments are required: {choices}" in out.stderr


def test_quiet_silences_informational_lines(tmp_path: Path) -> None:
    loud = _run("keygen", "-o", str(tmp_path / "a"))
    assert loud.returncode == 0 and "pqe2ee: wrote" in loud.stderr
    quiet = _run("keygen", "-q", "-o", str(tmp_path / "b"))
    assert quiet.returncode == 0
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("ed25519 ")  # the result itself is not silenced
    failed = _run("fingerprint", "-q", str(tmp_path / "missing"))
    assert failed.returncode == 1 and "pqe2ee: error:" in failed.stderr  # errors never are
    assert _run("keygen", "-v", "-q", "-o", str(tmp_path / "c")).returncode == 2


def test_tunnel_log_format_json_writes_one_object_per_line(tmp_path: Path) -> None:
    assert _run("keygen", "-o", str(tmp_path / "server.key")).returncode == 0
    proc = subprocess.Popen(
        [*PQE2EE, "tunnel", "server", "--listen", "127.0.0.1:0", "--forward", "127.0.0.1:9",
         "--identity", str(tmp_path / "server.key"), "--allow", "00" * 32,
         "--log-format", "json"],
        stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stderr is not None
    first = json.loads(proc.stderr.readline())
    assert first["message"].startswith("tunnel server: listening on 127.0.0.1:")
    assert first["level"] == "info" and first["logger"] == "pqe2ee.tunnel"
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(60) == 0
    lines = [json.loads(line) for line in rest.splitlines()]
    assert lines and lines[-1]["message"] == "tunnel server: stopped"


def test_a_connection_line_carries_its_fields_in_json() -> None:
    record = ConnectionRecord("server", 7, "127.0.0.1:5", peer="ab" * 32, up=3, down=4, pq_rekeys=2)
    record.finish("closed", clean=True)
    captured: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = captured.append  # type: ignore[method-assign]
    logger = logging.getLogger("pqe2ee.tunnel")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        record.log()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)
    line = json.loads(JsonFormatter().format(captured[0]))
    assert line["conn"] == 7 and line["up"] == 3 and line["down"] == 4
    assert line["end"] == "closed" and line["peer"] == "ab" * 32
    assert line["message"].startswith("tunnel server conn=7 ")
    assert line["pq_rekeys"] == 2 and " up=3 down=4 pq_rekeys=2 " in line["message"]


def test_migrate_json(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    report.write_text(run(Budget.tiny()).to_json())
    out = _run("migrate", "--from-json", str(report), "--runs", "20", "--json")
    assert out.returncode == 0, out.stderr
    document = json.loads(out.stdout)
    assert document["profile"]["cores"] == os.cpu_count()
    assert {c["mode"] for c in document["costs"]} >= {"classical", "hybrid"}
    assert document["recommendation"] and all(
        isinstance(r, str) for r in document["recommendation"]
    )


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_bash_completion_is_valid_and_completes(tmp_path: Path) -> None:
    out = _run("completion", "bash")
    assert out.returncode == 0
    script = tmp_path / "pqe2ee.bash"
    script.write_text(out.stdout)
    assert subprocess.run(["bash", "-n", str(script)], timeout=60).returncode == 0

    def complete(*words: str) -> list[str]:
        words_text = " ".join(f"'{w}'" for w in words)
        probe = (
            f"source {script}; COMP_WORDS=(pqe2ee {words_text}); "
            f"COMP_CWORD={len(words)}; _pqe2ee; printf '%s\\n' \"${{COMPREPLY[@]}}\""
        )
        done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert complete("tun") == ["tunnel"]
    assert set(complete("tunnel", "")) >= {"server", "client"}
    assert "--log-format" in complete("tunnel", "server", "--log")
    assert "--change-passphrase" in complete("keygen", "--ch")


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_a_script(shell: str) -> None:
    out = _run("completion", shell)
    assert out.returncode == 0
    assert "tunnel" in out.stdout and "--log-format" in out.stdout.replace(
        "-l log-format", "--log-format"
    )
    binary = shutil.which(shell)
    if binary is not None:  # the shell parses it
        check = ["zsh", "-n"] if shell == "zsh" else ["fish", "--no-execute"]
        assert subprocess.run([*check], input=out.stdout, text=True, timeout=60).returncode == 0
