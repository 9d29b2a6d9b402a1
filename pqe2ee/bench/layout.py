"""The HTML of the reports: the page shell and its stylesheet, tables, figures, cards.

Everything is escaped here, and every number arrives already formatted by
:mod:`pqe2ee.bench.humanize`; the stylesheet reflows for a phone (cards wrap, wide
tables scroll sideways, plots switch to their narrow rendering).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pqe2ee.bench.humanize import (
    count,
    duration_ms,
    duration_us,
    number,
    percent,
    text_of,
)
from pqe2ee.bench.humanize import ratio as ratio_text
from pqe2ee.bench.report import Plot
from pqe2ee.bench.results import NOISY, Row

__all__ = [
    "card",
    "docstring_html",
    "figure",
    "machine_table",
    "page",
    "results_table",
    "row_value",
    "table",
]

NARROW_MEDIA = "(max-width: 640px)"

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f}
main{max-width:1120px;margin:0 auto;padding:1.25rem 1.5rem 3rem}
h1{font-size:1.7rem;line-height:1.2;margin:.2em 0}
h2{font-size:1.25rem;margin:2em 0 .5em;padding-top:.5em;border-top:1px solid #e5e5e5}
.sub{color:#555;margin:0 0 1em}
.verdict{font-size:1.15rem;margin:1em 0;padding:.8em 1em;border-left:6px solid #1f77b4;
 background:#f3f7fc;border-radius:0 6px 6px 0}
.verdict.cheap{border-color:#2ca02c;background:#f1f8f1}
.verdict.affordable{border-color:#e6a100;background:#fdf8ec}
.verdict.expensive,.verdict.at-risk{border-color:#d62728;background:#fcf1f1}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(230px,1fr));gap:.8rem;
 margin:1em 0}
.card{border:1px solid #ddd;border-radius:8px;padding:.7em 1em}
.card h3{font-size:.85rem;text-transform:uppercase;letter-spacing:.04em;color:#555;margin:0}
.card .big{font-size:1.7rem;font-weight:650;line-height:1.3}
.card p{margin:.2em 0;font-size:.92rem;color:#333}
.note{color:#555;font-size:.92rem}
.scroll{overflow-x:auto;-webkit-overflow-scrolling:touch;margin:.8em 0}
table{border-collapse:collapse;font-size:.9rem}
th,td{padding:.3em .7em;border-bottom:1px solid #e5e5e5;text-align:left;vertical-align:top}
thead th{border-bottom:2px solid #bbb;vertical-align:bottom}
table.suites td:first-child{white-space:nowrap}
td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
table.kv th{font-weight:600;color:#444;white-space:nowrap}
figure{margin:1.2em 0}
figure img{display:block;width:100%;height:auto}
figcaption{color:#555;font-size:.92rem;margin-top:.3em}
code{background:#f3f3f3;padding:0 .25em;border-radius:3px;font-size:.9em}
details summary{cursor:pointer;font-weight:600}
.noisy{color:#b35900}
@media (max-width:640px){
 body{font-size:15px} main{padding:.8rem .8rem 2rem} h1{font-size:1.35rem}
 .verdict{font-size:1.02rem} .card .big{font-size:1.45rem}
 table{font-size:.82rem} th,td{padding:.25em .45em}
}
"""


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def page(title: str, subtitle: str, body: Iterable[str]) -> str:
    """A complete, self-contained HTML document (no external resource of any kind)."""
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>"
        f"<h1>{_e(title)}</h1><p class='sub'>{_e(subtitle)}</p>"
        + "".join(body)
        + "</main></body></html>"
    )


def section(heading: str, *parts: str, anchor: str = "") -> str:
    """A titled section of the page."""
    ident = f" id='{_e(anchor)}'" if anchor else ""
    return f"<section{ident}><h2>{_e(heading)}</h2>{''.join(parts)}</section>"


def card(title: str, big: str, *lines: str) -> str:
    """A summary card: a heading, one large figure, a few explanatory lines."""
    body = "".join(f"<p>{_e(line)}</p>" for line in lines if line)
    return f"<div class='card'><h3>{_e(title)}</h3><div class='big'>{_e(big)}</div>{body}</div>"


def table(
    head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = (), cls: str = ""
) -> str:
    """A table in a sideways-scrolling box; columns in ``numeric`` right-aligned."""
    num = set(numeric)
    thead = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td class='n'>{_e(v)}</td>" if i in num else f"<td>{_e(v)}</td>"
            for i, v in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    klass = f" class='{_e(cls)}'" if cls else ""
    return (
        f"<div class='scroll'><table{klass}><thead><tr>{thead}</tr></thead>"
        f"<tbody>{body}</tbody></table></div>"
    )


def kv_table(pairs: Iterable[tuple[str, str]], titles: Mapping[str, str] | None = None) -> str:
    """A two-column label/value table (machine, settings, profile)."""
    titles = titles or {}
    rows = "".join(
        f"<tr><th>{_e(k)}</th><td"
        + (f" title='{_e(titles[k])}'" if k in titles else "")
        + f">{_e(v)}</td></tr>"
        for k, v in pairs
    )
    return f"<div class='scroll'><table class='kv'><tbody>{rows}</tbody></table></div>"


def figure(plot: Plot) -> str:
    """A plot: the narrow rendering on a phone, the wide one elsewhere, and its caption."""
    return (
        f"<figure id='plot-{_e(plot.key)}'><picture>"
        f"<source media='{NARROW_MEDIA}' srcset='{plot.narrow}'>"
        f"<img alt='{_e(plot.caption)}' src='{plot.wide}'></picture>"
        f"<figcaption>{_e(plot.note)}</figcaption></figure>"
    )


_MACHINE_LABELS = {
    "cpu": "CPU",
    "cores": "cores",
    "machine": "architecture",
    "os": "operating system",
    "python": "Python",
    "pqe2ee": "pqe2ee",
    "c_core_libcrypto": "C core's OpenSSL",
    "load_average_at_start": "load average at start",
    "date": "measured",
}


def machine_table(machine: Mapping[str, Any]) -> str:
    """Who measured what: CPU, cores, OS and every version, as a small table.

    A backend that is unavailable shows as such, its reason on hover.
    """
    pairs: list[tuple[str, str]] = []
    titles: dict[str, str] = {}
    for key, value in machine.items():
        if key == "backends" and isinstance(value, Mapping):
            for name, status in value.items():
                label = f"backend {name}"
                status = str(status)
                if status.startswith("unavailable"):
                    titles[label] = status
                    status = "not available"
                pairs.append((label, status))
            continue
        pairs.append((_MACHINE_LABELS.get(key, key.replace("_", " ")), text_of(value)))
    return kv_table(pairs, titles)


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``|`([^`]+)`")


def _inline(text: str) -> str:
    text = _ROLE.sub(lambda m: m.group(1).rsplit(".", 1)[-1], text)
    out, pos = [], 0
    for m in _LITERAL.finditer(text):
        out.append(_e(text[pos : m.start()]))
        out.append(f"<code>{_e(m.group(1) or m.group(2))}</code>")
        pos = m.end()
    out.append(_e(text[pos:]))
    return "".join(out)


def docstring_html(doc: str) -> str:
    """A module docstring (paragraphs, ``-`` lists, reST literals and roles) as HTML."""
    blocks: list[str] = []
    items: list[str] = []
    para: list[str] = []

    def flush_para() -> None:
        if para:
            blocks.append(f"<p>{_inline(' '.join(para))}</p>")
            para.clear()

    def flush_items() -> None:
        if items:
            blocks.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in doc.strip().splitlines():
        line = raw.strip()
        if not line:
            flush_para()
            flush_items()
        elif line.startswith("- "):
            flush_para()
            items.append(line[2:])
        elif items and raw.startswith("  "):
            items[-1] += " " + line
        else:
            flush_items()
            para.append(line)
    flush_para()
    flush_items()
    return "".join(blocks)


_METRIC_LABELS = {
    "keygen_us": "key generation",
    "encaps_us": "encapsulation",
    "decaps_us": "decapsulation",
    "public_key_bytes": "public key",
    "ciphertext_bytes": "ciphertext",
    "client_cpu_ms": "client CPU per handshake",
    "server_cpu_ms": "server CPU per handshake",
    "handshakes_per_s_per_core": "handshakes per server core (in memory)",
    "wire_bytes": "bytes on the wire",
    "wire_bytes_c2s": "bytes client → server",
    "wire_bytes_s2c": "bytes server → client",
    "flight1_bytes": "ClientHello",
    "flight2_bytes": "server flight",
    "flight3_bytes": "client Finished flight",
    "flight1_packets": "ClientHello packets",
    "flight2_packets": "server flight packets",
    "flight3_packets": "client Finished packets",
    "latency_us": "loopback latency",
    "handshakes_per_s": "loopback handshakes per second",
    "server_capacity_per_core": "server capacity per core (loopback)",
    "completion_p50_ms": "modelled completion, median",
    "completion_p95_ms": "modelled completion, p95",
    "completion_p99_ms": "modelled completion, p99",
    "completion_mean_ms": "modelled completion, mean",
    "throughput_mb_s": "throughput",
    "ratio_to_raw": "against the raw AEAD",
}


def metric_label(metric: str) -> str:
    """A metric's name in words."""
    return _METRIC_LABELS.get(metric, metric.replace("_", " "))


def row_value(value: float, unit: str) -> str:
    """A measured value in its unit, for people."""
    if unit == "ms":
        return duration_ms(value)
    if unit == "us":
        return duration_us(value)
    if unit.startswith("B"):
        return f"{count(value)} B"
    if unit == "1/s":
        return f"{count(value)}/s"
    if unit == "x":
        return ratio_text(value)
    if unit.startswith("packets"):
        return count(value)
    return f"{number(value)} {unit}".strip()


def results_table(rows: Sequence[Row]) -> str:
    """Every measured figure, in words and units; a noisy one flagged with its spread."""
    body = []
    for r in rows:
        spread = ""
        if r.spread is not None:
            spread = percent(r.spread) + (" noisy" if r.spread > NOISY else "")
        body.append(
            [
                r.group,
                r.name,
                r.mode or "baseline",
                metric_label(r.metric),
                row_value(r.value, r.unit),
                "" if r.p99 is None else row_value(r.p99, r.unit),
                spread,
            ]
        )
    head = ("group", "what", "mode", "figure", "median or value", "p99", "spread")
    return table(head, body, numeric=(4, 5, 6))
