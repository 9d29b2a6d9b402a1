"""Process limits the long-running commands raise for themselves."""

from __future__ import annotations

import logging
import resource

__all__ = ["raise_fd_limit"]


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (never lower it): a tunnel or a scan
    holds a descriptor per connection, and the usual soft limit of 1024 is below what
    either needs.

    :returns: the soft limit now in force.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (OSError, ValueError):  # e.g. an infinite hard limit the kernel caps
            return soft
        logging.getLogger("pqe2ee").debug("open files: soft limit %s -> %s", soft, hard)
        return hard
    return soft
