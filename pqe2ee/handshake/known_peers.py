"""A known-peers file with trust on first use, like SSH's ``known_hosts``.

One line per peer: ``NAME KIND FINGERPRINT`` (fingerprint as 64 hex digits; ``#``
starts a comment).  The first time a name is seen its identity is recorded; afterwards a
different identity for the same name raises :class:`KnownPeerMismatch` naming the file
and line.  Nothing is ever silently replaced: edit or delete the line to accept a new key.
"""

from __future__ import annotations

import os
from pathlib import Path

from pqe2ee.exceptions import InvalidInput, KnownPeerMismatch
from pqe2ee.handshake.identity import PublicIdentity, parse_fingerprint

__all__ = ["KnownPeers"]


class KnownPeers:
    """The known-peers file at ``path`` (created on first write)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def _entries(self) -> dict[str, tuple[int, str, bytes]]:
        entries: dict[str, tuple[int, str, bytes]] = {}
        if not self.path.exists():
            return entries
        for number, raw in enumerate(self.path.read_text().splitlines(), start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split(maxsplit=2)
            if len(parts) != 3:
                raise InvalidInput(f"{self.path}:{number}: want 'NAME KIND FINGERPRINT'")
            name, kind, fp = parts
            try:
                entries.setdefault(name, (number, kind, parse_fingerprint(fp)))
            except ValueError as exc:
                raise InvalidInput(f"{self.path}:{number}: {exc}") from None
        return entries

    def entries(self) -> dict[str, bytes]:
        """Every name in the file and its fingerprint (the first line for a name wins).

        :raises InvalidInput: a malformed line (the message names the file and line).
        """
        return {name: fp for name, (_, _, fp) in self._entries().items()}

    def lookup(self, name: str) -> bytes | None:
        """The fingerprint recorded for ``name``, if any."""
        entry = self._entries().get(name)
        return entry[2] if entry else None

    def check(self, name: str, identity: PublicIdentity, *, trust_on_first_use: bool = True) -> str:
        """Accept ``identity`` for ``name`` or raise.

        :returns: ``"known"`` when it matches the file, ``"added"`` when it was recorded now.
        :raises KnownPeerMismatch: the file has another identity for ``name``.
        :raises IdentityRejected: unknown name and ``trust_on_first_use`` is off.
        """
        if not name or any(c.isspace() for c in name):
            raise ValueError(f"peer name must be non-empty without spaces: {name!r}")
        entry = self._entries().get(name)
        fp = identity.fingerprint()
        if entry is not None:
            number, _, known = entry
            if known != fp:
                raise KnownPeerMismatch(
                    f"IDENTITY OF {name} HAS CHANGED: {self.path}:{number} expects "
                    f"{known.hex()}, the peer presented {fp.hex()}. Someone may be in the "
                    "middle, or the peer has a new key; if you trust the new key, edit that line."
                )
            return "known"
        if not trust_on_first_use:
            from pqe2ee.exceptions import IdentityRejected

            raise IdentityRejected(f"{name} is not in {self.path} and trust on first use is off")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(f"{name} {identity.kind.value} {fp.hex()}\n")
            f.flush()
            os.fsync(f.fileno())
        return "added"
