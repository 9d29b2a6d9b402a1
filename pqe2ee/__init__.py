"""pqe2ee: hybrid post-quantum end-to-end encryption for Python."""

from pqe2ee._version import __version__
from pqe2ee.exceptions import (
    BackendUnavailable,
    InternalError,
    InvalidInput,
    InvalidTag,
    MissingExtra,
    Pqe2eeError,
    UnsupportedAlgorithm,
)

__all__ = [
    "BackendUnavailable",
    "InternalError",
    "InvalidInput",
    "InvalidTag",
    "MissingExtra",
    "Pqe2eeError",
    "UnsupportedAlgorithm",
    "__version__",
]
