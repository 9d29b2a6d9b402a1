"""Primitives.  Dangerous when misused: prefer the recipes unless you know the protocol."""
