"""What an SSH server sends the scan's probe: the identification string and KEXINIT.

Input: one byte picks the size of the pieces the bytes arrive in (0: all at once), the
rest is the server's stream, which then ends.  The probe's own readers run on it
(:mod:`pqe2ee.scan.ssh`, the parts after the socket) through an asyncio stream.

Properties: only :class:`RemoteProtocolError` (malformed, not SSH) and
``asyncio.IncompleteReadError`` (the stream ended early) escape; a success returns an
identification that starts ``SSH-2.0-`` or ``SSH-1.99-`` and name-lists of non-empty
printable names of at most 64 characters.
"""

from __future__ import annotations

import asyncio

from fuzz._common import Input, chunks
from pqe2ee.exceptions import RemoteProtocolError
from pqe2ee.scan._net import BoundedReader
from pqe2ee.scan.ssh import MAX_NAME, MAX_PACKET_LENGTH, _read_identification, _read_kexinit

_LOOP = asyncio.new_event_loop()


async def _run(pieces: list[bytes]) -> None:
    stream = asyncio.StreamReader()

    async def feed() -> None:
        for piece in pieces:
            stream.feed_data(piece)
            await asyncio.sleep(0)
        stream.feed_eof()

    feeder = asyncio.ensure_future(feed())
    reader = BoundedReader(stream, limit=MAX_PACKET_LENGTH)
    try:
        banner = await _read_identification(reader)
        assert banner.startswith(("SSH-2.0-", "SSH-1.99-")), banner
        kexinit = await _read_kexinit(reader)
    except (RemoteProtocolError, asyncio.IncompleteReadError):
        return
    finally:
        await feeder
    assert kexinit.kex_algorithms and kexinit.server_host_key_algorithms
    for names in kexinit.lists.values():
        for name in names:
            assert name and len(name) <= MAX_NAME and name.isprintable() and " " not in name


def test_one_input(data: bytes) -> None:
    source = Input(data)
    size = source.u8()
    _LOOP.run_until_complete(_run(chunks(source.rest(), size)))
