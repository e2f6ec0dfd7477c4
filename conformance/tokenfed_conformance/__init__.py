"""Conformance suite for tokenfed implementations: ``tokenfed-conformance``.

The suite runs an implementation in any language through a command-line adapter
(``conformance/PROTOCOL.md``), judges it against the spec's vectors and against cases it
generates from a printed seed, writes JSON, JUnit XML and HTML reports, and signs certificates
for the profiles an implementation passes. It never imports ``tokenfed``.

:mod:`tokenfed_conformance.vectors` is the one loader of the spec's test vectors, shared with
the SDK's own tests.
"""

from ._about import SPEC_VERSION, SUITE_VERSION
from .vectors import Vector, VectorFile, load_test_keys, load_vectors, spec_dir, vector_kinds

__version__ = SUITE_VERSION

__all__ = [
    "SPEC_VERSION",
    "SUITE_VERSION",
    "Vector",
    "VectorFile",
    "__version__",
    "load_test_keys",
    "load_vectors",
    "spec_dir",
    "vector_kinds",
]
