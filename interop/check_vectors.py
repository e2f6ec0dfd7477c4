"""Independent check of the tokenfed test vectors, without the reference SDK.

This program does not import ``tokenfed`` (nor ``tokenfed_conformance``). It reads the vector
files as plain JSON, verifies signatures with ``joserfc``, and parses JWS headers and payloads
with its own small strict JSON parser, written separately from the SDK's. When it agrees with
the vectors, two implementations that share no code read them the same way.

Usage::

    python interop/check_vectors.py [KIND ...]

Without a kind, every kind that has a checker is checked. One line is printed per vector, then a
summary line. The exit status is 0 when every vector agrees, 1 otherwise.

A vector *agrees* when a vector that expects a result is accepted with exactly the expected
header and claims, and a vector that expects an error is rejected. The checker also names the
error code it would give; a different code is reported but is not a disagreement.

To check another kind of vectors, write a function that takes one vector (a ``dict``) and the
``Context`` and returns an ``Outcome``, and register it with ``@checker("kind")``.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import ECKey, OKPKey

__all__ = [
    "Context",
    "Outcome",
    "StrictJSONError",
    "check_kind",
    "checker",
    "kinds",
    "main",
    "parse_strict_json",
]

SPEC_ENV = "TOKENFED_SPEC_DIR"
MAX_DEPTH = 32
MAX_SAFE_INTEGER = 2**53 - 1
MAX_TOKEN_BYTES = 65536


def spec_dir() -> Path:
    """``$TOKENFED_SPEC_DIR``, or the ``spec`` folder next to this program's folder."""
    configured = os.environ.get(SPEC_ENV)
    if configured:
        return Path(configured)
    return Path(__file__).resolve().parent.parent / "spec"


# --------------------------------------------------------------------------- strict JSON


class StrictJSONError(ValueError):
    """The text is not a JSON text this checker accepts."""


_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r"}
_SIMPLE_ESCAPES["t"] = "\t"
_WHITESPACE = " \t\n\r"


class _Parser:
    """Recursive descent over one JSON text with the tokenfed restrictions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> StrictJSONError:
        return StrictJSONError(f"{why} at offset {self.pos}")

    def skip_whitespace(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _WHITESPACE:
            self.pos += 1

    def peek(self) -> str:
        if self.pos >= len(self.text):
            raise self.fail("unexpected end of text")
        return self.text[self.pos]

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}, found {self.peek()!r}")
        self.pos += 1

    def value(self, depth: int) -> Any:
        self.skip_whitespace()
        char = self.peek()
        if char in "{[":
            if depth > MAX_DEPTH:
                raise self.fail(f"nesting deeper than {MAX_DEPTH}")
            return self.object(depth) if char == "{" else self.array(depth)
        if char == '"':
            return self.string()
        if char == "-" or (char.isascii() and char.isdigit()):
            return self.number()
        for word, result in (("true", True), ("false", False), ("null", None)):
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return result
        raise self.fail(f"no JSON value starts with {char!r}")

    def object(self, depth: int) -> dict[str, Any]:
        self.expect("{")
        members: dict[str, Any] = {}
        self.skip_whitespace()
        if self.peek() == "}":
            self.pos += 1
            return members
        while True:
            self.skip_whitespace()
            if self.peek() != '"':
                raise self.fail("expected a member name")
            name = self.string()
            if name in members:
                raise self.fail(f"duplicate member name {name!r}")
            self.skip_whitespace()
            self.expect(":")
            members[name] = self.value(depth + 1)
            self.skip_whitespace()
            if self.peek() == "}":
                self.pos += 1
                return members
            self.expect(",")

    def array(self, depth: int) -> list[Any]:
        self.expect("[")
        items: list[Any] = []
        self.skip_whitespace()
        if self.peek() == "]":
            self.pos += 1
            return items
        while True:
            items.append(self.value(depth + 1))
            self.skip_whitespace()
            if self.peek() == "]":
                self.pos += 1
                return items
            self.expect(",")

    def number(self) -> int:
        match = _NUMBER.match(self.text, self.pos)
        if match is None:
            raise self.fail("malformed number")
        if match.group("frac") or match.group("exp"):
            raise self.fail(f"number {match.group()[:20]} has a fraction or exponent")
        digits = match.group().lstrip("-")
        if len(digits) > 16 or int(digits) > MAX_SAFE_INTEGER:
            raise self.fail(f"integer {match.group()[:20]} is outside +-(2^53 - 1)")
        self.pos = match.end()
        return int(match.group())

    def hex4(self) -> int:
        chunk = self.text[self.pos : self.pos + 4]
        if not _HEX4.fullmatch(chunk):
            raise self.fail("\\u must be followed by four hexadecimal digits")
        self.pos += 4
        return int(chunk, 16)

    def string(self) -> str:
        self.expect('"')
        out: list[str] = []
        while True:
            char = self.peek()
            self.pos += 1
            if char == '"':
                return "".join(out)
            if ord(char) < 0x20:
                raise self.fail("unescaped control character in a string")
            if char != "\\":
                out.append(char)
                continue
            escape = self.peek()
            self.pos += 1
            if escape in _SIMPLE_ESCAPES:
                out.append(_SIMPLE_ESCAPES[escape])
                continue
            if escape != "u":
                raise self.fail(f"invalid escape \\{escape}")
            unit = self.hex4()
            if 0xDC00 <= unit <= 0xDFFF:
                raise self.fail("lone low surrogate escape")
            if 0xD800 <= unit <= 0xDBFF:
                if self.text[self.pos : self.pos + 2] != "\\u":
                    raise self.fail("lone high surrogate escape")
                self.pos += 2
                low = self.hex4()
                if not 0xDC00 <= low <= 0xDFFF:
                    raise self.fail("high surrogate escape not followed by a low one")
                unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
            out.append(chr(unit))


def parse_strict_json(data: bytes) -> Any:
    """Parse UTF-8 JSON with the tokenfed restrictions (CONV-010..CONV-015).

    Refused: a byte order mark, invalid UTF-8, anything outside RFC 8259, duplicate member
    names, numbers with a fraction or exponent, integers beyond +-(2^53 - 1), lone surrogate
    escapes, nesting deeper than 32.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise StrictJSONError("byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError(f"not UTF-8 ({exc.reason}) at byte {exc.start}") from None
    parser = _Parser(text)
    value = parser.value(1)
    parser.skip_whitespace()
    if parser.pos != len(text):
        raise parser.fail("data after the JSON value")
    return value


# --------------------------------------------------------------------------- base64url

_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _b64url_strict(segment: str, what: str) -> bytes:
    """Decode unpadded base64url in canonical form, or raise ``ValueError``."""
    if not _B64URL.fullmatch(segment):
        raise ValueError(f"{what} has characters outside the base64url alphabet")
    if len(segment) % 4 == 1:
        raise ValueError(f"{what} has an impossible length")
    try:
        data = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except binascii.Error as exc:
        raise ValueError(f"{what} is not base64url: {exc}") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii") != segment:
        raise ValueError(f"{what} is not canonical (unused bits set)")
    return data


# --------------------------------------------------------------------------- framework


@dataclass(frozen=True)
class Outcome:
    """What the checker concluded for one vector."""

    agrees: bool
    detail: str
    code_differs: bool = False


@dataclass
class Context:
    """Shared inputs: the spec folder and the published test keys (loaded on first use, from
    ``test-keys.json`` in the spec folder or in its ``vectors`` folder)."""

    spec: Path
    _keys: dict[str, dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def test_keys(self) -> dict[str, dict[str, Any]]:
        """The private JWKs of ``test-keys.json`` by name."""
        if self._keys is None:
            path = self.spec / "test-keys.json"
            if not path.exists():
                path = self.spec / "vectors" / "test-keys.json"
            self._keys = json.loads(path.read_text(encoding="utf-8"))["keys"]
        return self._keys


Checker = Callable[[dict[str, Any], Context], Outcome]
_CHECKERS: dict[str, Checker] = {}


def checker(kind: str) -> Callable[[Checker], Checker]:
    """Register the function that checks one vector of ``kind``."""

    def register(function: Checker) -> Checker:
        _CHECKERS[kind] = function
        return function

    return register


def kinds() -> list[str]:
    """The kinds that have a checker."""
    return sorted(_CHECKERS)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate member names in a vector file")
    return result


def check_kind(kind: str, context: Context | None = None) -> list[tuple[str, Outcome]]:
    """Check every vector of ``spec/vectors/<kind>.json``; one ``(id, Outcome)`` per vector."""
    context = context or Context(spec_dir())
    function = _CHECKERS.get(kind)
    if function is None:
        raise KeyError(f"no checker for vector kind {kind!r}; known: {', '.join(kinds())}")
    path = context.spec / "vectors" / f"{kind}.json"
    data = json.loads(path.read_text(encoding="utf-8"), object_pairs_hook=_no_duplicates)
    results: list[tuple[str, Outcome]] = []
    for vector in data["vectors"]:
        try:
            outcome = function(vector, context)
        except Exception as exc:  # a crash of the checker is a disagreement, not an abort
            outcome = Outcome(False, f"checker crashed: {type(exc).__name__}: {exc}")
        results.append((vector["id"], outcome))
    return results


# --------------------------------------------------------------------------- kind: jws


class _Rejected(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


_ALG_OF_KEY = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}


def _trusted_key(jwk: dict[str, Any]) -> tuple[OKPKey | ECKey, str]:
    public: dict[str, str | list[str]] = {
        name: jwk[name] for name in ("kty", "crv", "x", "y") if name in jwk
    }
    alg = _ALG_OF_KEY[(jwk["kty"], jwk["crv"])]
    key: OKPKey | ECKey
    key = OKPKey.import_key(public) if public["kty"] == "OKP" else ECKey.import_key(public)
    return key, alg


def _normal_typ(value: str) -> str:
    value = value.lower()
    return value.removeprefix("application/")


def _joserfc_verify(token: str, key: OKPKey | ECKey, alg: str) -> jws.CompactSignature:
    registry = jws.JWSRegistry(algorithms=[alg], strict_check_header=False)
    registry.max_header_length = MAX_TOKEN_BYTES
    registry.max_payload_length = MAX_TOKEN_BYTES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return jws.deserialize_compact(token, key, algorithms=[alg], registry=registry)


def _verify_jws(token: str, typ: str, jwk: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """Verify like a tokenfed receiver (CONV-060 order); raise ``_Rejected`` with a code."""
    if not token.isascii():
        raise _Rejected("malformed", "the token is not ASCII")
    if len(token) > MAX_TOKEN_BYTES:
        raise _Rejected("malformed", f"{len(token)} bytes, over the {MAX_TOKEN_BYTES} limit")
    segments = token.split(".")
    if len(segments) != 3:
        raise _Rejected("malformed", f"{len(segments)} segments instead of 3")
    try:
        header_bytes, payload_bytes, _ = (
            _b64url_strict(segment, what)
            for segment, what in zip(segments, ("header", "payload", "signature"), strict=True)
        )
        header = parse_strict_json(header_bytes)
        claims = parse_strict_json(payload_bytes)
    except ValueError as exc:
        raise _Rejected("malformed", str(exc)) from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise _Rejected("malformed", "header or payload is not a JSON object")
    found_typ = header.get("typ")
    if not isinstance(found_typ, str) or _normal_typ(found_typ) != _normal_typ(typ):
        raise _Rejected("unsupported_typ", f"typ {found_typ!r} is not {typ!r}")
    alg = header.get("alg")
    if alg not in ("EdDSA", "ES256"):
        raise _Rejected("unsupported_alg", f"alg {alg!r} is not in the registry")
    if "crit" in header:
        raise _Rejected("unsupported_crit", f"crit {header['crit']!r} is present")
    key, key_alg = _trusted_key(jwk)
    if header.get("kid") != key.thumbprint():
        raise _Rejected("unknown_key", f"kid {header.get('kid')!r} is not the trusted key")
    if alg != key_alg:
        raise _Rejected("unsupported_alg", f"alg {alg} but the trusted key is for {key_alg}")
    try:
        verified = _joserfc_verify(token, key, key_alg)
    except BadSignatureError:
        raise _Rejected("invalid_signature", "joserfc: the signature does not verify") from None
    except JoseError as exc:
        raise _Rejected("?", f"joserfc refused it: {type(exc).__name__}: {exc}") from None
    if verified.payload != payload_bytes or verified.protected != header:
        raise _Rejected("?", "joserfc read another header or payload than this checker")
    return header, claims


def _joserfc_alone(token: str, jwk: dict[str, Any]) -> str:
    """What joserfc alone says (the key's algorithm allowed, nothing else checked)."""
    key, alg = _trusted_key(jwk)
    try:
        _joserfc_verify(token, key, alg)
    except (JoseError, ValueError) as exc:
        return f"rejects ({type(exc).__name__})"
    return "accepts"


@checker("jws")
def check_jws(vector: dict[str, Any], context: Context) -> Outcome:
    """A ``jws`` vector: ``{token, typ, key}`` -> ``{header, claims}`` or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    jwk = context.test_keys[given["key"]]
    alone = _joserfc_alone(given["token"], jwk)
    try:
        header, claims = _verify_jws(given["token"], given["typ"], jwk)
    except _Rejected as rejected:
        if "error" not in expected:
            return Outcome(False, f"rejected a valid vector: {rejected.code}: {rejected.reason}")
        differs = rejected.code != expected["error"]
        note = f" (expected code {expected['error']})" if differs else ""
        return Outcome(
            True,
            f"rejected {rejected.code}{note}: {rejected.reason}; joserfc alone {alone}",
            code_differs=differs,
        )
    if "error" in expected:
        return Outcome(False, f"ACCEPTED a vector that expects {expected['error']}")
    if header != expected["header"] or claims != expected["claims"]:
        return Outcome(False, "accepted, but header or claims differ from the expected ones")
    return Outcome(True, "accepted with the expected header and claims (joserfc verified)")


# --------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    """Check the given kinds (all by default); print one line per vector and a summary."""
    requested = list(sys.argv[1:] if argv is None else argv)
    context = Context(spec_dir())
    selected = requested or [
        kind for kind in kinds() if (context.spec / "vectors" / f"{kind}.json").exists()
    ]
    unknown = [kind for kind in selected if kind not in _CHECKERS]
    if unknown:
        print(f"no checker for: {', '.join(unknown)} (known: {', '.join(kinds())})")
        return 1
    counts: dict[str, int] = {}
    disagree = differs = 0
    for kind in selected:
        results = check_kind(kind, context)
        counts[kind] = len(results)
        for vector_id, outcome in results:
            verdict = "ok  " if outcome.agrees else "FAIL"
            print(f"{verdict} {kind} {vector_id}: {outcome.detail}")
            disagree += not outcome.agrees
            differs += outcome.code_differs
    total = sum(counts.values())
    per_kind = ", ".join(f"{kind}: {count}" for kind, count in counts.items())
    print(
        f"checked {total} vectors ({per_kind}): {total - disagree} agree, {disagree} disagree, "
        f"{differs} rejected with another code"
    )
    return 1 if disagree else 0


if __name__ == "__main__":
    sys.exit(main())
