"""Result rows and the machine description that every report carries.

A row is one measured figure: ``group`` (``kem``, ``handshake``, ``stream``, ``netmodel``),
``name``, ``mode`` (``classical``, ``hybrid``, ``pq`` or None), ``metric``, ``value``,
``unit``, and optionally ``p99`` and ``spread`` (interquartile range over the median),
so a reader can see when the noise is large.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from pqe2ee._version import __version__

__all__ = ["NOISY", "Report", "Row", "machine_info"]

#: Spread (IQR / median) above which a figure is flagged as noisy in reports.
NOISY = 0.15


@dataclass(frozen=True)
class Row:
    """One measured figure of a report (the fields are described in the module docstring)."""

    group: str
    name: str
    mode: str | None
    metric: str
    value: float
    unit: str
    p99: float | None = None
    spread: float | None = None


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """CPU, cores, OS, Python, OpenSSL and backend versions: who measured what."""
    from pqe2ee.backends import backend_status
    from pqe2ee.hazmat import core

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "pqe2ee": __version__,
        "backends": backend_status(),
        "c_core_libcrypto": core.libcrypto_version(),
        "load_average_at_start": load,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }


@dataclass
class Report:
    """Everything one ``pqe2ee bench`` run measured."""

    machine: dict[str, Any] = field(default_factory=machine_info)
    results: list[Row] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def add(self, row: Row) -> None:
        """Append one measured figure."""
        self.results.append(row)

    def find(
        self, group: str, metric: str, mode: str | None = None, name: str | None = None
    ) -> list[Row]:
        """Every row of ``group`` and ``metric``, narrowed to ``mode`` and ``name`` if given."""
        return [
            r
            for r in self.results
            if r.group == group
            and r.metric == metric
            and (mode is None or r.mode == mode)
            and (name is None or r.name == name)
        ]

    def value(
        self, group: str, metric: str, mode: str | None = None, name: str | None = None
    ) -> float:
        """The value of the first row :meth:`find` returns.

        :raises KeyError: no such row (a report from a smaller budget, or another version).
        """
        rows = self.find(group, metric, mode, name)
        if not rows:
            raise KeyError(f"no {group}/{metric} result for mode={mode} name={name}")
        return rows[0].value

    def to_json(self) -> str:
        """The report as JSON (machine, settings, rows), readable by :meth:`from_json`."""
        return json.dumps(
            {
                "machine": self.machine,
                "settings": self.settings,
                "results": [asdict(r) for r in self.results],
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Report:
        """Load a report written by :meth:`to_json`.

        :raises ValueError: not such a report (the message says what is missing).
        """
        try:
            data = json.loads(text)
            rows = [Row(**r) for r in data["results"]]
            return cls(
                machine=dict(data["machine"]), results=rows, settings=dict(data.get("settings", {}))
            )
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ValueError(f"not a pqe2ee bench JSON report: {exc}") from None
