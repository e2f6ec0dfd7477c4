"""Commands of the federation chapter: resolve a trust chain, sign entity statements.

``tokenfed federation resolve`` and ``tokenfed receipt verify --anchor`` share the options that
configure a resolver: pinned anchors (``--anchor ID --anchor-keys JWKS``, repeatable and paired
in order) and loopback test mode (``--loopback-origin https://name=http://127.0.0.1:PORT``,
repeatable, off unless given).
"""

from __future__ import annotations

import argparse
import time
from typing import TYPE_CHECKING, Any

from ..errors import InvalidArgumentsError, InvalidStatementError
from ._io import emit, read_json, read_private_key
from ._parser import bounded_number, numeric_date

if TYPE_CHECKING:  # the federation package (and httpx) load only when a command needs them
    from ..federation import Resolver, TrustAnchor

__all__ = [
    "add_anchor_options",
    "add_federation_commands",
    "anchors_from_args",
    "federation_resolve",
    "federation_sign_configuration",
    "federation_sign_statement",
    "origin_map_from_args",
    "resolver_from_args",
]


def add_anchor_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--anchor``/``--anchor-keys`` (pinned trust anchors) and ``--loopback-origin``."""
    parser.add_argument(
        "--anchor",
        action="append",
        required=required,
        metavar="ANCHOR_ID",
        help="entity id of a pinned trust anchor (repeatable; earlier ones are preferred)",
    )
    parser.add_argument(
        "--anchor-keys",
        action="append",
        required=required,
        metavar="JWKS.json",
        help="the anchor's federation JWK Set, obtained out of band (one per --anchor, in order)",
    )
    parser.add_argument(
        "--loopback-origin",
        action="append",
        default=[],
        metavar="ORIGIN=URL",
        help="test mode: fetch https ORIGIN from http://127.0.0.1:PORT (repeatable; never in "
        "production)",
    )


def anchors_from_args(args: argparse.Namespace) -> list[TrustAnchor]:
    """The pinned anchors of ``--anchor``/``--anchor-keys``, paired in order."""
    from ..federation import TrustAnchor

    ids: list[str] = args.anchor or []
    keys: list[str] = args.anchor_keys or []
    if len(ids) != len(keys):
        raise InvalidArgumentsError(
            f"give one --anchor-keys per --anchor, in the same order ({len(ids)} anchors, "
            f"{len(keys)} key sets)"
        )
    return [
        TrustAnchor.from_jwks(entity_id, read_json(path))
        for entity_id, path in zip(ids, keys, strict=True)
    ]


def origin_map_from_args(args: argparse.Namespace) -> dict[str, str]:
    """The loopback test-mode map of ``--loopback-origin ORIGIN=URL``."""
    from ..federation._fetch import check_origin_map

    mapping: dict[str, str] = {}
    for item in args.loopback_origin:
        origin, sep, target = item.partition("=")
        if not sep:
            raise InvalidArgumentsError(
                f"--loopback-origin {item!r}: write ORIGIN=URL, e.g. "
                "https://anchor.a.example=http://127.0.0.1:8001"
            )
        mapping[origin] = target
    try:
        return check_origin_map(mapping)
    except ValueError as exc:
        raise InvalidArgumentsError(f"--loopback-origin: {exc}") from None


def resolver_from_args(args: argparse.Namespace) -> Resolver:
    """A resolver with the command line's anchors and loopback map (the caller closes it)."""
    from ..federation import Resolver

    origin_map = origin_map_from_args(args)
    return Resolver(anchors_from_args(args), origin_map=origin_map)


def federation_resolve(args: argparse.Namespace) -> int:
    """``tokenfed federation resolve``: print the chosen chain, its expiry and metadata."""
    from ..federation import is_federation_entity_id

    if not is_federation_entity_id(args.entity_id):
        raise InvalidArgumentsError(
            f"{args.entity_id!r} is not a federation entity id (https, lowercase host, no "
            "query, fragment or trailing '/')"
        )
    with resolver_from_args(args) as resolver:
        resolution = resolver.resolve(args.entity_id, args.type)
    emit(resolution.to_json())
    return 0


def _claims(args: argparse.Namespace) -> dict[str, Any]:
    claims = read_json(args.claims)
    if not isinstance(claims, dict):
        raise InvalidStatementError(f"{args.claims}: statement claims must be a JSON object")
    if args.lifetime is not None:
        iat = int(time.time()) if args.iat is None else args.iat
        claims["iat"] = iat
        claims["exp"] = iat + args.lifetime
    elif args.iat is not None:
        raise InvalidArgumentsError("--iat needs --lifetime")
    return claims


def federation_sign_configuration(args: argparse.Namespace) -> int:
    """``tokenfed federation sign-configuration``: sign an entity configuration (iss == sub)."""
    claims = _claims(args)
    if claims.get("iss") != claims.get("sub"):
        raise InvalidStatementError(
            f"{args.claims}: an entity configuration has iss == sub; use sign-statement for a "
            "subordinate statement"
        )
    _print_signed(claims, args)
    return 0


def _print_signed(claims: dict[str, Any], args: argparse.Namespace) -> None:
    from ..federation import sign_statement

    print(sign_statement(claims, read_private_key(args.key)))


def federation_sign_statement(args: argparse.Namespace) -> int:
    """``tokenfed federation sign-statement``: sign a subordinate statement (iss != sub)."""
    claims = _claims(args)
    if claims.get("iss") == claims.get("sub"):
        raise InvalidStatementError(
            f"{args.claims}: a subordinate statement has iss != sub; use sign-configuration for "
            "an entity configuration"
        )
    _print_signed(claims, args)
    return 0


_lifetime = bounded_number("a number of seconds", 1, 86400)


def add_federation_commands(federation: argparse.ArgumentParser) -> None:
    """Fill the parser of ``tokenfed federation resolve|sign-configuration|sign-statement``."""
    sub = federation.add_subparsers(
        dest="federation_command", required=True, parser_class=type(federation)
    )
    resolve = sub.add_parser(
        "resolve",
        help="resolve an entity to a pinned trust anchor; prints the chosen chain as JSON",
    )
    resolve.add_argument("entity_id", metavar="ENTITY_ID", help="the subject's entity id")
    add_anchor_options(resolve, required=True)
    resolve.add_argument(
        "--type",
        metavar="T",
        help="keep only chains whose metadata has this entity type (e.g. tokenfed_provider)",
    )
    resolve.set_defaults(handler=federation_resolve)
    signers = (
        ("sign-configuration", "an entity configuration", federation_sign_configuration),
        ("sign-statement", "a subordinate statement", federation_sign_statement),
    )
    for name, what, handler in signers:
        sign = sub.add_parser(name, help=f"sign {what}; prints the compact JWS")
        sign.add_argument("--key", required=True, metavar="KEY.jwk", help="private federation JWK")
        sign.add_argument(
            "--claims", required=True, metavar="CLAIMS.json", help="the claims ('-' for stdin)"
        )
        sign.add_argument(
            "--lifetime",
            type=_lifetime,
            metavar="SECONDS",
            help="set iat (now, or --iat) and exp = iat + SECONDS (at most 86400)",
        )
        sign.add_argument("--iat", type=numeric_date, metavar="NUMERICDATE", help="with --lifetime")
        sign.set_defaults(handler=handler)
