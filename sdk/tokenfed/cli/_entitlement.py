"""Commands of the entitlements chapter: ``tokenfed entitlement issue`` and ``verify``."""

from __future__ import annotations

import argparse
import time

from ..entitlements import MAX_LIFETIME, Entitlement, issue_entitlement
from ..errors import InvalidArgumentsError
from ..receipts import pairwise_subject
from ._io import emit, read_bytes, read_private_key, read_token
from ._parser import bounded_number, numeric_date
from ._trustargs import add_trust_options, document_trust

__all__ = ["add_entitlement_commands", "entitlement_issue", "entitlement_verify"]

_MIN_SECRET = 16


_ttl = bounded_number("a lifetime in seconds (ENT-004)", 1, MAX_LIFETIME)


def add_entitlement_commands(entitlement: argparse.ArgumentParser) -> None:
    """Fill the parser of ``tokenfed entitlement ...``."""
    sub = entitlement.add_subparsers(
        dest="entitlement_command", required=True, parser_class=type(entitlement)
    )

    issue = sub.add_parser("issue", help="sign an entitlement (operator); prints the JWS")
    issue.add_argument("--key", required=True, metavar="KEY.jwk", help="entitlement-signing JWK")
    issue.add_argument("--iss", required=True, help="the operator's entity id")
    issue.add_argument("--aud", required=True, help="the provider's entity id")
    subject = issue.add_mutually_exclusive_group(required=True)
    subject.add_argument("--sub", help="the subscriber's pairwise id for the provider")
    subject.add_argument(
        "--sub-secret",
        metavar="SECRET",
        help="file holding the operator's pairwise-id secret (at least 16 bytes); with "
        "--account, sub is derived for the provider as REC-003 recommends",
    )
    issue.add_argument("--account", help="the subscriber's account (with --sub-secret)")
    issue.add_argument(
        "--scope", required=True, nargs="+", metavar="MODEL", help="model ids it authorizes"
    )
    issue.add_argument("--limit", required=True, metavar="UTU", help="most UTU, e.g. 250")
    issue.add_argument("--ttl", required=True, type=_ttl, metavar="SECONDS", help="1 to 86400")
    issue.add_argument("--jti", help="entitlement id (default: 128 random bits)")
    issue.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    issue.set_defaults(handler=entitlement_issue)

    verify = sub.add_parser("verify", help="verify an entitlement (provider); prints its claims")
    add_trust_options(verify, "entitlement", allow_unverified=False)
    verify.add_argument("--audience", required=True, help="this provider's own entity id")
    verify.add_argument("--at", type=numeric_date, metavar="NUMERICDATE", help="default: now")
    verify.add_argument("token", metavar="TOKEN", help="file holding the entitlement JWS ('-')")
    verify.set_defaults(handler=entitlement_verify)


def _subject(args: argparse.Namespace) -> str:
    if args.sub is not None:
        if args.account is not None:
            raise InvalidArgumentsError("--account goes with --sub-secret, not with --sub")
        return str(args.sub)
    if args.account is None:
        raise InvalidArgumentsError("--sub-secret needs --account: whose pairwise id to derive")
    secret = read_bytes(args.sub_secret)
    if len(secret) < _MIN_SECRET:
        raise InvalidArgumentsError(
            f"{args.sub_secret} holds {len(secret)} bytes; the pairwise-id secret needs at least "
            f"{_MIN_SECRET} (REC-003)"
        )
    return pairwise_subject(secret, args.aud, args.account)


def entitlement_issue(args: argparse.Namespace) -> int:
    """``tokenfed entitlement issue``: validate the claims, print the signed entitlement."""
    sub = _subject(args)
    key = read_private_key(args.key)
    print(
        issue_entitlement(
            key=key,
            iss=args.iss,
            aud=args.aud,
            sub=sub,
            scope=args.scope,
            limit=args.limit,
            ttl=args.ttl,
            jti=args.jti,
            iat=args.iat,
        )
    )
    return 0


def entitlement_verify(args: argparse.Namespace) -> int:
    """``tokenfed entitlement verify``: ENT-020 with the given key or trust store."""
    trust = document_trust(args)
    assert trust is not None  # --key or --trust is required
    entitlement = Entitlement.from_jws(
        read_token(args.token),
        trust,
        audience=args.audience,
        now=int(time.time()) if args.at is None else args.at,
    )
    emit(entitlement.raw)
    return 0
