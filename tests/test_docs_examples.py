"""The code on the Getting started page runs as written.

Every ```python block of docs/getting-started.md is executed, in order, in one namespace, in a
temporary directory; the asserts inside the blocks check the amounts the page shows. The
```json blocks must be documents the SDK's strict parser accepts, as the page tells readers to
write them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tokenfed import _json

PAGE = Path(__file__).resolve().parent.parent / "docs" / "getting-started.md"
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)(?P<fence>`{3,})(?P<info>[^\n`]*)\n"
    r"(?P<body>.*?)^(?P=indent)(?P=fence)[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class CodeBlock:
    """A fenced code block of the page: its language, first line number and source."""

    language: str
    line: int
    source: str


def code_blocks(text: str) -> list[CodeBlock]:
    """The fenced code blocks of a Markdown text, in order."""
    return [
        CodeBlock(
            language=(match.group("info").strip().split() or [""])[0],
            line=text.count("\n", 0, match.start("body")) + 1,
            source=match.group("body"),
        )
        for match in FENCE.finditer(text)
    ]


def test_code_block_extraction() -> None:
    """The extractor finds each block with its language and first line (so failures point at
    the right place)."""
    text = "intro\n\n```python\nx = 1\n```\n\n```console\n$ ls\n```\n"
    assert code_blocks(text) == [
        CodeBlock("python", 4, "x = 1\n"),
        CodeBlock("console", 8, "$ ls\n"),
    ]


def test_getting_started_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each Python snippet of Getting started runs against the real SDK, in page order, and its
    asserts about prices and conversions hold."""
    blocks = [
        block
        for block in code_blocks(PAGE.read_text(encoding="utf-8"))
        if block.language in ("python", "py")
    ]
    assert len(blocks) >= 5, "the page lost its Python walkthrough"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "getting_started"}
    for block in blocks:
        code = compile(block.source, f"{PAGE.name}:{block.line}", "exec")
        try:
            exec(code, namespace)
        except Exception as exc:
            pytest.fail(f"docs/{PAGE.name}, block at line {block.line} failed: {exc!r}")


def test_receipts_guide_python_blocks_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """REC-040, REC-042, REC-060: the receipts guide issues, verifies, rejects and batches
    receipts exactly as its asserts say."""
    page = PAGE.parent / "receipts.md"
    blocks = [b for b in code_blocks(page.read_text(encoding="utf-8")) if b.language == "python"]
    assert len(blocks) >= 4, "the receipts guide lost its Python walkthrough"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "receipts_guide"}
    for block in blocks:
        try:
            exec(compile(block.source, f"receipts.md:{block.line}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/receipts.md, block at line {block.line} failed: {exc!r}")


def test_getting_started_json_blocks_are_strict() -> None:
    """The JSON documents the page asks readers to write are strict I-JSON: decimals as
    strings, integers only, no duplicate members."""
    blocks = [
        block for block in code_blocks(PAGE.read_text(encoding="utf-8")) if block.language == "json"
    ]
    assert blocks, "the page shows no JSON document"
    for block in blocks:
        value = _json.loads(block.source)
        assert isinstance(value, dict), f"line {block.line}: not a JSON object"


def test_entitlements_guide_python_blocks_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENT-020, ENT-040, ENT-041, ENT-050, ENT-052: the entitlements guide issues, verifies,
    reserves, settles and issues a receipt under an entitlement exactly as its asserts say."""
    page = PAGE.parent / "entitlements.md"
    blocks = [b for b in code_blocks(page.read_text(encoding="utf-8")) if b.language == "python"]
    assert len(blocks) >= 4, "the entitlements guide lost its Python walkthrough"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "entitlements_guide"}
    for block in blocks:
        try:
            exec(compile(block.source, f"entitlements.md:{block.line}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/entitlements.md, block at line {block.line} failed: {exc!r}")
