"""The Node.js conformance adapter (examples/node-adapter) passes its own tests.

Those tests run every adapters (reports, whole responses and streams), pricing, conversion,
documents, jws and receipts vector through the adapter's code, and the protocol operations
through the command itself. They need Node.js 20
or later; without ``node`` on PATH this test is skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ADAPTER_DIR = Path(__file__).resolve().parent.parent / "examples" / "node-adapter"
NODE = shutil.which("node")


def _node_major(node: str) -> int:
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
    match = re.match(r"v(\d+)\.", version.stdout.strip())
    return int(match.group(1)) if match else 0


@pytest.mark.skipif(NODE is None, reason="node is not on PATH (the Node adapter needs Node.js 20)")
def test_node_adapter_tests_pass() -> None:
    """UNIT-019, UNIT-040, UNIT-051, UNIT-080, UNIT-100, FX-020, CONV-001, CONV-016, CONV-070,
    CONV-073, REC-034, REC-040, REC-049, REC-060, REC-062, REC-070, REC-071 in a second
    implementation."""
    assert NODE is not None
    if _node_major(NODE) < 20:
        pytest.skip("the Node adapter needs Node.js 20 or later")
    result = subprocess.run(
        [NODE, "--test", "test/"],
        cwd=ADAPTER_DIR,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout[-2000:]
