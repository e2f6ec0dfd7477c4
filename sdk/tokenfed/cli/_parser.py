"""Argument parsing: one sub-command per task, usage errors raised as ``InvalidArgumentsError``.

Start-up cost: a command's module (and what it imports) loads only when that command's parser
is built. :func:`build_parser` builds every command (the reference and the tests read it);
the command line builds the one it runs and lists the others by name and help only, which
is all that ``tokenfed --help`` shows of them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

from .. import __version__
from .._json import MAX_SAFE_INTEGER
from ..errors import InvalidArgumentsError

__all__ = ["build_parser", "command_word"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InvalidArgumentsError(f"{self.prog}: {message}")


def bounded_number(what: str, low: int = 0, high: int = MAX_SAFE_INTEGER) -> Any:
    """An argparse type: a decimal integer from ``low`` to ``high``, else the command line's
    ``invalid_arguments``."""

    def parse(text: str) -> int:
        digits = text.isascii() and text.isdigit() and len(text) <= 16  # ASCII digits only
        if not digits or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what} from {low} to {high}")
        return int(text)

    return parse


numeric_date = bounded_number("a NumericDate (integer seconds since the epoch, UTC, CONV-002)")
"""Parse a NumericDate argument (CONV-002)."""


_KID_HELP = (
    "the key's RFC 7638 thumbprint; write --kid=KID when it starts with '-' "
    "(base64url thumbprints can)"
)


positive_int = bounded_number("a whole number", 1, 999_999)
"""Parse a count that must be at least 1."""


def _keygen(keygen: argparse.ArgumentParser) -> None:
    from . import _foundation

    keygen.add_argument("--out", required=True, metavar="KEY.jwk", help="private JWK (mode 0600)")
    keygen.add_argument("--alg", choices=["EdDSA", "ES256"], default="EdDSA")
    keygen.add_argument("--force", action="store_true", help="replace an existing file")
    keygen.set_defaults(handler=_foundation.keygen)


def _rate_card(rate_card: argparse.ArgumentParser) -> None:
    from . import _foundation
    from ._trustargs import add_trust_options

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


def _rates(rates: argparse.ArgumentParser) -> None:
    from . import _foundation
    from ._trustargs import add_trust_options

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


def _price(price: argparse.ArgumentParser) -> None:
    from . import _foundation, _usage
    from ._trustargs import add_trust_options

    price.add_argument("--rate-card", required=True, metavar="CARD", help="rate card (JWS)")
    price.add_argument(
        "--usage", required=True, metavar="USAGE.json", help="usage object, or with --from a report"
    )
    _usage.add_report_arguments(price, required=False)
    add_trust_options(price, "rate card", allow_unverified=True)
    price.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    price.set_defaults(handler=_foundation.price)


def _usage_commands(usage: argparse.ArgumentParser) -> None:
    from . import _usage

    usage_commands = usage.add_subparsers(dest="usage_command", required=True, parser_class=_Parser)
    adapt = usage_commands.add_parser("adapt", help="print the usage object of a vendor report")
    _usage.add_report_arguments(adapt, required=True)
    adapt.add_argument("report", metavar="FILE", help="usage object, response or stream ('-')")
    adapt.set_defaults(handler=_usage.usage_adapt)


def _convert(convert: argparse.ArgumentParser) -> None:
    from . import _foundation
    from ._trustargs import add_trust_options

    convert.add_argument("amount", metavar="AMOUNT", help="canonical decimal string")
    convert.add_argument("--from", dest="from_code", required=True, metavar="A")
    convert.add_argument("--to", dest="to_code", required=True, metavar="B")
    convert.add_argument("--rates", required=True, metavar="RATES", help="exchange rates (JWS)")
    add_trust_options(convert, "exchange-rate set", allow_unverified=True)
    convert.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    convert.set_defaults(handler=_foundation.convert)


def _receipt(receipt: argparse.ArgumentParser) -> None:
    from . import _federation, _receipts
    from ._trustargs import add_trust_options

    receipt_commands = receipt.add_subparsers(
        dest="receipt_command", required=True, parser_class=_Parser
    )
    issue = receipt_commands.add_parser("issue", help="price a usage and print a signed receipt")
    issue.add_argument("--key", required=True, metavar="KEY.jwk", help="private JWK")
    issue.add_argument("--iss", required=True, help="issuer entity id (https URL)")
    issue.add_argument("--aud", required=True, help="audience (payer) entity id")
    issue.add_argument("--sub", required=True, help="pairwise pseudonymous subscriber id")
    issue.add_argument("--rate-card", required=True, metavar="CARD", help="rate card (JWS)")
    # A receipt is priced only with a rate card that verified (UNIT-033): no --no-verify.
    add_trust_options(issue, "rate card", key_flag="--card-key", allow_unverified=False)
    issue.add_argument("--usage", required=True, metavar="USAGE.json", help="usage object")
    issue.add_argument(
        "--state",
        required=True,
        metavar="DB",
        help="SQLite stream state, kept across runs so that a stream never restarts or forks "
        "(REC-046); created if missing",
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


def _trust(trust: argparse.ArgumentParser) -> None:
    from . import _receipts

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


def _settle(settle: argparse.ArgumentParser) -> None:
    from . import _settle

    _settle.add_settle_commands(settle)


def _serve(serve: argparse.ArgumentParser) -> None:
    from . import _serve

    _serve.add_serve_command(serve)


def _entitlement(entitlement: argparse.ArgumentParser) -> None:
    from . import _entitlement

    _entitlement.add_entitlement_commands(entitlement)


def _federation(federation: argparse.ArgumentParser) -> None:
    from . import _federation

    _federation.add_federation_commands(federation)


_Build = Callable[[argparse.ArgumentParser], None]

_COMMANDS: tuple[tuple[str, dict[str, Any], _Build], ...] = (
    ("keygen", {"help": "generate a signing key"}, _keygen),
    ("rate-card", {"help": "sign or verify a rate card"}, _rate_card),
    ("rates", {"help": "sign or verify an exchange-rate set"}, _rates),
    ("price", {"help": "price a usage under a rate card"}, _price),
    ("usage", {"help": "turn vendor usage reports into usage objects"}, _usage_commands),
    ("convert", {"help": "convert an amount between units"}, _convert),
    ("receipt", {"help": "issue, verify or inspect usage receipts"}, _receipt),
    ("trust", {"help": "manage a verifier's trust store"}, _trust),
    ("settle", {"help": "settlement statements, splits and netting"}, _settle),
    (
        "serve",
        {
            "help": "run a partner node (anchor, intermediate, provider, operator, clearing house)",
            "description": (
                "Serve one federation entity over HTTP, its roles and keys taken from NODE.toml "
                "(docs/node.md). Stops gracefully on SIGTERM. Needs tokenfed[node]."
            ),
        },
        _serve,
    ),
    ("entitlement", {"help": "issue or verify entitlements"}, _entitlement),
    ("federation", {"help": "resolve trust chains, sign entity statements"}, _federation),
)


def command_word(argv: Sequence[str]) -> str | None:
    """The command ``argv`` runs (its first word that is not an option), if it names one.

    The top-level parser has no option that takes a value, so the first word that does not
    start with ``-`` is the command, as argparse reads it."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word if any(word == name for name, _, _ in _COMMANDS) else None
    return None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The ``tokenfed`` parser with every sub-command.

    Args:
        only: build just this command's arguments (and import its module); every other
            command is listed with its help but takes no arguments. For the command line,
            which runs one command: see :func:`command_word`.
    """
    parser = _Parser(
        prog="tokenfed",
        description="Price, convert, sign and verify tokenfed documents.",
        epilog='Rejections: exit 1 and {"error", "message"} JSON on stderr. Bad usage: exit 2.',
    )
    parser.add_argument("--version", action="version", version=f"tokenfed {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, options, build in _COMMANDS:
        command = commands.add_parser(name, **options)
        if only is None or only == name:
            build(command)
    return parser
