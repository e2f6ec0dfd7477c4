"""The independent checker (interop/check_vectors.py) agrees with every vector.

The checker shares no code with the SDK: joserfc verifies the signatures and its own strict
JSON parser reads headers and payloads. Requirements: CONV-040..CONV-049 and CONV-010..CONV-015
as read by a second implementation; CONV-047 (the checker, like the SDK, never uses a key named
by the header).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tokenfed_conformance.vectors import load_vectors, spec_dir

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "interop" / "check_vectors.py"
SUMMARY = re.compile(
    r"^checked (?P<total>\d+) vectors \((?P<kinds>[^)]*)\): (?P<agree>\d+) agree, "
    r"(?P<disagree>\d+) disagree",
    re.MULTILINE,
)


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


def test_checker_agrees_with_every_vector() -> None:
    """CONV-040..CONV-049: exit 0, one line per vector, and as many vectors checked per kind
    as the vector files hold."""
    result = _run()
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr
    match = SUMMARY.search(result.stdout)
    assert match, result.stdout[-2000:]
    per_kind = dict(part.split(": ") for part in match.group("kinds").split(", "))
    assert "jws" in per_kind
    for kind, count in per_kind.items():
        assert int(count) == len(load_vectors(kind).vectors), kind
    total = int(match.group("total"))
    assert total == sum(int(count) for count in per_kind.values())
    assert int(match.group("agree")) == total
    assert match.group("disagree") == "0"
    lines = [line for line in result.stdout.splitlines() if line.startswith(("ok ", "FAIL"))]
    assert len(lines) == total
    assert not [line for line in lines if line.startswith("FAIL")]


def test_checker_does_not_import_the_sdk() -> None:
    """Independence: loading the checker and checking the jws vectors imports neither tokenfed
    nor tokenfed_conformance."""
    code = (
        "import runpy, sys\n"
        f"module = runpy.run_path({str(CHECKER)!r}, run_name='interop_check')\n"
        "results = module['check_kind']('jws')\n"
        "assert results and all(outcome.agrees for _, outcome in results)\n"
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
    vectors = tmp_path / "vectors"
    vectors.mkdir()
    for name in ("test-keys.json", "vectors/test-keys.json"):
        if (spec_dir() / name).exists():
            shutil.copy(spec_dir() / name, vectors / "test-keys.json")
    data = json.loads((spec_dir() / "vectors" / "jws.json").read_text(encoding="utf-8"))
    by_id = {vector["id"]: vector for vector in data["vectors"]}
    valid = by_id["valid-eddsa"]
    by_id["alg-none"]["expected"] = dict(valid["expected"])
    valid["expected"] = {"error": "invalid_signature"}
    (vectors / "jws.json").write_text(json.dumps(data), encoding="utf-8")
    result = _run("jws", env_spec=tmp_path)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failed = {line.split()[2].rstrip(":") for line in lines if line.startswith("FAIL")}
    assert failed == {"alg-none", "valid-eddsa"}


def test_checker_unknown_kind() -> None:
    """Asking for a kind without a checker is an error (exit 1), not a silent pass."""
    result = _run("no-such-kind")
    assert result.returncode == 1
    assert "no checker" in result.stdout
