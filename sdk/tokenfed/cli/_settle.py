"""``tokenfed settle``: statements, reconciliation, revenue splits, netting (spec/settlement.md).

Every signed document is read verified (SET-060): with ``--trust`` (a trust store, looked up by
the document's ``iss`` and header ``kid``) or ``--key`` (the signer's public key).
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from .. import _b64, _json, _jws
from .._progress import Progress
from ..errors import (
    InvalidArgumentsError,
    IoError,
    MalformedError,
    SchemaViolationError,
    TokenfedError,
    UnsupportedTypError,
    registry,
)
from ..exchange import ExchangeRates
from ..keys import PublicKey
from ..ledger import SqliteLedger
from ..receipts import VerifierConfig
from ..receipts._claims import DIGEST
from ..settlement import (
    TYP_NETTING_REPORT,
    TYP_RESPONSE,
    TYP_REVENUE_SHARE,
    TYP_STATEMENT,
    NettingReport,
    PairHistory,
    Response,
    RevenueShare,
    Statement,
    build_statement,
    check_conversion,
    html_report,
    netting_claims,
    reconcile,
    split_report,
)
from ..trust import TrustStore
from ._io import (
    emit,
    read_bytes,
    read_json,
    read_private_key,
    read_token,
    write_atomic,
)
from ._parser import bounded_number, numeric_date
from ._trustargs import add_trust_options, document_trust

__all__ = ["add_settle_commands"]


_count = bounded_number("a whole number")
_positive = bounded_number("a whole number", 1)
_precision = bounded_number("a currency precision (fractional digits, FX-006)", 0, 18)


def _existing_ledger(path: str) -> SqliteLedger:
    """The ledger at ``path``, which must exist: a statement or a response from a ledger that a
    mistyped path would create empty is never signed."""
    if not os.path.isfile(path):
        raise IoError(
            f"no ledger at {path}: give the path of an existing receipt ledger",
            detail={"path": path},
        )
    return SqliteLedger(path)


def _trust(args: argparse.Namespace, what: str) -> PublicKey | TrustStore:
    trust = document_trust(args)
    if trust is None:
        raise InvalidArgumentsError(f"{what} is signed: give --trust or --key to verify it")
    return trust


def _period(args: argparse.Namespace) -> tuple[int, int]:
    return (args.start, args.end)


def _settled(paths: list[str] | None) -> set[str]:
    """Content digests listed in the receipt lists of finalized statements."""
    digests: set[str] = set()
    for path in paths or []:
        listing = read_json(path)
        try:
            found = {entry["digest"] for entry in listing["receipts"]}
        except (KeyError, TypeError):
            raise MalformedError(f"{path} is not a receipt list (SET-028)") from None
        for digest in found:
            if not isinstance(digest, str) or DIGEST.fullmatch(digest) is None:
                raise SchemaViolationError(
                    f"{path}: {digest!r:.80} is not a content digest (SET-028)",
                    detail={"path": path},
                )
        digests |= found
    return digests


def statement(args: argparse.Namespace) -> int:
    """``tokenfed settle statement``: build, sign and write a statement and its receipt list."""
    key = read_private_key(args.signing_key)
    rates = resubmits = None
    if args.rates or args.resubmits:
        trust = _trust(args, "the exchange-rate set or the resubmitted statement")
        if args.rates:
            if not args.code:
                raise InvalidArgumentsError("--rates needs --code (the settlement currency)")
            rates = ExchangeRates.parse(read_bytes(args.rates), trust)
        if args.resubmits:
            resubmits = Statement.from_jws(read_token(args.resubmits), trust)
    with _existing_ledger(args.ledger) as ledger:
        draft = build_statement(
            ledger,
            payee=args.payee,
            payer=args.payer,
            period=_period(args),
            statement_id=args.statement_id,
            seq=args.seq,
            iat=int(time.time()) if args.iat is None else args.iat,
            grace=args.grace,
            iss=args.iss,
            settled=_settled(args.settled),
            resubmits=resubmits,
            rates=rates,
            code=args.code,
            fixed_at=args.fixed_at,
        )
        listing = json.dumps(draft.receipt_list, indent=1, ensure_ascii=False) + "\n"
    token = draft.sign(key)
    write_atomic(args.list_out, listing, overwrite=args.force, mode=0o644)
    try:
        write_atomic(args.out, token + "\n", overwrite=args.force, mode=0o644)
    except BaseException:
        Path(args.list_out).unlink(missing_ok=True)  # no half of the pair survives
        raise
    emit({"statement": args.out, "receipt_list": args.list_out, **_summary(draft.claims)})
    return 0


def _summary(claims: dict[str, Any]) -> dict[str, Any]:
    summary = {
        "statement_id": claims["statement_id"],
        "seq": claims["seq"],
        "lines": len(claims["lines"]),
        "adjustments": len(claims["adjustments"]),
        "totals": claims["totals"],
    }
    if "conversion" in claims:
        summary["conversion"] = claims["conversion"]
    return summary


def reconcile_command(args: argparse.Namespace) -> int:
    """``tokenfed settle reconcile``: verify a statement, compare it with the payer's own
    ledger, write the signed response; with ``--history``, check and update the pair's history."""
    trust = _trust(args, "the statement")
    document = Statement.from_jws(read_token(args.statement), trust)
    if args.rates:
        check_conversion(document, ExchangeRates.parse(read_bytes(args.rates), trust))
    history = None
    if args.history:
        history = PairHistory.from_json(read_json(args.history))
        history.check(document)
    rejected: dict[tuple[str, str], str] = {}
    if args.rejected:
        try:
            for item in read_json(args.rejected):
                rejected[(item["iss"], item["jti"])] = item["code"]
        except (KeyError, TypeError):
            raise MalformedError(f"{args.rejected} is not a list of {{iss, jti, code}}") from None
        for code in rejected.values():
            if not isinstance(code, str) or code not in registry():
                raise SchemaViolationError(
                    f"{args.rejected}: {code!r:.60} is not a code of the error registry; a "
                    "failed verification is disputed with the code it reported (SET-030)",
                    detail={"path": args.rejected},
                )
    with _existing_ledger(args.ledger) as ledger:
        draft = reconcile(
            document,
            read_json(args.receipt_list),
            ledger,
            iat=int(time.time()) if args.iat is None else args.iat,
            settled=_settled(args.settled),
            rejected=rejected,
        )
    token = draft.sign(read_private_key(args.signing_key))
    write_atomic(args.out, token + "\n", overwrite=args.force, mode=0o644)
    if history is not None:
        history.record(document, draft.accepted)
        text = json.dumps(history.to_json(), indent=1) + "\n"
        write_atomic(args.history, text, overwrite=True, mode=0o644)
    claims = draft.claims
    emit(
        {
            "response": args.out,
            "status": claims["status"],
            "disputes": claims["disputes"],
            "disputed_lines": claims["disputed_lines"],
        }
    )
    return 0


def split_command(args: argparse.Namespace) -> int:
    """``tokenfed settle split``: split a total among the parties of a signed agreement."""
    agreement = RevenueShare.from_jws(read_token(args.agreement), _trust(args, "agreement"))
    emit(split_report(agreement, args.total, args.code, args.precision))
    return 0


def net_command(args: argparse.Namespace) -> int:
    """``tokenfed settle net``: net accepted statements, sign and write the netting report."""
    trust = _trust(args, "the statements and responses")
    pairs = [
        (Statement.from_jws(read_token(s), trust), Response.from_jws(read_token(r), trust))
        for s, r in args.pair
    ]
    claims = netting_claims(
        pairs,
        iss=args.iss,
        report_id=args.report_id,
        period=_period(args),
        iat=int(time.time()) if args.iat is None else args.iat,
    )
    token = NettingReport.sign(claims, read_private_key(args.signing_key))
    write_atomic(args.out, token + "\n", overwrite=args.force, mode=0o644)
    emit({"report": args.out, "positions": claims["positions"]})
    return 0


def _file_size(path: str) -> int:
    try:
        return Path(path).stat().st_size
    except OSError as exc:
        raise IoError(f"cannot read receipt file {path}: {exc.strerror or exc}") from exc


def run_command(args: argparse.Namespace) -> int:
    """``tokenfed settle run``: verify many receipt files and write the period's statements."""
    from ..engine import expand, run, write_results, write_statements
    from ..receipts._files import check_output_path

    config = VerifierConfig(
        trust=read_json(args.trust),
        rate_cards=tuple(read_token(path) for path in args.rate_card),
        now=int(time.time()) if args.at is None else args.at,
    )
    config.build()  # refuse a bad trust store, rate card or key before any work starts
    key = read_private_key(args.signing_key)
    settled = _settled(args.settled)
    files = expand(args.receipts)
    inputs = [*files, args.trust, *args.rate_card, args.signing_key, *(args.settled or [])]
    if args.results is not None:
        check_output_path(args.results, inputs)
        folder = Path(args.results).parent
        if not folder.is_dir():  # found before the run, not after it
            raise IoError(f"cannot write {args.results}: {folder} is not a folder")
    sizes = [_file_size(path) for path in files]
    bar = Progress(sum(sizes), sys.stderr.isatty() if args.progress is None else args.progress)
    done = [0, 0]  # lines, bytes

    def progress(position: int, lines: int) -> None:
        done[0] += lines
        done[1] += sizes[position]
        bar.update(done[0], done[1], force=done[1] == bar.total)

    result = run(
        [glob.escape(path) for path in files],  # exactly the files counted above
        config,
        period=(args.start, args.end),
        iat=config.now if args.iat is None else args.iat,
        workers=args.workers,
        scheduler=args.scheduler,
        grace=args.grace,
        iss=args.iss,
        progress=progress,
        seq=args.seq,
        settled=settled,
    )
    bar.close()
    written = write_statements(
        result,
        key,
        args.out_dir,
        overwrite=args.force,
        protected=[*inputs, *([args.results] if args.results else [])],
    )
    report: dict[str, Any] = {**result.summary(), "written": written}
    if args.results is not None:
        write_results(result, args.results)
        report["results"] = args.results
    emit(report)
    return 0


def report_command(args: argparse.Namespace) -> int:
    """``tokenfed settle report``: an HTML page of a verified statement or netting report."""
    token = read_token(args.document)
    trust = _trust(args, "document")
    kind = _kind_of(token)
    if kind not in (Statement, NettingReport):
        raise UnsupportedTypError("a report is made of a statement or a netting report")
    document = kind.from_jws(token, trust)
    write_atomic(args.out, html_report(document), overwrite=args.force, mode=0o644)
    emit({"report": args.out, "digest": document.digest})
    return 0


_KINDS: dict[str, Any] = {
    TYP_STATEMENT: Statement,
    TYP_RESPONSE: Response,
    TYP_REVENUE_SHARE: RevenueShare,
    TYP_NETTING_REPORT: NettingReport,
}


def _kind_of(token: str) -> Any:
    """The document class named by the token's header ``typ`` (SET-060).

    A token that is not a JWS compact serialization is ``malformed`` whatever its header names
    (CONV-060 step 1 comes before the type's step 2)."""
    header: Any = None
    with contextlib.suppress(TokenfedError):
        header = _json.loads(_b64.b64decode(token.split(".", 1)[0], what="header"))
    typ = header.get("typ") if isinstance(header, dict) else None
    normal = typ.lower().removeprefix("application/") if isinstance(typ, str) else None
    kind = _KINDS.get(normal) if normal else None
    if kind is None:
        with contextlib.suppress(UnsupportedTypError):
            _jws.decode(token, TYP_STATEMENT)  # size, segments, base64url, JSON: malformed
        raise UnsupportedTypError(
            f"typ {typ!r} is not a settlement document ({', '.join(sorted(_KINDS))}) (SET-060)"
        )
    return kind


def verify_command(args: argparse.Namespace) -> int:
    """``tokenfed settle verify``: verify any settlement document; print its kind and claims."""
    token = read_token(args.document)
    kind = _kind_of(token)
    document = kind.from_jws(token, _trust(args, "document"))
    emit({"typ": kind._typ, "digest": document.digest, "claims": document.raw})
    return 0


def add_settle_commands(settle: argparse.ArgumentParser) -> None:
    """Fill the parser of ``tokenfed settle ...``."""
    sub = settle.add_subparsers(dest="settle_command", required=True, parser_class=type(settle))

    build = sub.add_parser("statement", help="build and sign a pair's statement from a ledger")
    build.add_argument("--ledger", required=True, metavar="DB", help="the payee's receipt ledger")
    build.add_argument("--payee", required=True, help="the receipts' issuer (entity id)")
    build.add_argument("--payer", required=True, help="the receipts' audience (entity id)")
    build.add_argument("--start", required=True, type=numeric_date, metavar="NUMERICDATE")
    build.add_argument("--end", required=True, type=numeric_date, metavar="NUMERICDATE")
    build.add_argument("--statement-id", required=True, help="unique per signer")
    build.add_argument("--seq", required=True, type=_positive, help="the pair's statement number")
    build.add_argument("--signing-key", required=True, metavar="KEY.jwk", help="private JWK")
    build.add_argument("--out", required=True, metavar="STATEMENT.jwt")
    build.add_argument("--list-out", required=True, metavar="LIST.json", help="receipt list")
    build.add_argument("--iss", help="the signer, if not the payee (a clearing house)")
    build.add_argument("--grace", type=_count, default=259200, help="seconds (default 3 days)")
    build.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    build.add_argument(
        "--settled", action="append", metavar="LIST.json", help="lists of finalized statements"
    )
    build.add_argument("--resubmits", metavar="STATEMENT.jwt", help="the disputed statement")
    build.add_argument("--rates", metavar="RATES.jwt", help="exchange-rate set to convert with")
    build.add_argument("--code", help="settlement currency (with --rates)")
    build.add_argument("--fixed-at", type=numeric_date, metavar="NUMERICDATE")
    build.add_argument("--force", action="store_true", help="replace existing output files")
    add_trust_options(
        build, "exchange-rate set and resubmitted statement", allow_unverified=False, required=False
    )
    build.set_defaults(handler=statement)

    answer = sub.add_parser("reconcile", help="check a statement against your ledger; respond")
    answer.add_argument("--ledger", required=True, metavar="DB", help="the payer's ledger")
    answer.add_argument("--statement", required=True, metavar="STATEMENT.jwt")
    answer.add_argument("--receipt-list", required=True, metavar="LIST.json")
    answer.add_argument("--signing-key", required=True, metavar="KEY.jwk", help="private JWK")
    answer.add_argument("--out", required=True, metavar="RESPONSE.jwt")
    answer.add_argument("--history", metavar="HISTORY.json", help="the pair's history (updated)")
    answer.add_argument("--rates", metavar="RATES.jwt", help="check the conversion with this set")
    answer.add_argument(
        "--rejected", metavar="REJECTED.json", help="[{iss, jti, code}] your verifier refused"
    )
    answer.add_argument("--settled", action="append", metavar="LIST.json")
    answer.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    answer.add_argument("--force", action="store_true", help="replace an existing response")
    add_trust_options(answer, "statement", allow_unverified=False, required=True)
    answer.set_defaults(handler=reconcile_command)

    share = sub.add_parser("split", help="split a total by a signed revenue-share agreement")
    share.add_argument("--agreement", required=True, metavar="AGREEMENT.jwt")
    share.add_argument("--total", required=True, help="canonical decimal string")
    share.add_argument("--code", required=True, help="currency or unit code")
    share.add_argument(
        "--precision", required=True, type=_precision, help="fractional digits (0 to 18)"
    )
    add_trust_options(share, "agreement", allow_unverified=False, required=True)
    share.set_defaults(handler=split_command)

    net = sub.add_parser("net", help="net accepted statements into a signed netting report")
    net.add_argument(
        "--pair",
        required=True,
        action="append",
        nargs=2,
        metavar=("STATEMENT.jwt", "RESPONSE.jwt"),
        help="a statement and its payer's acceptance (repeatable)",
    )
    net.add_argument("--iss", required=True, help="the clearing house (entity id)")
    net.add_argument("--report-id", required=True)
    net.add_argument("--start", required=True, type=numeric_date, metavar="NUMERICDATE")
    net.add_argument("--end", required=True, type=numeric_date, metavar="NUMERICDATE")
    net.add_argument("--signing-key", required=True, metavar="KEY.jwk", help="private JWK")
    net.add_argument("--out", required=True, metavar="REPORT.jwt")
    net.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    net.add_argument("--force", action="store_true", help="replace an existing report")
    add_trust_options(net, "statements and responses", allow_unverified=False, required=True)
    net.set_defaults(handler=net_command)

    bulk = sub.add_parser("run", help="verify receipt files in bulk and write the statements")
    bulk.add_argument(
        "--receipts", required=True, action="append", metavar="GLOB", help="JSON Lines files"
    )
    bulk.add_argument("--trust", required=True, metavar="TRUST.json", help="trust store")
    bulk.add_argument("--rate-card", required=True, action="append", metavar="CARD.jwt")
    bulk.add_argument("--start", required=True, type=numeric_date, metavar="NUMERICDATE")
    bulk.add_argument("--end", required=True, type=numeric_date, metavar="NUMERICDATE")
    bulk.add_argument("--signing-key", required=True, metavar="KEY.jwk", help="private JWK")
    bulk.add_argument("--out-dir", required=True, metavar="DIR")
    bulk.add_argument(
        "--force",
        action="store_true",
        help="replace statements already in DIR (never an input of the run)",
    )
    bulk.add_argument(
        "--results",
        metavar="OUT.jsonl",
        help="one JSON line per input line: what became of it (accepted, duplicate, rejected)",
    )
    bulk.add_argument("--iss", help="the signer, if not each payee (a clearing house)")
    bulk.add_argument(
        "--seq",
        type=_positive,
        default=1,
        help="the statements' number: 1 for the pairs' first, then one more than the "
        "previous (SET-023; default 1)",
    )
    bulk.add_argument(
        "--settled",
        action="append",
        metavar="LIST.json",
        help="receipt lists of the pairs' finalized statements: their receipts are not "
        "adjusted again (SET-012); repeatable",
    )
    bulk.add_argument("--grace", type=_count, default=259200, help="seconds (default 3 days)")
    bulk.add_argument("--workers", type=_positive, default=2, help="1 runs serially in-process")
    bulk.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask scheduler")
    bulk.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="verifier clock")
    bulk.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: --at")
    bulk.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )
    bulk.set_defaults(handler=run_command)

    page = sub.add_parser("report", help="an HTML page of a statement or a netting report")
    page.add_argument("document", metavar="DOCUMENT.jwt")
    page.add_argument("--out", required=True, metavar="REPORT.html")
    page.add_argument("--force", action="store_true", help="replace an existing page")
    add_trust_options(page, "document", allow_unverified=False, required=True)
    page.set_defaults(handler=report_command)

    check = sub.add_parser("verify", help="verify any settlement document; print its claims")
    check.add_argument("document", metavar="DOCUMENT.jwt")
    add_trust_options(check, "document", allow_unverified=False, required=True)
    check.set_defaults(handler=verify_command)
