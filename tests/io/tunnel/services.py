"""Private instances of real services for the tunnel tests: redis-server and PostgreSQL
on free loopback ports, in temporary directories, stopped and removed afterwards.

The binaries come from Debian's packages (``.ci/run`` installs them).  A test is skipped,
with the reason, only when they truly are not on the machine.  PostgreSQL refuses to run
as root: as root it runs as the ``pqe2ee-test`` system user (made by ``.ci/run``), or
as ``postgres`` when that one exists instead.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator

import pytest

from pqe2ee.io.tunnel import Endpoint

START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:  # bounded in time
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on port {port} within {START_TIMEOUT} s")


@contextlib.contextmanager
def redis_server() -> Iterator[Endpoint]:
    """A private redis-server: no persistence, loopback only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="pqe2ee-redis-") as tmp:
        args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--appendonly", "no", "--dir", tmp, "--daemonize", "no"]
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(port, proc, "redis-server")
            yield Endpoint("127.0.0.1", port)
        finally:
            proc.terminate()
            proc.wait(30)


def _postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return os.path.dirname(found[-1])
    initdb = shutil.which("initdb")
    return os.path.dirname(initdb) if initdb else None


def _run_as() -> list[str]:
    """The command prefix that runs PostgreSQL as a non-root user (empty if not root)."""
    if os.geteuid() != 0:
        return []
    for user in ("pqe2ee-test", "postgres"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(user)
            runuser = shutil.which("runuser")
            if runuser is None:
                pytest.skip("running as root without runuser: cannot start PostgreSQL")
            return [runuser, "-u", user, "--"]
    pytest.skip("running as root and no pqe2ee-test or postgres user (see .ci/run)")


@contextlib.contextmanager
def postgres_server() -> Iterator[Endpoint]:
    """A private PostgreSQL cluster (trust authentication, superuser ``postgres``,
    fsync off), listening on 127.0.0.1 only."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    prefix = _run_as()
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="pqe2ee-pg-")
    try:
        if prefix:
            user = pwd.getpwnam(prefix[2])
            os.chown(tmp, user.pw_uid, user.pw_gid)
        data = os.path.join(tmp, "data")
        initdb = [f"{bindir}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        subprocess.run(
            [*prefix, *initdb, "--no-sync"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
        pg_ctl = [f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", f"{tmp}/log", "-w"]
        subprocess.run(
            [*prefix, *pg_ctl, "-t", str(int(START_TIMEOUT)), "start"],
            check=True,
            capture_output=True,
            timeout=START_TIMEOUT + 30,
        )
        try:
            yield Endpoint("127.0.0.1", port)
        finally:
            subprocess.run(
                [*prefix, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                capture_output=True,
                timeout=60,
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
