"""Where the command line takes the keys of signed documents from: --key, --trust, --no-verify."""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import TokenfedError
from ..keys import PublicKey
from ..trust import TrustStore
from ._io import read_json, read_public_key

__all__ = ["add_trust_options", "document_trust", "warn_unverified"]


def add_trust_options(
    parser: argparse.ArgumentParser,
    what: str,
    *,
    key_flag: str = "--key",
    allow_unverified: bool,
    required: bool = True,
) -> None:
    """Add the mutually exclusive choice of where ``what``'s key comes from (required unless
    ``required`` is false, for a document that only some uses of a command read)."""
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument(
        key_flag,
        dest="document_key",
        metavar="PUB.jwk",
        help=f"verify the {what} with this public key (its publisher's)",
    )
    group.add_argument(
        "--trust",
        dest="document_trust",
        metavar="TRUST.json",
        help=f"verify the {what} with the trust store's key for its iss and kid",
    )
    if allow_unverified:
        group.add_argument(
            "--no-verify",
            dest="no_verify",
            action="store_true",
            help=f"read the {what} WITHOUT checking its signature (a warning is printed)",
        )


def document_trust(args: argparse.Namespace) -> PublicKey | TrustStore | None:
    """The key or trust store chosen on the command line; ``None`` for ``--no-verify``."""
    if getattr(args, "document_key", None):
        return read_public_key(args.document_key)
    if getattr(args, "document_trust", None):
        return TrustStore.from_json(read_json(args.document_trust))
    return None


def warn_unverified(what: str) -> None:
    """Say loudly, as one JSON object on standard error, that a document was not verified."""
    warning = {
        "warning": "not_verified",
        "message": f"the {what} was read WITHOUT checking its signature (--no-verify): anyone "
        "could have written it; do not rely on this output",
    }
    sys.stderr.write(json.dumps(warning) + "\n")


def reraise_with_path(path: str, exc: TokenfedError) -> TokenfedError:
    """Prefix an error's message with the file it came from."""
    exc.message = f"{path}: {exc.message}"
    return exc
