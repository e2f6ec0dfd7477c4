"""Federation: trust between alliances through an OpenID Federation 1.1 profile (spec: federation).

Metadata policy (FED-100..FED-121): :func:`merge_policies` and :func:`apply_policy`.
"""

from __future__ import annotations

from ._policy import apply_policy, merge_policies

__all__ = [
    "apply_policy",
    "merge_policies",
]
