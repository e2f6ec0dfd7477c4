"""Generate spec/vectors/files.json: receipt files (JSON Lines) and their per-line results.

REC-070 and REC-071 fix how a file is split into lines and what each line's result is. Each
vector is a whole file, given as base64url of its exact bytes (so CR, invalid UTF-8 and binary
garbage survive), with the results a verifier must report line by line and the summary. The
receipts, trust store and rate card are those of spec/vectors/receipts.json (its fixtures), so
the expected results follow from how each file was built. Checked independently by
interop/check_vectors.py.

Run: python spec/tools/make_file_vectors.py [--check]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

SPEC = Path(__file__).resolve().parent.parent
OUT = SPEC / "vectors" / "files.json"
RECEIPTS = SPEC / "vectors" / "receipts.json"
MAX_LINE = 65536


def _canonical(value: Decimal) -> str:
    """A canonical decimal string (CONV-020) of an exact sum."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text or "0"


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def build() -> dict[str, Any]:
    source = json.loads(RECEIPTS.read_text(encoding="utf-8"))
    by_id = {item["id"]: item for item in source["vectors"]}
    first = by_id["valid-eddsa-seq1"]
    second = by_id["valid-eddsa-seq2"]
    t1, t2 = first["input"]["receipt"], second["input"]["receipt"]
    c1, c2 = first["expected"]["claims"], second["expected"]["claims"]
    now = first["input"]["now"]

    def ok(claims: dict[str, Any], duplicate: bool = False) -> dict[str, Any]:
        row: dict[str, Any] = {"ok": True, "iss": claims["iss"], "jti": claims["jti"]}
        row["amount"] = claims["amount"]
        if duplicate:
            row["duplicate"] = True
        return row

    def bad(code: str) -> dict[str, Any]:
        return {"ok": False, "error": code}

    vectors: list[dict[str, Any]] = []

    def add(vid: str, description: str, data: bytes, rows: list[dict[str, Any]]) -> None:
        results = [{"line": number, **row} for number, row in enumerate(rows, 1)]
        accepted = [row for row in rows if row["ok"] and not row.get("duplicate")]
        total = sum((Decimal(row["amount"]) for row in accepted), Decimal(0))
        vectors.append(
            {
                "id": vid,
                "description": description,
                "requirements": ["REC-070", *(["REC-071"] if "long" in vid else [])],
                "input": {
                    "file": b64u(data),
                    "now": now,
                    "trust": "default",
                    "rate_cards": ["default"],
                },
                "expected": {
                    "results": results,
                    "summary": {
                        "lines": len(rows),
                        "accepted": len(accepted),
                        "duplicates": sum(bool(row.get("duplicate")) for row in rows),
                        "rejected": sum(not row["ok"] for row in rows),
                        "amount": _canonical(total),
                    },
                },
            }
        )

    a, b = t1.encode(), t2.encode()
    add("lf", "Two receipts, each line ended by LF.", a + b"\n" + b + b"\n", [ok(c1), ok(c2)])
    add(
        "crlf",
        "CRLF line ends: the CR before each LF is not part of the line.",
        a + b"\r\n" + b + b"\r\n",
        [ok(c1), ok(c2)],
    )
    add("no-final-lf", "The last line has no LF: it is a line.", a + b"\n" + b, [ok(c1), ok(c2)])
    add("empty-file", "An empty file has no lines and no results.", b"", [])
    add(
        "invalid-utf8-line",
        "A line that is not UTF-8 between two receipts is malformed; the others are verified.",
        a + b"\n\xff\xfe\xfd\n" + b + b"\n",
        [ok(c1), bad("malformed"), ok(c2)],
    )
    add(
        "empty-line",
        "An empty line (and one of spaces) is malformed; the next receipt is still verified.",
        a + b"\n\n \t\n" + b + b"\n",
        [ok(c1), bad("malformed"), bad("malformed"), ok(c2)],
    )
    add(
        "blanks-around-receipts",
        "Spaces, tabs and CRs around a receipt on a line are not part of it: both receipts are "
        "verified.",
        b" \t" + a + b" \r\r\n" + b"\r\t" + b + b"\t\n",
        [ok(c1), ok(c2)],
    )
    add(
        "blank-line-with-cr",
        "A line of only spaces, tabs and CRs (here before a CRLF) is empty: malformed.",
        a + b"\n \r\t\r\n" + b + b"\n",
        [ok(c1), bad("malformed"), ok(c2)],
    )
    add(
        "binary-line",
        "A line of binary garbage is malformed.",
        bytes(byte for byte in range(256) if byte != 0x0A) + b"\n" + a + b"\n",
        [bad("malformed"), ok(c1)],
    )
    add(
        "json-string-line",
        "A line that is a JSON string holding a receipt is neither a JWS nor a batched receipt.",
        json.dumps(t1).encode() + b"\n" + a + b"\n",
        [bad("malformed"), ok(c1)],
    )
    add(
        "duplicate-line",
        "The same receipt on two lines: the second is a duplicate, counted once (REC-042).",
        a + b"\n" + a + b"\n" + b + b"\n",
        [ok(c1), ok(c1, duplicate=True), ok(c2)],
    )
    add(
        "over-long-line",
        f"A line of {MAX_LINE + 1} bytes is malformed without being parsed; the next is verified.",
        b"A" * (MAX_LINE + 1) + b"\n" + a + b"\n",
        [bad("malformed"), ok(c1)],
    )
    add(
        "chain-in-line-order",
        "Receipts out of order: seq 2 first breaks the chain; seq 1 then opens the stream.",
        b + b"\n" + a + b"\n",
        [bad("chain_break"), ok(c1)],
    )
    return {
        "$schema": "../schemas/vectors.schema.json",
        "kind": "files",
        "spec_version": "1.0",
        "description": (
            "Receipt files (REC-070, REC-071). input.file is base64url of the file's exact bytes; "
            "trust and rate_cards name fixtures of receipts.json (rate cards by their signed "
            "tokens); now is the verifier's clock. expected.results has one object per line "
            "(line number, ok, and iss/jti/amount/duplicate or the error code); summary counts "
            "them, with amount the exact total in UTU of the accepted receipts, each counted once."
        ),
        "provenance": (
            "Generated by spec/tools/make_file_vectors.py from receipts of "
            "spec/vectors/receipts.json; expected results follow from how each file was built. "
            "Checked independently by interop/check_vectors.py."
        ),
        "vectors": vectors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if the file would change")
    args = parser.parse_args()
    text = json.dumps(build(), indent=1, ensure_ascii=False) + "\n"
    if args.check:
        if not OUT.exists() or OUT.read_text(encoding="utf-8") != text:
            print(f"{OUT} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
