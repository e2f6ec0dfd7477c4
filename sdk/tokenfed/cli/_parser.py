"""Argument parsing: one sub-command per task, usage errors raised as ``InvalidArgumentsError``."""

from __future__ import annotations

import argparse
from typing import NoReturn

from .. import __version__
from ..errors import InvalidArgumentsError
from . import _entitlement, _federation, _foundation, _receipts, _settle, _usage
from ._serve import add_serve_command
from ._trustargs import add_trust_options

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidArgumentsError(f"{self.prog}: {message}")


def numeric_date(text: str) -> int:
    """Parse a NumericDate argument (CONV-002)."""
    if not text.isdigit() or len(text) > 16:
        raise argparse.ArgumentTypeError(f"{text!r} is not a NumericDate (integer seconds, UTC)")
    return int(text)


_KID_HELP = (
    "the key's RFC 7638 thumbprint; write --kid=KID when it starts with '-' "
    "(base64url thumbprints can)"
)


def positive_int(text: str) -> int:
    """Parse a count that must be at least 1."""
    if not text.isdigit() or int(text) < 1 or len(text) > 6:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    """The ``tokenfed`` parser with every sub-command."""
    parser = _Parser(
        prog="tokenfed",
        description="Price, convert, sign and verify tokenfed documents.",
        epilog='Rejections: exit 1 and {"error", "message"} JSON on stderr. Bad usage: exit 2.',
    )
    parser.add_argument("--version", action="version", version=f"tokenfed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    keygen = commands.add_parser("keygen", help="generate a signing key")
    keygen.add_argument("--out", required=True, metavar="KEY.jwk", help="private JWK (mode 0600)")
    keygen.add_argument("--alg", choices=["EdDSA", "ES256"], default="EdDSA")
    keygen.add_argument("--force", action="store_true", help="replace an existing file")
    keygen.set_defaults(handler=_foundation.keygen)

    rate_card = commands.add_parser("rate-card", help="sign or verify a rate card")
    rate_card_commands = rate_card.add_subparsers(
        dest="rate_card_command", required=True, parser_class=_Parser
    )
    sign = rate_card_commands.add_parser("sign", help="sign rate-card claims; prints the JWS")
    sign.add_argument("--key", required=True, metavar="KEY.jwk", help="private JWK")
    sign.add_argument("claims", metavar="CLAIMS.json", help="rate-card claims ('-' for stdin)")
    sign.set_defaults(handler=_foundation.rate_card_sign)
    verify = rate_card_commands.add_parser("verify", help="verify a rate card; prints its claims")
    add_trust_options(verify, "rate card", allow_unverified=False)
    verify.add_argument("card", metavar="CARD.jwt", help="rate-card JWS ('-' for stdin)")
    verify.set_defaults(handler=_foundation.rate_card_verify)

    rates = commands.add_parser("rates", help="sign or verify an exchange-rate set")
    rates_commands = rates.add_subparsers(dest="rates_command", required=True, parser_class=_Parser)
    rates_sign = rates_commands.add_parser("sign", help="sign exchange-rate claims; prints the JWS")
    rates_sign.add_argument("--key", required=True, metavar="KEY.jwk", help="private JWK")
    rates_sign.add_argument("claims", metavar="CLAIMS.json", help="claims ('-' for stdin)")
    rates_sign.set_defaults(handler=_foundation.rates_sign)
    rates_verify = rates_commands.add_parser(
        "verify", help="verify an exchange-rate set; prints its claims"
    )
    add_trust_options(rates_verify, "exchange-rate set", allow_unverified=False)
    rates_verify.add_argument("rates", metavar="RATES.jwt", help="JWS ('-' for stdin)")
    rates_verify.set_defaults(handler=_foundation.rates_verify)

    price = commands.add_parser("price", help="price a usage under a rate card")
    price.add_argument("--rate-card", required=True, metavar="CARD", help="rate card (JWS)")
    price.add_argument(
        "--usage", required=True, metavar="USAGE.json", help="usage object, or with --from a report"
    )
    _usage.add_report_arguments(price, required=False)
    add_trust_options(price, "rate card", allow_unverified=True)
    price.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    price.set_defaults(handler=_foundation.price)

    usage = commands.add_parser("usage", help="turn vendor usage reports into usage objects")
    usage_commands = usage.add_subparsers(dest="usage_command", required=True, parser_class=_Parser)
    adapt = usage_commands.add_parser("adapt", help="print the usage object of a vendor report")
    _usage.add_report_arguments(adapt, required=True)
    adapt.add_argument("report", metavar="FILE", help="usage object, response or stream ('-')")
    adapt.set_defaults(handler=_usage.usage_adapt)

    convert = commands.add_parser("convert", help="convert an amount between units")
    convert.add_argument("amount", metavar="AMOUNT", help="canonical decimal string")
    convert.add_argument("--from", dest="from_code", required=True, metavar="A")
    convert.add_argument("--to", dest="to_code", required=True, metavar="B")
    convert.add_argument("--rates", required=True, metavar="RATES", help="exchange rates (JWS)")
    add_trust_options(convert, "exchange-rate set", allow_unverified=True)
    convert.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    convert.set_defaults(handler=_foundation.convert)

    receipt = commands.add_parser("receipt", help="issue, verify or inspect usage receipts")
    receipt_commands = receipt.add_subparsers(
        dest="receipt_command", required=True, parser_class=_Parser
    )
    issue = receipt_commands.add_parser("issue", help="price a usage and print a signed receipt")
    issue.add_argument("--key", required=True, metavar="KEY.jwk", help="private JWK")
    issue.add_argument("--iss", required=True, help="issuer entity id (https URL)")
    issue.add_argument("--aud", required=True, help="audience (payer) entity id")
    issue.add_argument("--sub", required=True, help="pairwise pseudonymous subscriber id")
    issue.add_argument("--rate-card", required=True, metavar="CARD", help="rate card (JWS)")
    add_trust_options(issue, "rate card", key_flag="--card-key", allow_unverified=True)
    issue.add_argument("--usage", required=True, metavar="USAGE.json", help="usage object")
    issue.add_argument(
        "--state",
        metavar="DB",
        help="SQLite stream state; without it every receipt starts a new stream at seq 1",
    )
    issue.add_argument("--jti", help="receipt id (default: 128 random bits)")
    issue.add_argument("--entitlement", help="jti of the authorization consumed")
    issue.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    issue.set_defaults(handler=_receipts.receipt_issue)

    check = receipt_commands.add_parser(
        "verify", help="verify a receipt (prints its claims) or a JSONL file (prints a summary)"
    )
    check.add_argument(
        "--trust", metavar="TRUST.json", help="trust store (or the federation: --anchor)"
    )
    _federation.add_anchor_options(check, required=False)
    check.add_argument(
        "--rate-card", required=True, action="append", metavar="CARD", help="repeatable"
    )
    check.add_argument("--ledger", metavar="DB", help="SQLite ledger: replay and chain checks")
    check.add_argument("--results", metavar="OUT.jsonl", help="per-line results of a file")
    check.add_argument(
        "--workers", type=positive_int, metavar="N", help="processes, >= 1 (default: all cores)"
    )
    check.add_argument(
        "--summary", action="store_true", help="also print totals per stream and per model"
    )
    check.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    check.add_argument("receipt", metavar="RECEIPT|-|FILE.jsonl")
    check.set_defaults(handler=_receipts.receipt_verify)

    inspect = receipt_commands.add_parser("inspect", help="decode a receipt without verifying")
    inspect.add_argument("receipt", metavar="RECEIPT|-")
    inspect.set_defaults(handler=_receipts.receipt_inspect)

    trust = commands.add_parser("trust", help="manage a verifier's trust store")
    trust_commands = trust.add_subparsers(dest="trust_command", required=True, parser_class=_Parser)
    add = trust_commands.add_parser("add", help="trust an issuer's public key")
    add.add_argument("--trust", required=True, metavar="TRUST.json", help="created if missing")
    add.add_argument("--iss", required=True, help="issuer entity id")
    add.add_argument("--key", required=True, metavar="PUB.jwk", help="the issuer's JWK")
    add.add_argument("--nbf", required=True, type=numeric_date, metavar="NUMERICDATE")
    add.add_argument("--exp", type=numeric_date, metavar="NUMERICDATE")
    add.set_defaults(handler=_receipts.trust_add)
    rotate = trust_commands.add_parser("rotate", help="end a key's signing window (rotation)")
    rotate.add_argument("--trust", required=True, metavar="TRUST.json")
    rotate.add_argument("--iss", required=True, help="issuer entity id")
    rotate.add_argument("--kid", required=True, help=_KID_HELP)
    rotate.add_argument("--exp", required=True, type=numeric_date, metavar="NUMERICDATE")
    rotate.set_defaults(handler=_receipts.trust_rotate)
    listing = trust_commands.add_parser("list", help="list trusted keys and their windows")
    listing.add_argument("--trust", required=True, metavar="TRUST.json")
    listing.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    listing.set_defaults(handler=_receipts.trust_list)
    revoke = trust_commands.add_parser("revoke", help="revoke an issuer's key from a time on")
    revoke.add_argument("--trust", required=True, metavar="TRUST.json")
    revoke.add_argument("--iss", required=True, help="issuer entity id")
    revoke.add_argument("--kid", required=True, help=_KID_HELP)
    revoke.add_argument("--at", required=True, type=numeric_date, metavar="NUMERICDATE")
    revoke.add_argument("--reason", default="unspecified", help="why, for the record")
    revoke.set_defaults(handler=_receipts.trust_revoke)

    _settle.add_settle_commands(commands)
    _federation.add_federation_commands(commands)
    add_serve_command(commands)
    _entitlement.add_entitlement_commands(commands)
    return parser
