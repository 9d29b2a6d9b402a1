"""Which backends the KEM and signature tests run on: every one that loads here.

The liboqs backend loads only where a liboqs shared library exists (point
``OQS_INSTALL_PATH`` at one to test it); elsewhere its tests are not generated and
``tests/backends/test_selection.py`` checks that it reports itself unavailable with a reason.
"""

from __future__ import annotations

from pqe2ee.backends import BACKEND_NAMES, get_backend
from pqe2ee.exceptions import BackendUnavailable


def loadable_backends() -> list[str]:
    names = []
    for name in BACKEND_NAMES:
        try:
            get_backend(name)
        except BackendUnavailable:
            continue
        names.append(name)
    return names


def mlkem_on_backends() -> list[str]:
    return loadable_backends()


def mldsa_on_backends() -> list[str]:
    return [name for name in loadable_backends() if get_backend(name).mldsa("ML-DSA-65")]


def mlkem_derand_providers() -> list[str]:
    """Who can replay Encaps_internal(ek, m): the kyber-py oracle, and each backend here
    that takes fixed randomness (liboqs, through ``OQS_KEM_encaps_derand``)."""
    out = ["kyber-py"]
    for name in loadable_backends():
        ops = get_backend(name).mlkem("ML-KEM-768")
        if ops is not None and hasattr(ops, "encapsulate_derand"):
            out.append(name)
    return out
