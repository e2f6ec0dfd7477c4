"""The version of the specification this SDK implements, in a module that imports nothing, so
that ``import tokenfed`` stays light."""

SPEC_VERSION = "1.0"
"""The version of the specification this SDK implements."""
