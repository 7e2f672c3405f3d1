"""The installed version of gvcdyn, importable without importing the package's API."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("gvcdyn")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0+unknown"
