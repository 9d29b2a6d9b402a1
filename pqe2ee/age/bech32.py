"""Bech32 (BIP 173) as age uses it for keys: no length limit, one case per string.

age encodes recipients in lower case (``age1…``, ``age1pq1…``) and identities in upper
case (``AGE-SECRET-KEY-1…``).  This is the original Bech32 checksum (constant 1), not
Bech32m.  An encoding, not a cryptographic primitive: the checksum only catches typos.
"""

from __future__ import annotations

__all__ = ["decode", "decode_key", "encode"]

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_REVERSE = {c: i for i, c in enumerate(_CHARSET)}
_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: list[int]) -> int:
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i, g in enumerate(_GEN):
            if (top >> i) & 1:
                chk ^= g
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: bytes | list[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc = bits = 0
    out = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise ValueError("bech32: non-zero padding bits")
    return out


def encode(hrp: str, data: bytes, *, upper: bool = False) -> str:
    """Encode ``data`` under the human-readable prefix ``hrp`` (given in lower case)."""
    values = _convert_bits(data, 8, 5, True)
    polymod = _polymod([*_hrp_expand(hrp), *values, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    s = hrp + "1" + "".join(_CHARSET[v] for v in values + checksum)
    return s.upper() if upper else s


def decode(s: str) -> tuple[str, bytes]:
    """``(hrp, data)`` of a Bech32 string; the hrp is returned in lower case.

    :raises ValueError: mixed case, a character outside the alphabet, no separator, a
        bad checksum or non-zero padding bits.
    """
    if s.lower() != s and s.upper() != s:
        raise ValueError("bech32: mixed case")
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        raise ValueError("bech32: invalid character")
    s = s.lower()
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s):
        raise ValueError("bech32: missing separator or too short")
    hrp, rest = s[:pos], s[pos + 1 :]
    try:
        values = [_REVERSE[c] for c in rest]
    except KeyError:
        raise ValueError("bech32: invalid character") from None
    if _polymod([*_hrp_expand(hrp), *values]) != 1:
        raise ValueError("bech32: bad checksum (a typo?)")
    return hrp, bytes(_convert_bits(values[:-6], 5, 8, False))


def decode_key(s: str, hrp: str, size: int, *, upper: bool, what: str) -> bytes:
    """The ``size`` bytes of an age key string with prefix ``hrp``, in its one case.

    :raises ValueError: not such a key; the message names ``what`` and never the input.
    """
    got_hrp, data = decode(s)
    if got_hrp != hrp or s != (s.upper() if upper else s.lower()) or len(data) != size:
        raise ValueError(f"not {what}")
    return data
