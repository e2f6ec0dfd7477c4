"""Versions the suite states in its reports and certificates."""

from __future__ import annotations

from importlib import metadata

__all__ = ["SPEC_VERSION", "SUITE_NAME", "SUITE_VERSION"]

SUITE_NAME = "tokenfed-conformance"
"""The suite's command and distribution name."""


def _version() -> str:
    try:
        return metadata.version(SUITE_NAME)
    except metadata.PackageNotFoundError:  # run from a checkout without the distribution
        return "0.1.0.dev0"


SUITE_VERSION = _version()
"""The suite's version (of the installed distribution), stated in every report and
certificate."""
SPEC_VERSION = "1.0"
"""The tokenfed specification version the suite tests."""
