"""Reconciliation: the payer compares a statement with its own ledger (SET-030..SET-033)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .._model import SPEC_VERSION
from ..errors import InvalidResubmissionError
from ..keys import PrivateKey
from ..ledger import LedgerEntry, SqliteLedger
from ._documents import Response, Statement
from ._statement import check_receipt_list

__all__ = ["ResponseDraft", "check_response", "reconcile"]


@dataclass(frozen=True)
class ResponseDraft:
    """A response built but not signed yet."""

    claims: dict[str, Any]

    @property
    def accepted(self) -> bool:
        """Whether the response accepts the statement."""
        return bool(self.claims["status"] == "accept")

    def sign(self, key: PrivateKey) -> str:
        """Sign the claims as a response (validating them by SET-031 first)."""
        return Response.sign(self.claims, key)


def reconcile(
    statement: Statement,
    receipt_list: Mapping[str, Any],
    source: SqliteLedger | Iterable[LedgerEntry] | Mapping[str, str],
    *,
    iat: int,
    settled: Collection[str] = (),
    rejected: Mapping[tuple[str, str], str] | None = None,
    iss: str | None = None,
) -> ResponseDraft:
    """Compare a verified statement and its receipt list with the payer's own receipts.

    ``source`` is the payer's ledger, its entries, or a mapping ``jti -> content digest`` of
    the pair's receipts it holds with ``iat < period.end``; ``settled`` the content digests of the
    pair's finalized statements; ``rejected`` maps an (``iss``, ``jti``) the payer's own
    verification rejected to the code it reported. Returns the response claims (SET-030,
    SET-032); ``iss`` defaults to the payer.

    Raises:
        InvalidProofError, TotalsMismatchError, SchemaViolationError: the receipt list does not
            belong to the statement (SET-028).
    """
    claims = statement.claims
    payee, payer = claims.payee, claims.payer
    end = claims.period.end
    listed = check_receipt_list(statement, receipt_list)
    if isinstance(source, Mapping):
        pairs = list(source.items())
    else:
        entries = (
            source.stream_entries(payee, payer, iat_before=end)
            if isinstance(source, SqliteLedger)
            else [e for e in source if e.iss == payee and e.aud == payer and e.iat < end]
        )
        pairs = [(e.jti, e.content_digest) for e in entries]
    settled_set = set(settled)
    held = {jti: digest for jti, digest in pairs if digest not in settled_set}
    rejected = rejected or {}
    disputes: list[dict[str, Any]] = []
    flagged: dict[str, set[int]] = {"lines": set(), "adjustments": set()}
    line_index = {
        "lines": {line.key: i for i, line in enumerate(claims.lines)},
        "adjustments": {line.key: i for i, line in enumerate(claims.adjustments)},
    }
    listed_jtis = set()
    for item in listed:  # SET-030
        listed_jtis.add(item.jti)
        digest = held.get(item.jti)
        if digest == item.digest:
            continue
        if digest is not None:
            dispute = {"reason": "failed_verification", "code": "replay"}
        elif (payee, item.jti) in rejected:
            dispute = {"reason": "failed_verification", "code": rejected[(payee, item.jti)]}
        else:
            dispute = {"reason": "missing_at_payer"}
        disputes.append({"iss": payee, "jti": item.jti, **dispute})
        member = "lines" if item.iat >= claims.period.start else "adjustments"
        flagged[member].add(line_index[member][(item.model, item.rate_card_digest)])  # SET-032
    for jti in held:
        if jti not in listed_jtis:
            disputes.append({"iss": payee, "jti": jti, "reason": "missing_at_payee"})
    disputes.sort(key=lambda d: (d["iss"], d["jti"]))
    response = {
        "iss": iss or payer,
        "ver": SPEC_VERSION,
        "iat": iat,
        "statement": statement.ref,
        "payee": payee,
        "payer": payer,
        "period": {"start": claims.period.start, "end": claims.period.end},
        "seq": claims.seq,
        "status": "dispute" if disputes else "accept",
        "disputes": disputes,
        "disputed_lines": {name: sorted(indexes) for name, indexes in flagged.items()},
    }
    return ResponseDraft(response)


def check_response(response: Response, statement: Statement) -> None:
    """SET-033: the response answers exactly this statement, and its payer signed it.

    Raises:
        InvalidResubmissionError: another issuer than the statement's payer, or another
            statement digest, pair, period or ``seq``.
    """
    r, s = response.claims, statement.claims
    if r.iss != s.payer:
        raise InvalidResubmissionError(
            f"the response to statement {s.statement_id!r} was signed by {r.iss}, not by its "
            f"payer {s.payer}: only the payer accepts or disputes a statement (SET-033)"
        )
    if (
        r.statement.to_wire() != statement.ref
        or (r.payee, r.payer, r.seq) != (s.payee, s.payer, s.seq)
        or r.period.to_wire() != s.period.to_wire()
    ):
        raise InvalidResubmissionError(
            f"the response answers statement {r.statement.statement_id!r} "
            f"({r.statement.digest}), not {s.statement_id!r} ({statement.digest}) (SET-033)"
        )
