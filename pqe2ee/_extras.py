"""Optional dependencies: import one, or say which extra of pqe2ee installs it.

The core install (``pip install pqe2ee``) runs every command; a few features need an
extra (``plots``: matplotlib for the HTML reports; ``oqs``: liboqs-python).  Asking for
one that is missing raises :class:`~pqe2ee.exceptions.MissingExtra` naming the feature
and the ``pip install`` line, never a bare ``ModuleNotFoundError``.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from pqe2ee.exceptions import MissingExtra

__all__ = ["install_line", "require"]


def install_line(extra: str) -> str:
    """The command that installs ``extra``: ``pip install 'pqe2ee[plots]'``."""
    return f"pip install 'pqe2ee[{extra}]'"


def require(module: str, *, extra: str, needed_for: str, package: str | None = None) -> ModuleType:
    """Import ``module``, which the extra ``extra`` provides.

    :param needed_for: what for, as the message says it ("for the plots of the HTML
        report").
    :param package: the distribution's name when it differs from ``module``'s.
    :raises MissingExtra: ``module`` cannot be imported; the message says what to install.
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        name = package or module.partition(".")[0]
        raise MissingExtra(
            f"{name} is needed {needed_for} but is not installed: {install_line(extra)}",
            extra=extra,
        ) from exc
    except ImportError as exc:  # installed, but broken (a missing shared library...)
        name = package or module.partition(".")[0]
        raise MissingExtra(
            f"{name} is needed {needed_for} but fails to import ({exc}); reinstall it: "
            f"{install_line(extra)}",
            extra=extra,
        ) from exc
