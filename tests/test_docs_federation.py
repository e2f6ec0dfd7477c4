"""The code on the page "Metadata policy and archived chains" runs as written.

Every ```python block of docs/federation-policy-history.md is executed, in order, in one
namespace; the asserts inside the blocks check what the page says (FED-105, FED-112, FED-150,
FED-151, FED-157).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_docs_examples import code_blocks

PAGE = Path(__file__).resolve().parent.parent / "docs" / "federation-policy-history.md"


def test_federation_page_python_blocks_run() -> None:
    """Each Python snippet of the page runs against the real SDK, in page order."""
    blocks = code_blocks(PAGE.read_text(encoding="utf-8"))
    python = [block for block in blocks if block.language == "python"]
    assert len(python) == 4
    namespace: dict[str, Any] = {"__name__": "docs_federation"}
    for block in python:
        code = compile(block.source, f"{PAGE.name}:{block.line}", "exec")
        exec(code, namespace)
