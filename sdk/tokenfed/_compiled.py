"""Which implementation of :mod:`tokenfed._hot` the verifier runs (ADR 0010).

``make`` compiles a copy of ``_hot.py`` with mypyc into the extension module
``tokenfed._hotc`` (``sdk/build_hot.py``), which records the SHA-256 of the source it was built
from. It is used only when that is the digest of ``_hot.py`` as it is now: a stale build (the
source edited since) or no build at all gives the pure-Python module, which passes the same
tests.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType

from . import _hot

__all__ = ["HOT", "compiled", "source_digest"]


def source_digest() -> str:
    """Lowercase hex SHA-256 of ``_hot.py``: what a current compiled build records."""
    return hashlib.sha256(Path(_hot.__file__).read_bytes()).hexdigest()


def compiled() -> ModuleType | None:
    """The compiled module, if it was built from ``_hot.py`` as it is now; else ``None``."""
    try:
        module = importlib.import_module("tokenfed._hotc")
    except ImportError:
        return None
    if getattr(module, "SOURCE_DIGEST", None) != source_digest():
        return None
    return module


HOT: ModuleType = compiled() or _hot
"""The implementation in use: the current compiled build, else the pure-Python module."""
