"""Federation: OpenID Federation 1.1 as profiled by the federation chapter (FED-001..).

Entity statements (:class:`EntityStatement`, :func:`sign_statement`), pinned trust anchors
(:class:`TrustAnchor`), and trust chains validated against them (:func:`validate_chain`,
:func:`select_chain`, :class:`TrustChain`). Every chain names the anchor it was validated under
and its path; keys of different anchors are never pooled (FED-059).
"""

from __future__ import annotations

from ._chain import KEY_TABLE, TRUST_CHAIN_MEDIA_TYPE, TrustChain, select_chain, validate_chain
from ._ids import WELL_KNOWN_PATH, configuration_url, is_federation_entity_id
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
    "WELL_KNOWN_PATH",
    "EntityStatement",
    "TrustAnchor",
    "TrustChain",
    "configuration_url",
    "is_federation_entity_id",
    "select_chain",
    "sign_statement",
    "validate_chain",
]
