"""Declares the cffi-built C core; everything else lives in pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["csrc/build_core.py:ffibuilder"])
