"""The page "Pricing usage from your provider" (docs/pricing-usage.md) runs as written.

Every ```python block is executed in page order in one namespace. The blocks price one report
per provider and assert that tokenfed's exact line sum equals the provider's published price
arithmetic, and that the rounded amount equals that bill rounded to 10^-6 (UNIT-047, UNIT-048,
UNIT-051 with the adapters of UNIT-013..UNIT-016, UNIT-084..UNIT-094, UNIT-100). The comparison
table of the page must show the amounts the blocks compute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parent.parent / "docs" / "pricing-usage.md"
BLOCK = re.compile(r"^```python\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
ROW = re.compile(
    r"^\| (?P<provider>[^|]+) \| (?P<model>[^|]+) \| [^|]+ \| (?P<amount>[0-9.]+) \|", re.M
)


def _blocks() -> list[tuple[int, str]]:
    text = PAGE.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, m.start("body")) + 1, m.group("body")) for m in BLOCK.finditer(text)
    ]


def _run_page() -> dict[str, object]:
    namespace: dict[str, object] = {"__name__": "pricing_usage"}
    for line, source in _blocks():
        try:
            exec(compile(source, f"{PAGE.name}:{line}", "exec"), namespace)
        except Exception as exc:
            pytest.fail(f"docs/{PAGE.name}, block at line {line} failed: {exc!r}")
    return namespace


def test_pricing_usage_page_runs() -> None:
    """Each provider's worked example adapts, prices and agrees with the provider's bill, and
    the comparison table shows exactly the amounts the examples compute, row by row."""
    assert len(_blocks()) >= 9, "the page lost its worked examples"
    namespace = _run_page()
    table = [m.group("amount") for m in ROW.finditer(PAGE.read_text(encoding="utf-8"))]
    assert table == namespace["compared"]
    assert len(table) == 11
