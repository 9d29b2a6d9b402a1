"""Backends: who does the ML-KEM (FIPS 203) and ML-DSA (FIPS 204) arithmetic.

``cryptography`` is the default and always present.  ``oqs`` (liboqs) is used when a
liboqs shared library exists on the machine; it is never downloaded or built.  Backends
are loaded lazily, once, and a backend that cannot load says why
(:func:`backend_status`).  ``PQE2EE_BACKEND=oqs`` puts liboqs first in the chain, for
KEMs (:func:`find_mlkem`) and signatures (:func:`find_mldsa`) alike.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from typing import TypeVar

from pqe2ee.backends._interface import Backend, MLDSAOps, MLKEMOps
from pqe2ee.exceptions import BackendUnavailable, UnsupportedAlgorithm

_OpsT = TypeVar("_OpsT", MLKEMOps, MLDSAOps)

__all__ = [
    "BACKEND_NAMES",
    "Backend",
    "MLDSAOps",
    "MLKEMOps",
    "backend_chain",
    "backend_status",
    "find_mldsa",
    "find_mlkem",
    "get_backend",
]


def _load_cryptography() -> Backend:
    from pqe2ee.backends._cryptography import CryptographyBackend

    return CryptographyBackend()


def _load_oqs() -> Backend:
    from pqe2ee.backends._oqs import OqsBackend

    return OqsBackend()


_LOADERS: dict[str, Callable[[], Backend]] = {
    "cryptography": _load_cryptography,
    "oqs": _load_oqs,
}
BACKEND_NAMES = tuple(_LOADERS)


@cache
def _load(name: str) -> Backend | BackendUnavailable:
    try:
        return _LOADERS[name]()
    except BackendUnavailable as exc:
        return exc


def get_backend(name: str) -> Backend:
    """The named backend, loaded once.

    :raises ValueError: no backend has that name.
    :raises BackendUnavailable: it cannot be loaded here (the message says why).
    """
    if name not in _LOADERS:
        raise ValueError(f"unknown backend {name!r}; choose from {', '.join(BACKEND_NAMES)}")
    result = _load(name)
    if isinstance(result, BackendUnavailable):
        raise result
    return result


def backend_status() -> dict[str, str]:
    """For each backend: its version if it loads, else ``"unavailable: <why>"``."""
    status = {}
    for name in BACKEND_NAMES:
        result = _load(name)
        if isinstance(result, BackendUnavailable):
            status[name] = f"unavailable: {result}"
        else:
            status[name] = result.version()
    return status


def backend_chain() -> list[str]:
    """Backend names in the order a KEM or signature scheme looks for a provider.

    ``cryptography`` first unless ``PQE2EE_BACKEND`` names another one to prefer.
    """
    preferred = os.environ.get("PQE2EE_BACKEND", "cryptography")
    if preferred not in _LOADERS:
        raise ValueError(
            f"PQE2EE_BACKEND={preferred!r} is not a backend; choose from {', '.join(BACKEND_NAMES)}"
        )
    return [preferred] + [n for n in BACKEND_NAMES if n != preferred]


def find_mlkem(param_set: str, backend: str | None = None) -> tuple[str, MLKEMOps]:
    """The named backend's ``param_set``, or the first backend in the chain that has it.

    :raises BackendUnavailable: ``backend`` was named and cannot be loaded here.
    :raises UnsupportedAlgorithm: no backend offers it; the message says why for each.
    """
    return _find(param_set, backend, lambda b: b.mlkem(param_set))


def find_mldsa(param_set: str, backend: str | None = None) -> tuple[str, MLDSAOps]:
    """Like :func:`find_mlkem`, for an ML-DSA parameter set ("ML-DSA-65")."""
    return _find(param_set, backend, lambda b: b.mldsa(param_set))


def _find(
    param_set: str, backend: str | None, offer: Callable[[Backend], _OpsT | None]
) -> tuple[str, _OpsT]:
    if backend is not None:
        ops = offer(get_backend(backend))
        if ops is None:
            raise UnsupportedAlgorithm(f"{param_set} is not available on the {backend} backend")
        return backend, ops
    reasons = []
    for name in backend_chain():
        try:
            ops = offer(get_backend(name))
        except BackendUnavailable as exc:
            reasons.append(str(exc))
            continue
        if ops is not None:
            return name, ops
        reasons.append(f"{name} backend has no {param_set}")
    raise UnsupportedAlgorithm(f"{param_set} is not available here: " + "; ".join(reasons))
