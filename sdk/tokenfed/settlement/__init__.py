"""Settlement (spec chapter "Settlement", SET-001..SET-060).

At the end of a period the payee builds a **statement** of what its payer owes from the
receipts of their stream (:func:`build_statement`), signs it and sends it with its receipt list.
The payer verifies it (:meth:`Statement.from_jws`, only ever verified), checks it against its
history (:class:`PairHistory`) and its own ledger (:func:`reconcile`) and signs a **response**
that accepts it or disputes receipts. Revenue is shared by a signed agreement
(:class:`RevenueShare`, :func:`split`), and a clearing house nets accepted statements into one
position per party and currency (:func:`netting_claims`, :class:`NettingReport`).

Every amount is an integer: micro-UTU or minor units of a currency (SET-001).

Example::

    draft = build_statement(ledger, payee=provider, payer=operator, period=(start, end),
                            statement_id="st-2026-11", seq=1, iat=now)
    token = draft.sign(provider_key)
    statement = Statement.from_jws(token, trust)
    response = reconcile(statement, draft.receipt_list, payer_ledger, iat=now).sign(payer_key)
"""

from ._documents import (
    TYP_NETTING_REPORT,
    TYP_RESPONSE,
    TYP_REVENUE_SHARE,
    TYP_STATEMENT,
    NettingReport,
    Response,
    Statement,
)
from ._netting import net_positions, netting_claims
from ._reconcile import ResponseDraft, check_response, reconcile
from ._report import html_report
from ._share import RevenueShare, split, split_report
from ._statement import (
    DEFAULT_GRACE,
    PairHistory,
    ReceiptItem,
    StatementDraft,
    build_statement,
    check_conversion,
    check_receipt_list,
)

__all__ = [
    "DEFAULT_GRACE",
    "TYP_NETTING_REPORT",
    "TYP_RESPONSE",
    "TYP_REVENUE_SHARE",
    "TYP_STATEMENT",
    "NettingReport",
    "PairHistory",
    "ReceiptItem",
    "Response",
    "ResponseDraft",
    "RevenueShare",
    "Statement",
    "StatementDraft",
    "build_statement",
    "check_conversion",
    "check_receipt_list",
    "check_response",
    "html_report",
    "net_positions",
    "netting_claims",
    "reconcile",
    "split",
    "split_report",
]
