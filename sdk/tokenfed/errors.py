"""Errors raised by the SDK, one class per code of the spec's error registry.

Every rejection the SDK makes is a :class:`TokenfedError` whose :attr:`~TokenfedError.code`
is a stable code listed in ``spec/errors.md``. Catch :class:`TokenfedError` to handle them
all; read ``code`` to decide what to do; show ``message`` (and :meth:`diagnostics`) to a person.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AmountMismatchError",
    "ChainBreakError",
    "ChainNotWellFormedError",
    "EntitlementExpiredError",
    "EntitlementNotYetValidError",
    "EntityTypeAbsentError",
    "EntityTypeNotAllowedError",
    "FetchFailedError",
    "FetchTimeoutError",
    "IatInFutureError",
    "IncompleteStreamError",
    "InternalError",
    "InvalidAmountError",
    "InvalidArgumentsError",
    "InvalidClientError",
    "InvalidKeyError",
    "InvalidMetadataError",
    "InvalidProofError",
    "InvalidRequestError",
    "InvalidResubmissionError",
    "InvalidSharesError",
    "InvalidSignatureError",
    "InvalidStatementError",
    "InvalidUsageError",
    "IoError",
    "KeyNotValidError",
    "LimitExceededError",
    "MalformedError",
    "MaxPathLengthExceededError",
    "MetadataPolicyError",
    "NamingConstraintViolatedError",
    "NoTrustPathError",
    "NotFoundError",
    "OutOfScopeError",
    "PathTooLongError",
    "PayloadTooLargeError",
    "PeriodNotClosedError",
    "RateCardMismatchError",
    "RateCardNotValidError",
    "RatesNotValidError",
    "ReplayError",
    "ResolutionLimitError",
    "ResponseTooLargeError",
    "SchemaViolationError",
    "ServerError",
    "StatementExpiredError",
    "StatementNotAcceptedError",
    "StatementNotYetValidError",
    "TemporarilyUnavailableError",
    "TokenfedError",
    "TotalsMismatchError",
    "UnknownCurrencyError",
    "UnknownEntitlementError",
    "UnknownKeyError",
    "UnknownMeterError",
    "UnknownModelError",
    "UnknownRateCardError",
    "UnknownReservationError",
    "UnpricedMeterError",
    "UnpricedServiceTierError",
    "UnsupportedAlgError",
    "UnsupportedCritError",
    "UnsupportedMediaTypeError",
    "UnsupportedParameterError",
    "UnsupportedTypError",
    "UnsupportedVersionError",
    "WrongAudienceError",
    "error_class",
    "registry",
]


class TokenfedError(Exception):
    """Base of every error the SDK raises on purpose.

    Attributes:
        code: the stable registry code (``spec/errors.md``), for programs.
        message: one sentence for a person, naming what was wrong.
        detail: optional machine-readable context (member path, expected value...).
    """

    code: ClassVar[str] = "internal_error"
    hint: ClassVar[str] = "This is a defect in tokenfed; please report it with the input."

    def __init__(self, message: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail: dict[str, Any] = dict(detail or {})

    def diagnostics(self) -> str:
        """Return the message followed by what the user can do about it."""
        return f"{self.message}\n{self.hint}"

    def to_json(self) -> dict[str, Any]:
        """Return the wire form ``{"error": code, "message": ...}`` (plus ``detail`` if any)."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.detail:
            body["detail"] = self.detail
        return body

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InternalError(TokenfedError):
    """An unexpected failure inside the SDK (never caused by valid or invalid input alone)."""

    code = "internal_error"


class MalformedError(TokenfedError):
    """The input is not well-formed: not I-JSON, bad base64url, not a JWS, too large, too deep."""

    code = "malformed"
    hint = (
        "Check that the input is UTF-8 I-JSON (or a JWS compact string) "
        "produced by a conforming encoder."
    )


class SchemaViolationError(TokenfedError):
    """The document parses but does not match the schema of its kind."""

    code = "schema_violation"
    hint = "Compare the document with its JSON Schema in spec/schemas/; `detail` names the member."


class InvalidAmountError(TokenfedError):
    """A decimal member is not a canonical decimal string, or is out of its allowed range."""

    code = "invalid_amount"
    hint = (
        "Write decimals as JSON strings in canonical form: no exponent, no leading '+', "
        'no trailing fractional zeros, e.g. "0.0015".'
    )


class UnsupportedVersionError(TokenfedError):
    """The document's ``ver`` has a major version this implementation does not support."""

    code = "unsupported_version"
    hint = 'Send documents with ver "1.x", or upgrade to an implementation of that major version.'


class UnknownMeterError(TokenfedError):
    """A usage names a meter that is neither registered nor a namespaced extension."""

    code = "unknown_meter"
    hint = "Use the meter names of the registry (spec/units.md) or a namespaced extension name."


class InvalidUsageError(TokenfedError):
    """A usage object or vendor usage report is inconsistent (negative bucket, wrong type)."""

    code = "invalid_usage"
    hint = "Check the counts: they are integers >= 0 and parts never exceed their totals."


class UnpricedMeterError(TokenfedError):
    """A non-zero meter has no weight for this model in the rate card."""

    code = "unpriced_meter"
    hint = "Add a weight for that meter to the model in the rate card, or do not meter it."


class UnpricedServiceTierError(TokenfedError):
    """The usage names a service tier that the rate card does not price for its model."""

    code = "unpriced_service_tier"
    hint = (
        "Add rates for that tier under the model's `service_tiers` in the rate card, or price "
        "the usage under a card that has them."
    )


class IncompleteStreamError(TokenfedError):
    """A streamed response ended before its usage was reported."""

    code = "incomplete_stream"
    hint = (
        "Ask for usage in the stream (OpenAI-style APIs: `stream_options.include_usage`) and "
        "read the stream to its end."
    )


class UnknownModelError(TokenfedError):
    """The usage names a model that the rate card does not price."""

    code = "unknown_model"
    hint = "Price the usage under a rate card that lists this model id."


class RateCardNotValidError(TokenfedError):
    """The rate card is not valid at the requested time (outside nbf <= t < exp)."""

    code = "rate_card_not_valid"
    hint = "Use the rate card that was in force at that time."


class UnknownCurrencyError(TokenfedError):
    """The exchange-rate set has no rate for the requested code."""

    code = "unknown_currency"
    hint = "Use a code listed in the exchange-rate set, or UTU."


class RatesNotValidError(TokenfedError):
    """The exchange-rate set is not valid at the requested time."""

    code = "rates_not_valid"
    hint = "Use the exchange-rate set that was in force at that time."


class UnsupportedTypError(TokenfedError):
    """The JWS ``typ`` header is missing or names another kind of document."""

    code = "unsupported_typ"
    hint = (
        "Each document kind has its own typ; a document of one kind is never accepted as another."
    )


class UnsupportedAlgError(TokenfedError):
    """The JWS ``alg`` is not allowed (only EdDSA and ES256), or not the one pinned to the key."""

    code = "unsupported_alg"
    hint = "Sign with EdDSA (Ed25519) or ES256, matching the algorithm of the key."


class UnsupportedCritError(TokenfedError):
    """The JWS header carries ``crit``; no critical extension is supported."""

    code = "unsupported_crit"
    hint = "Remove the crit header parameter; tokenfed 1.0 defines no critical extensions."


class UnknownKeyError(TokenfedError):
    """No trusted key has the JWS ``kid`` for this issuer."""

    code = "unknown_key"
    hint = "Check the trust store: the issuer must publish this key (kid = RFC 7638 thumbprint)."


class KeyNotValidError(TokenfedError):
    """The key was not valid at the document's time: not yet published, expired or revoked."""

    code = "key_not_valid"
    hint = "Check the key's validity window and revocation time in the trust store."


class InvalidKeyError(TokenfedError):
    """A JWK is malformed, of an unsupported type or curve, or private where public is needed."""

    code = "invalid_key"
    hint = "Use an Ed25519 (OKP) or P-256 (EC) JWK as written by `tokenfed keygen`."


class InvalidSignatureError(TokenfedError):
    """The signature does not verify with the key."""

    code = "invalid_signature"
    hint = "The document was altered or signed with another key; obtain the original bytes."


class UnknownRateCardError(TokenfedError):
    """The receipt references a rate card the verifier does not have."""

    code = "unknown_rate_card"
    hint = "Give the verifier the rate card named by the receipt's rate_card.id."


class RateCardMismatchError(TokenfedError):
    """The referenced rate card's digest differs, or it was not valid at the receipt's iat."""

    code = "rate_card_mismatch"
    hint = "The issuer and verifier hold different versions of the rate card; compare digests."


class AmountMismatchError(TokenfedError):
    """The receipt's amount is not what the rate card gives for its usage."""

    code = "amount_mismatch"
    hint = "Recompute the amount with the rate card named by the receipt; see spec/units.md."


class IatInFutureError(TokenfedError):
    """The document's ``iat`` is later than now plus the allowed clock skew."""

    code = "iat_in_future"
    hint = "Check the issuer's clock."


class ReplayError(TokenfedError):
    """A ``jti`` already seen from this issuer arrived with different content."""

    code = "replay"
    hint = "Each receipt needs a jti unique per issuer; an identical resubmission is accepted."


class ChainBreakError(TokenfedError):
    """The receipt's ``seq``/``prev`` do not continue the tracked (iss, aud) stream."""

    code = "chain_break"
    hint = (
        "Receipts of a stream must arrive with seq + 1 and prev = the content digest of the "
        "previous receipt (REC-007)."
    )


class InvalidProofError(TokenfedError):
    """A Merkle inclusion proof does not lead to the batch root."""

    code = "invalid_proof"
    hint = "The batched receipt, its proof or its batch do not belong together."


class TotalsMismatchError(TokenfedError):
    """A settlement document's totals are not the exact sum of its parts (whole rejection)."""

    code = "totals_mismatch"
    hint = "Rebuild the document from the receipts; every total is the exact sum of its parts."


class PeriodNotClosedError(TokenfedError):
    """A settlement statement was signed before its period's cutoff plus the grace window."""

    code = "period_not_closed"
    hint = "Wait until period.end + grace has passed before building the statement."


class InvalidResubmissionError(TokenfedError):
    """A statement's ``resubmits`` reference (or its absence) breaks the dispute rules."""

    code = "invalid_resubmission"
    hint = (
        "Reference only the disputed statement you replace; correct a finalized period with "
        "adjustments in a later statement."
    )


class InvalidSharesError(TokenfedError):
    """The shares of a revenue-share agreement do not add up to exactly 1."""

    code = "invalid_shares"
    hint = "Correct the shares so that their exact sum is 1."


class StatementNotAcceptedError(TokenfedError):
    """A statement was offered for netting without its payer's signed acceptance."""

    code = "statement_not_accepted"
    hint = "Net only statements with a verified response whose status is accept."


class InvalidRequestError(TokenfedError):
    """A request to a node lacks a parameter, has one of the wrong form, or a body of the wrong
    shape (HTTP 400; 405 for a method the endpoint does not serve)."""

    code = "invalid_request"
    hint = (
        "Check the request against the endpoint's description in spec/openapi.yaml; `message` "
        "names the parameter or member."
    )


class InvalidClientError(TokenfedError):
    """An admin endpoint was called without the bearer credential or with a wrong one (HTTP 401)."""

    code = "invalid_client"
    hint = (
        "Send the node's admin token as `Authorization: Bearer TOKEN`; the node stores only its "
        "SHA-256 hash."
    )


class NotFoundError(TokenfedError):
    """The requested resource does not exist (HTTP 404)."""

    code = "not_found"
    hint = (
        "Check the URL and the entity id; list an authority's subordinates with its list endpoint."
    )


class UnsupportedParameterError(TokenfedError):
    """A request uses a parameter the node recognises but does not support (HTTP 400)."""

    code = "unsupported_parameter"
    hint = "Leave the parameter out; the node's OpenAPI document lists what each endpoint supports."


class PayloadTooLargeError(TokenfedError):
    """A request body is larger than the node's limit (HTTP 413)."""

    code = "payload_too_large"
    hint = (
        "Send a smaller body (split a receipt upload into several requests) or ask the operator "
        "of the node to raise its limit."
    )


class UnsupportedMediaTypeError(TokenfedError):
    """A request body has a ``Content-Type`` the endpoint does not accept (HTTP 415)."""

    code = "unsupported_media_type"
    hint = (
        "Send the body with the media type the endpoint lists in spec/openapi.yaml "
        "(`application/json`, or `application/jsonl` for receipt uploads)."
    )


class ServerError(TokenfedError):
    """A node failed unexpectedly while handling a request (HTTP 500; no detail is sent)."""

    code = "server_error"
    hint = "Report the request id to the operator of the node."


class TemporarilyUnavailableError(TokenfedError):
    """A node cannot answer now: shutting down, or a resource it needs is busy (HTTP 503)."""

    code = "temporarily_unavailable"
    hint = "Retry later, after the number of seconds in `Retry-After` if present."


class EntitlementExpiredError(TokenfedError):
    """An entitlement's ``exp`` plus the clock skew has passed (ENT-020)."""

    code = "entitlement_expired"
    hint = "Ask the subscriber's home operator for a new entitlement."


class EntitlementNotYetValidError(TokenfedError):
    """An entitlement's ``iat`` is later than the clock plus the skew (ENT-020)."""

    code = "entitlement_not_yet_valid"
    hint = "Check the clocks of the issuing operator and of the provider."


class WrongAudienceError(TokenfedError):
    """An entitlement's ``aud`` is not the provider that received it (ENT-020)."""

    code = "wrong_audience"
    hint = (
        "Present the entitlement to the provider it was issued for, or ask the home operator "
        "for one issued to this provider."
    )


class OutOfScopeError(TokenfedError):
    """The model is not in the entitlement's ``scope`` (ENT-030)."""

    code = "out_of_scope"
    hint = (
        "Use a model listed in the entitlement's scope, or ask the home operator for an "
        "entitlement that lists this model."
    )


class LimitExceededError(TokenfedError):
    """A reservation would pass the entitlement's ``limit``, or a settlement passes its
    reservation (ENT-032, ENT-040, ENT-043)."""

    code = "limit_exceeded"
    hint = (
        "Ask the home operator for a new entitlement with room for the request, or reserve "
        "the full maximum cost before serving."
    )


class UnknownEntitlementError(TokenfedError):
    """A receipt names an entitlement its audience never issued to its issuer (ENT-052)."""

    code = "unknown_entitlement"
    hint = (
        "Issue receipts only under entitlements the audience issued to you, and copy their "
        "jti exactly."
    )


class UnknownReservationError(TokenfedError):
    """A settlement or release names no open reservation (ENT-041, ENT-042)."""

    code = "unknown_reservation"
    hint = "Settle each reservation once, within its hold time; reserve again for a new request."


class StatementExpiredError(TokenfedError):
    """An entity statement has expired: its ``exp`` plus the leeway is not after now."""

    code = "statement_expired"
    hint = (
        "Fetch a fresh statement; statements live at most 24 hours, so a stale cache or a "
        "stopped signer is the usual cause."
    )


class StatementNotYetValidError(TokenfedError):
    """An entity statement's ``iat`` is later than now plus the leeway."""

    code = "statement_not_yet_valid"
    hint = "Check the clock of the entity that signed the statement."


class InvalidStatementError(TokenfedError):
    """An entity statement breaks a rule of the federation profile on its content."""

    code = "invalid_statement"
    hint = (
        "Compare the statement with the claims table of the federation chapter; `detail` names "
        "the claim."
    )


class ChainNotWellFormedError(TokenfedError):
    """The statements do not link into a trust chain (issuer/subject links, authority hints,
    kinds)."""

    code = "chain_not_well_formed"
    hint = (
        "Order the chain as subject configuration, subordinate statements upwards, anchor "
        "configuration; each subordinate statement's issuer must be listed in the subject's "
        "authority_hints."
    )


class NoTrustPathError(TokenfedError):
    """No path from the entity reaches a configured trust anchor."""

    code = "no_trust_path"
    hint = (
        "Check the entity's authority_hints and that one of its superiors is recognised by your"
        " trust anchor; `detail.reasons` says why each path failed."
    )


class PathTooLongError(TokenfedError):
    """The trust chain has more than four intermediates (seven statements)."""

    code = "path_too_long"
    hint = (
        "Shorten the path: tokenfed allows at most four intermediates between an entity and its"
        " anchor."
    )


class MaxPathLengthExceededError(TokenfedError):
    """A ``max_path_length`` constraint of a subordinate statement is exceeded."""

    code = "max_path_length_exceeded"
    hint = (
        "Sign the entity under a superior nearer the constraining statement, or ask its issuer "
        "to raise max_path_length."
    )


class NamingConstraintViolatedError(TokenfedError):
    """An entity id's host is outside ``permitted`` or inside ``excluded`` of a naming
    constraint."""

    code = "naming_constraint_violated"
    hint = "Use an entity id under the domains the superior permits, or ask it to permit yours."


class EntityTypeNotAllowedError(TokenfedError):
    """The requested entity type was removed by an ``allowed_entity_types`` constraint."""

    code = "entity_type_not_allowed"
    hint = "The anchor does not accept this entity in that role; ask it to allow the type."


class EntityTypeAbsentError(TokenfedError):
    """The resolved metadata has no such entity type (or the document's typ needs another type)."""

    code = "entity_type_absent"
    hint = (
        "Resolve the entity for a type it publishes; the key table of the federation chapter "
        "says which type signs which document."
    )


class MetadataPolicyError(TokenfedError):
    """Metadata policies cannot be combined, merged or applied (OpenID Federation section 6.1)."""

    code = "metadata_policy_error"
    hint = (
        "Ask the superiors to reconcile their metadata_policy values; `detail` names the entity"
        " type and parameter."
    )


class InvalidMetadataError(TokenfedError):
    """Resolved metadata that the application layer refuses."""

    code = "invalid_metadata"
    hint = (
        "Publish the members the federation chapter requires for the entity type "
        "(tokenfed_versions, the *_jwks key set, https URLs)."
    )


class FetchFailedError(TokenfedError):
    """A federation fetch failed: HTTP error status, wrong content type, redirect, refused scheme
    or connection error."""

    code = "fetch_failed"
    hint = (
        "Check the URL and that the server answers 200 with the federation media type, without "
        "redirects, over https."
    )


class FetchTimeoutError(TokenfedError):
    """A federation fetch or a whole resolution took longer than its time limit."""

    code = "fetch_timeout"
    hint = (
        "Retry later; if it persists the server is too slow for the federation limits (5 s a "
        "request, 15 s a resolution)."
    )


class ResponseTooLargeError(TokenfedError):
    """A federation response body is larger than 64 KiB."""

    code = "response_too_large"
    hint = "The server sends more than a federation document can hold; report it to its operator."


class ResolutionLimitError(TokenfedError):
    """A resolution needed more than 32 fetches."""

    code = "resolution_limit"
    hint = "The federation graph is too wide or loops; report it to the anchor's operator."


class InvalidArgumentsError(TokenfedError):
    """The command line was used wrongly (CLI only; exit status 2)."""

    code = "invalid_arguments"
    hint = "Run the command with --help to see its arguments."


class IoError(TokenfedError):
    """A file could not be read or written (CLI and storage only)."""

    code = "io_error"
    hint = "Check the path and its permissions."


def _collect() -> dict[str, type[TokenfedError]]:
    found: dict[str, type[TokenfedError]] = {}
    pending: list[type[TokenfedError]] = [TokenfedError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is not TokenfedError:
            found[cls.code] = cls
    return found


_REGISTRY = _collect()


def registry() -> dict[str, type[TokenfedError]]:
    """Return every registry code mapped to its error class."""
    return dict(_REGISTRY)


def error_class(code: str) -> type[TokenfedError]:
    """Return the error class of a registry code (``KeyError`` if the code is not registered)."""
    return _REGISTRY[code]
