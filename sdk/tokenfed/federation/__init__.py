"""Federation: trust between alliances through an OpenID Federation 1.1 profile (spec: federation).

Metadata policy (FED-100..FED-121): :func:`merge_policies` and :func:`apply_policy`.
Historical keys and archived chains (FED-150..FED-156): :class:`HistoricalKeys`,
:func:`sign_historical_keys`.
"""

from __future__ import annotations

from ._history import (
    HISTORICAL_KEYS_MEDIA_TYPE,
    HISTORICAL_KEYS_TYP,
    HistoricalKey,
    HistoricalKeys,
    sign_historical_keys,
)
from ._policy import apply_policy, merge_policies

__all__ = [
    "HISTORICAL_KEYS_MEDIA_TYPE",
    "HISTORICAL_KEYS_TYP",
    "HistoricalKey",
    "HistoricalKeys",
    "apply_policy",
    "merge_policies",
    "sign_historical_keys",
]
