"""The independent checker (interop/check_vectors.py) agrees with every vector.

The checker shares no code with the SDK: joserfc verifies the signatures, its own strict JSON
parser reads headers and payloads, jsonschema applies the schemas of spec/schemas/, and it
implements receipt verification (REC-040, REC-062), Merkle inclusion proofs (REC-060), pricing
(UNIT-040..UNIT-049, service tiers UNIT-051), conversion (FX-020..FX-025) and the vendor
adapter tables and stream rules (UNIT-010..UNIT-019, UNIT-080..UNIT-095, UNIT-100..UNIT-104) from
the specification text. Requirements:
CONV-040..CONV-049 and CONV-010..CONV-015 as read by a second implementation; CONV-047 (the
checker, like the SDK, never uses a key named by the header); REC-031, REC-033, REC-034,
REC-042, REC-043, REC-062, UNIT-044, UNIT-048, FX-025 as exercised by the vector files.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tokenfed_conformance.vectors import load_vectors, spec_dir

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "interop" / "check_vectors.py"
SUMMARY = re.compile(
    r"^checked (?P<total>\d+) vectors \((?P<kinds>[^)]*)\): (?P<agree>\d+) agree, "
    r"(?P<disagree>\d+) disagree, (?P<differs>\d+) rejected with another code$",
    re.MULTILINE,
)
CHECKED_KINDS = {
    "jws",
    "receipts",
    "pricing",
    "conversion",
    "documents",
    "files",
    "adapters",
    "federation",
    "policy",
    "history",
    "entitlements",
}


def _run(*args: str, env_spec: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = None if env_spec is None else {**os.environ, "TOKENFED_SPEC_DIR": str(env_spec)}
    return subprocess.run(
        [sys.executable, str(CHECKER), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
        env=env,
    )


def _failed(stdout: str) -> set[tuple[str, str]]:
    """(kind, vector id) of every FAIL line."""
    return {
        (line.split()[1], line.split()[2].rstrip(":"))
        for line in stdout.splitlines()
        if line.startswith("FAIL")
    }


def _spec_copy(tmp_path: Path) -> Path:
    """A copy of the spec's vectors, schemas and test keys, to break on purpose."""
    copy = tmp_path / "spec"
    shutil.copytree(spec_dir() / "vectors", copy / "vectors")
    shutil.copytree(spec_dir() / "schemas", copy / "schemas")
    if (spec_dir() / "test-keys.json").exists():
        shutil.copy(spec_dir() / "test-keys.json", copy / "test-keys.json")
    return copy


def _edit(spec: Path, kind: str) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    data = json.loads((spec / "vectors" / f"{kind}.json").read_text(encoding="utf-8"))
    return data, {vector["id"]: vector for vector in data["vectors"]}


def _save(spec: Path, kind: str, data: dict[str, Any]) -> None:
    (spec / "vectors" / f"{kind}.json").write_text(json.dumps(data), encoding="utf-8")


def test_checker_agrees_with_every_vector() -> None:
    """CONV-040..CONV-049, REC-040, REC-062, UNIT-040, FX-020: exit 0; the jws, receipts,
    pricing and conversion kinds are all checked, each with as many vectors as its file holds,
    one line per vector, and every rejection carries exactly the expected code."""
    result = _run()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout[-2000:]
    per_kind = {
        kind: int(count)
        for kind, count in (part.split(": ") for part in match.group("kinds").split(", "))
    }
    assert set(per_kind) >= CHECKED_KINDS
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok ", "FAIL"))]
    for kind, count in per_kind.items():
        assert count == len(load_vectors(kind).vectors) > 0, kind
        assert sum(line.split()[1] == kind for line in lines) == count, kind
    total = int(match.group("total"))
    assert total == sum(per_kind.values()) == len(lines)
    assert int(match.group("agree")) == total
    assert match.group("disagree") == "0"
    assert match.group("differs") == "0"
    assert not [line for line in lines if line.startswith("FAIL")]


def test_checker_does_not_import_the_sdk() -> None:
    """Independence: loading the checker and checking every kind imports neither tokenfed nor
    tokenfed_conformance."""
    code = (
        "import runpy, sys\n"
        f"module = runpy.run_path({str(CHECKER)!r}, run_name='interop_check')\n"
        f"for kind in {sorted(CHECKED_KINDS)!r}:\n"
        "    results = module['check_kind'](kind)\n"
        "    assert results and all(outcome.agrees for _, outcome in results), kind\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0].startswith('tokenfed'))\n"
        "assert not loaded, loaded\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_checker_fails_on_a_wrong_vector(tmp_path: Path) -> None:
    """The checker can fail: a copy of the vectors where alg-none (CONV-042) claims to be
    valid, and valid-eddsa claims an error, gives exit 1 and FAIL lines for both."""
    spec = _spec_copy(tmp_path)
    data, by_id = _edit(spec, "jws")
    valid = by_id["valid-eddsa"]
    by_id["alg-none"]["expected"] = dict(valid["expected"])
    valid["expected"] = {"error": "invalid_signature"}
    _save(spec, "jws", data)
    result = _run("jws", env_spec=spec)
    assert result.returncode == 1
    assert _failed(result.stdout) == {("jws", "alg-none"), ("jws", "valid-eddsa")}


def test_checker_fails_on_wrong_receipt_vectors(tmp_path: Path) -> None:
    """The receipts checker can fail, one way per vector: a resubmission not flagged as a
    duplicate (REC-042), a replay that claims another code (a different code is a
    disagreement), a seq-2 receipt whose prior receipt is dropped (REC-043), a batched receipt
    with one bit of its audit path changed (REC-062), and a trust store with a kid that is not
    its key's thumbprint (REC-034) given to a valid vector."""
    spec = _spec_copy(tmp_path)
    data, by_id = _edit(spec, "receipts")
    del by_id["valid-identical-resubmission"]["expected"]["duplicate"]
    by_id["replay-same-jti-other-content"]["expected"] = {"error": "chain_break"}
    by_id["valid-eddsa-seq2"]["input"]["prior"] = []
    path = by_id["valid-batched-last"]["input"]["receipt"]["audit_path"]
    path[0] = path[0][:-1] + ("1" if path[0][-1] == "0" else "0")
    by_id["valid-es256"]["input"]["trust"] = "bad-kid"
    _save(spec, "receipts", data)
    result = _run("receipts", env_spec=spec)
    assert result.returncode == 1
    assert _failed(result.stdout) == {
        ("receipts", "replay-same-jti-other-content"),
        ("receipts", "valid-eddsa-seq2"),
        ("receipts", "valid-batched-last"),
        ("receipts", "valid-identical-resubmission"),
        ("receipts", "valid-es256"),
    }
    match = SUMMARY.search(result.stdout)
    assert match
    assert match.group("disagree") == "5"
    assert match.group("differs") == "1"


def test_checker_fails_on_wrong_amounts(tmp_path: Path) -> None:
    """Pricing (UNIT-048 half-even, UNIT-044 tiers) and conversion (FX-025, symmetric about
    zero) results are compared exactly: one micro-UTU, a tier or a negative tie rounded the
    wrong way is a FAIL."""
    spec = _spec_copy(tmp_path)
    pricing, prices = _edit(spec, "pricing")
    prices["tie-half-odd-up"]["expected"]["amount"] = "0.000001"
    prices["tier-at-boundary"]["expected"]["tier"] = prices["tier-at-boundary"]["input"][
        "rate_card"
    ]["models"]["pa-large"]["tiers"][0]["above_input"]
    _save(spec, "pricing", pricing)
    conversion, conversions = _edit(spec, "conversion")
    conversions["tie-negative-odd"]["expected"]["amount"] = "-0.13"
    _save(spec, "conversion", conversion)
    result = _run("pricing", "conversion", env_spec=spec)
    assert result.returncode == 1
    assert _failed(result.stdout) == {
        ("pricing", "tie-half-odd-up"),
        ("pricing", "tier-at-boundary"),
        ("conversion", "tie-negative-odd"),
    }


def test_checker_fails_on_wrong_federation_vectors(tmp_path: Path) -> None:
    """The federation checker can fail: a chain whose anchor is not pinned claims to be valid,
    an expired statement claims another code, a valid chain claims the wrong path, and a
    select vector claims the other candidate."""
    spec = _spec_copy(tmp_path)
    data, by_id = _edit(spec, "federation")
    valid = by_id["valid-leaf-intermediate-anchor"]
    by_id["recognition-used-backwards"]["expected"] = dict(
        by_id["valid-leaf-under-anchor"]["expected"]
    )
    by_id["expired-leaf-ec"]["expected"] = {"error": "statement_not_yet_valid"}
    valid["expected"]["path"] = list(reversed(valid["expected"]["path"]))
    by_id["select-issuer-order"]["expected"]["chosen"] = 0
    _save(spec, "federation", data)
    result = _run("federation", env_spec=spec)
    assert result.returncode == 1
    assert _failed(result.stdout) == {
        ("federation", "recognition-used-backwards"),
        ("federation", "expired-leaf-ec"),
        ("federation", "valid-leaf-intermediate-anchor"),
        ("federation", "select-issuer-order"),
    }
    match = SUMMARY.search(result.stdout)
    assert match
    assert match.group("differs") == "1"


def test_checker_unknown_kind() -> None:
    """Asking for a kind without a checker is an error (exit 1), not a silent pass."""
    result = _run("no-such-kind")
    assert result.returncode == 1
    assert "no checker" in result.stdout
