"""Federation: trust between alliances through an OpenID Federation 1.1 profile (spec: federation).

Entity statements (:class:`EntityStatement`, :func:`sign_statement`), pinned trust anchors
(:class:`TrustAnchor`), and trust chains validated against them (:func:`validate_chain`,
:func:`select_chain`, :class:`TrustChain`, FED-001..FED-071), and trust marks
(:func:`verify_trust_mark`, FED-090, FED-091). Every chain names the anchor it
was validated under and its path; keys of different anchors are never pooled (FED-059).
Metadata policy (FED-100..FED-121): :func:`merge_policies` and :func:`apply_policy`.
Historical keys and archived chains (FED-150..FED-157): :class:`HistoricalKeys`,
:func:`sign_historical_keys`, :func:`verify_archived_chain`.
Resolution over HTTP (FED-070..FED-075): :class:`AsyncResolver`, its synchronous facade
:class:`Resolver`, :class:`Limits`, :class:`Resolution`; and :class:`FederationTrust`, the key
source that lets every verifier take its keys from the federation (FED-035).
"""

from __future__ import annotations

from ._chain import (
    KEY_TABLE,
    TRUST_CHAIN_MEDIA_TYPE,
    TRUST_MARK_TYP,
    TrustChain,
    select_chain,
    validate_chain,
    verify_trust_mark,
)
from ._fetch import Limits
from ._history import (
    HISTORICAL_KEYS_MEDIA_TYPE,
    HISTORICAL_KEYS_TYP,
    HistoricalKey,
    HistoricalKeys,
    sign_historical_keys,
    verify_archived_chain,
)
from ._ids import WELL_KNOWN_PATH, configuration_url, is_federation_entity_id
from ._keys import FederationTrust
from ._policy import apply_policy, merge_policies
from ._resolver import AsyncResolver, Resolution, Resolver
from ._statements import (
    LEEWAY,
    MAX_AUTHORITY_HINTS,
    MAX_INTERMEDIATES,
    MAX_LIFETIME,
    MAX_STATEMENTS,
    RECOGNITION_CLAIM,
    STATEMENT_MEDIA_TYPE,
    STATEMENT_TYP,
    TOKENFED_ENTITY_TYPES,
    EntityStatement,
    TrustAnchor,
    sign_statement,
)

__all__ = [
    "HISTORICAL_KEYS_MEDIA_TYPE",
    "HISTORICAL_KEYS_TYP",
    "KEY_TABLE",
    "LEEWAY",
    "MAX_AUTHORITY_HINTS",
    "MAX_INTERMEDIATES",
    "MAX_LIFETIME",
    "MAX_STATEMENTS",
    "RECOGNITION_CLAIM",
    "STATEMENT_MEDIA_TYPE",
    "STATEMENT_TYP",
    "TOKENFED_ENTITY_TYPES",
    "TRUST_CHAIN_MEDIA_TYPE",
    "TRUST_MARK_TYP",
    "WELL_KNOWN_PATH",
    "AsyncResolver",
    "EntityStatement",
    "FederationTrust",
    "HistoricalKey",
    "HistoricalKeys",
    "Limits",
    "Resolution",
    "Resolver",
    "TrustAnchor",
    "TrustChain",
    "apply_policy",
    "configuration_url",
    "is_federation_entity_id",
    "merge_policies",
    "select_chain",
    "sign_historical_keys",
    "sign_statement",
    "validate_chain",
    "verify_archived_chain",
    "verify_trust_mark",
]
