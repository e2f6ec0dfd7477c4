"""Conformance suite for tokenfed implementations.

This release ships the shared test-vector loader (:mod:`tokenfed_conformance.vectors`); the
runner that certifies implementations through a CLI adapter and over HTTP comes with a later
release.
"""

from .vectors import Vector, VectorFile, load_test_keys, load_vectors, spec_dir, vector_kinds

__all__ = ["Vector", "VectorFile", "load_test_keys", "load_vectors", "spec_dir", "vector_kinds"]
