"""Numbers for people: fixed-point with a unit, never ``1.71e+03`` or a Python repr.

Every figure on the HTML reports goes through one of these, so a page never shows
an exponent, a dict or a list, and always says what a number counts.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "DASH",
    "MINUS",
    "TIMES",
    "count",
    "data_size",
    "duration_ms",
    "duration_us",
    "number",
    "percent",
    "ratio",
    "signed",
    "signed_size",
    "text_of",
]

#: Typographic signs (a real minus sign lines up with the plus sign; a dash marks "none").
MINUS, TIMES, DASH = "\u2212", "\u00d7", "\u2013"


def number(x: float, digits: int = 3) -> str:
    """``x`` to about ``digits`` significant figures, fixed-point, with thousands separators.

    >>> number(1712.4), number(3.14159), number(0.0123456)
    ('1,712', '3.14', '0.0123')
    """
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    decimals = max(0, digits - 1 - magnitude)
    text = f"{x:,.{decimals}f}"
    if "." in text:  # 2.50 -> 2.5, 3.00 -> 3: trailing zeros say nothing
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def count(x: float) -> str:
    """A whole count with thousands separators: ``12,345``."""
    return f"{round(x):,}"


def signed(x: float, unit: str = "", digits: int = 2) -> str:
    """A difference with its sign (``+1.2 ms``, ``-3 %`` with a minus sign; ``±0`` for none)."""
    if x == 0 or number(abs(x), digits) == "0":
        body = "±0"
    else:
        body = ("+" if x > 0 else MINUS) + number(abs(x), digits)
    return f"{body} {unit}".rstrip() if unit else body


def percent(x: float, *, sign: bool = False) -> str:
    """A fraction as a percentage: ``0.134 -> 13 %`` (``+13 %`` with ``sign``)."""
    value = x * 100
    if sign:
        return signed(value, "%", 2)
    return f"{number(value, 2)} %"


def ratio(x: float) -> str:
    """A multiple: ``5.4`` and a multiplication sign."""
    return f"{number(x, 2 if x < 10 else 3)}{TIMES}"


def data_size(n: float, digits: int = 3) -> str:
    """Bytes for people: ``512 B``, ``2.78 kB``, ``1.3 MB``, ``250 GB`` (SI units)."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(n) >= scale:
            return f"{number(n / scale, digits)} {unit}"
    return f"{count(n)} B"


def signed_size(n: float) -> str:
    """A difference in bytes with its sign: ``+2.3 kB`` (``±0 B`` for none)."""
    if round(n) == 0:
        return "±0 B"
    return ("+" if n >= 0 else MINUS) + data_size(abs(n), 2)


def duration_ms(ms: float) -> str:
    """Milliseconds for people: ``850 µs``, ``1.2 ms``, ``1.1 s``."""
    if abs(ms) >= 1000:
        return f"{number(ms / 1000)} s"
    if abs(ms) < 1 and ms != 0:
        return f"{number(ms * 1000)} µs"
    return f"{number(ms)} ms"


def duration_us(us: float) -> str:
    """Microseconds for people (see :func:`duration_ms`)."""
    return duration_ms(us / 1000)


def text_of(value: Any) -> str:
    """Any value of a report's machine or settings table as plain words.

    Mappings become ``key: value`` pairs joined by ``;``, sequences are joined by
    ``,``, floats go through :func:`number`, None becomes ``n/a``: no Python repr
    ever reaches a page.
    """
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return number(value)
    if isinstance(value, int):
        return count(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {text_of(v)}" for k, v in value.items())
    if isinstance(value, Iterable) and not isinstance(value, str | bytes):
        return ", ".join(text_of(v) for v in value)
    return str(value)
