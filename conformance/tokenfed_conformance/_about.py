"""Versions the suite states in its reports and certificates."""

from __future__ import annotations

__all__ = ["SPEC_VERSION", "SUITE_NAME", "SUITE_VERSION"]

SUITE_NAME = "tokenfed-conformance"
"""The suite's command and distribution name."""
SUITE_VERSION = "0.1.0"
"""The suite's version, stated in every report and certificate."""
SPEC_VERSION = "1.0"
"""The tokenfed specification version the suite tests."""
