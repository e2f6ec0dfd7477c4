"""Commands that read vendor usage reports: ``tokenfed usage adapt`` and ``tokenfed price --from``
(spec/units.md, adapters UNIT-010..UNIT-019, UNIT-080..UNIT-095; streams UNIT-100..UNIT-104)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import _json
from .._meters import SERVICE_TIERS, is_service_tier
from ..errors import MalformedError, TokenfedError
from ..units import VENDORS, Usage, UsageStream, adapt, parse_usage
from ._io import emit, read_bytes, read_json

__all__ = ["add_report_arguments", "read_usage", "service_tier", "usage_adapt"]


def service_tier(text: str) -> str:
    """Parse a ``--service-tier`` argument (UNIT-070)."""
    if not is_service_tier(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is neither one of {', '.join(SERVICE_TIERS)} nor an extension tier name "
            "such as 'acme.night'"
        )
    return text


def add_report_arguments(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """The options that say how to read a vendor's report."""
    parser.add_argument(
        "--from",
        dest="vendor",
        required=required,
        choices=VENDORS,
        metavar="VENDOR",
        help=f"the vendor whose report this is: {', '.join(VENDORS)}",
    )
    parser.add_argument("--model", help="model id for the usage (default: the response's)")
    parser.add_argument(
        "--service-tier",
        type=service_tier,
        metavar="TIER",
        help="tier the report cannot know, e.g. batch for a batch job",
    )
    parser.add_argument(
        "--lenient",
        action="store_true",
        help="ignore report members the adapter does not know (default: refuse them)",
    )
    parser.add_argument(
        "--stream",
        action="store_true",
        help="the file holds the chunks of a streamed response (JSON lines or SSE data lines)",
    )


def _chunks(path: str) -> list[Any]:
    """The chunks of a stream file: one JSON object per line, or server-sent event lines
    (``data: {...}``; ``event:`` lines, comments and ``data: [DONE]`` are skipped)."""
    try:
        text = read_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedError(f"{path} is not UTF-8 text (CONV-010)") from None
    chunks: list[Any] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if line.startswith("data:"):
            line = line[len("data:") :].strip()
        elif line.startswith(("event:", "id:", "retry:", ":")):
            continue
        if not line or line == "[DONE]":
            continue
        try:
            chunks.append(_json.loads(line.encode("utf-8")))
        except TokenfedError as exc:
            exc.message = f"{path}, line {number}: {exc.message}"
            raise
    return chunks


def read_usage(args: argparse.Namespace, path: str) -> Usage:
    """The usage in ``path``: a usage object, or with ``--from`` a vendor report or stream."""
    if args.vendor is None:
        return parse_usage(read_json(path))
    options: dict[str, Any] = {"strict": not args.lenient, "service_tier": args.service_tier}
    if args.stream:
        stream = UsageStream(args.vendor, args.model, **options)
        for chunk in _chunks(path):
            stream.feed(chunk)
        return stream.usage()
    return adapt(args.vendor, read_json(path), args.model, **options)


def usage_adapt(args: argparse.Namespace) -> int:
    """``tokenfed usage adapt``: print the usage object of a vendor's report."""
    emit(read_usage(args, args.report).to_wire())
    return 0
