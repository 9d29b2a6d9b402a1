"""The package version; also stamped into the compiled core so a stale build is caught."""

__version__ = "0.1.0"
