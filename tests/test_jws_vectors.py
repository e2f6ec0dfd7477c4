"""The ``jws`` vectors (spec/vectors/jws.json) through the reference SDK's JWS layer.

Each vector is verified with ``tokenfed.jws.verify`` against the public half of the named test
key, or against the public JWK of the file's ``fixtures.keys`` of that name (keys that
CONV-070 refuses when they are loaded), and must give exactly the expected error code or
exactly the expected header and claims. Requirements: CONV-040..CONV-049 (signed documents),
CONV-070..CONV-073 (exact key and signature rules), CONV-010..CONV-015 (strict JSON of header
and payload), CONV-060 (processing order decides the code). The vector file itself must be
reproduced byte for byte by spec/tools/make_jws_vectors.py.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tokenfed import jws
from tokenfed.errors import TokenfedError
from tokenfed.keys import load_private_jwk, load_public_jwk
from tokenfed_conformance.vectors import Vector, load_test_keys, load_vectors, spec_dir

# Every case runs on both Ed25519 backends, libsodium and OpenSSL (CONV-071, ADR 0010).
pytestmark = pytest.mark.usefixtures("ed25519_backend")

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "spec" / "tools" / "make_jws_vectors.py"
VECTORS = load_vectors("jws")
CODES = {
    "malformed",
    "unsupported_typ",
    "unsupported_alg",
    "unsupported_crit",
    "unknown_key",
    "invalid_signature",
    "invalid_key",
}


def _test_keys_path() -> Path:
    """The published test keys (spec/test-keys.json)."""
    return spec_dir() / "test-keys.json"


KEYS = load_test_keys()
FIXTURE_KEYS: dict[str, dict[str, Any]] = VECTORS.extra["fixtures"]["keys"]


def _outcome(token: str | bytes, vector: Vector) -> dict[str, Any]:
    name = vector.input["key"]
    try:
        key = load_public_jwk(KEYS[name] if name in KEYS else FIXTURE_KEYS[name])
        decoded = jws.verify(token, vector.input["typ"], key)
    except TokenfedError as exc:
        return {"error": exc.code, "message": exc.message}
    return {"header": decoded.header, "claims": decoded.claims}


@pytest.mark.parametrize("vector", VECTORS.vectors, ids=[v.id for v in VECTORS.vectors])
def test_jws_vector(vector: Vector) -> None:
    """CONV-040..CONV-049, CONV-060: the SDK gives the vector's exact error code, or exactly
    its header and claims; a str and the same ASCII bytes give the same outcome."""
    outcome = _outcome(vector.input["token"], vector)
    if vector.error is not None:
        assert outcome.get("error") == vector.error, (
            f"{vector.id}: expected {vector.error}, got {outcome}"
        )
        assert re.search(r"CONV-0[0-9]{2}", outcome["message"]), (
            f"{vector.id}: the message should name the requirement: {outcome['message']!r}"
        )
    else:
        assert outcome == vector.expected, f"{vector.id}: {outcome}"
    token: str = vector.input["token"]
    if token.isascii():
        as_bytes = _outcome(token.encode("ascii"), vector)
        assert as_bytes.get("error") == outcome.get("error")
        assert as_bytes.get("claims") == outcome.get("claims")


def test_vector_file_shape() -> None:
    """The file matches spec/schemas/vectors.schema.json; every vector cites CONV IDs and
    names a published key; every code of the JWS layer and both algorithms are covered."""
    path = spec_dir() / "vectors" / "jws.json"
    schema = json.loads(
        (spec_dir() / "schemas" / "vectors.schema.json").read_text(encoding="utf-8")
    )
    jsonschema.Draft202012Validator(schema).validate(json.loads(path.read_text("utf-8")))
    assert VECTORS.kind == "jws"
    assert VECTORS.spec_version == "1.0"
    for vector in VECTORS:
        assert vector.requirements, vector.id
        assert all(rid.startswith("CONV-") for rid in vector.requirements), vector.id
        assert vector.input["key"] in KEYS or vector.input["key"] in FIXTURE_KEYS, vector.id
        assert set(vector.input) == {"token", "typ", "key"}, vector.id
        assert set(vector.expected) in ({"error"}, {"header", "claims"}), vector.id
    assert {v.error for v in VECTORS if v.error} == CODES
    valid_algs = {v.expected["header"]["alg"] for v in VECTORS if v.error is None}
    assert valid_algs == {"EdDSA", "ES256"}
    assert not set(FIXTURE_KEYS) & set(KEYS), "a fixture key must not shadow a published key"


def test_sdk_signer_reproduces_valid_vector() -> None:
    """CONV-046: tokenfed.jws.sign puts JCS bytes of header and claims in the token, so signing
    the claims of valid-eddsa with provider-a's key gives exactly the vector's token."""
    vector = VECTORS.by_id("valid-eddsa")
    signer = load_private_jwk(KEYS["provider-a"])
    token = jws.sign(vector.expected["claims"], signer, vector.input["typ"])
    assert token == vector.input["token"]


def test_generator_reproduces_the_file() -> None:
    """The vector file is exactly what spec/tools/make_jws_vectors.py produces (--check)."""
    result = subprocess.run(
        [sys.executable, str(TOOL), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_generator_check_detects_a_changed_file(tmp_path: Path) -> None:
    """--check fails when the file differs from a fresh build (one byte changed)."""
    tools = tmp_path / "spec" / "tools"
    vectors = tmp_path / "spec" / "vectors"
    tools.mkdir(parents=True)
    vectors.mkdir(parents=True)
    shutil.copy(TOOL, tools / TOOL.name)
    shutil.copy(_test_keys_path(), tmp_path / "spec" / "test-keys.json")
    original = (spec_dir() / "vectors" / "jws.json").read_text(encoding="utf-8")
    (vectors / "jws.json").write_text(original.replace("0.0015", "0.0016", 1), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(tools / TOOL.name), "--check"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1
    assert "rerun" in result.stderr


def test_expected_typ_is_normalised_too() -> None:
    """CONV-043: the comparison is case-insensitive and ignores application/ on both sides."""
    from tokenfed import jws
    from tokenfed.keys import generate_key

    key = generate_key()
    token = jws.sign({"a": 1}, key, "tokenfed-rate-card+jwt")
    for expected in ("application/tokenfed-rate-card+jwt", "TOKENFED-RATE-CARD+JWT"):
        assert jws.verify(token, expected, key.public_key()).claims == {"a": 1}


@pytest.mark.parametrize("alg", ["EdDSA", "ES256"])
def test_the_signer_never_makes_a_token_no_receiver_takes(alg: str) -> None:
    """CONV-040: the longest token within 65536 bytes is signed and verifies; one claims byte
    more is refused by the signer (malformed), never written for a receiver to reject."""
    from tokenfed import _jws
    from tokenfed.errors import MalformedError
    from tokenfed.keys import generate_key

    key = generate_key(alg)
    header = len(_jws.sign({"a": ""}, key, "x").split(".")[0])

    def length(size: int) -> int:  # of the token of claims {"a": "b" * size}
        payload = size + len('{"a":""}')
        return header + 1 + (4 * payload + 2) // 3 + 87

    size = max(n for n in range(48000, 49500) if length(n) <= 65536)
    token = _jws.sign({"a": "b" * size}, key, "x")
    assert len(token) == length(size) > 65530 and length(size + 1) > 65536
    assert _jws.verify(token, "x", key.public_key()).claims["a"] == "b" * size
    with pytest.raises(MalformedError, match="CONV-040"):
        _jws.sign({"a": "b" * (size + 1)}, key, "x")
