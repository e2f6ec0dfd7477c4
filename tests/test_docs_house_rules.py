"""The house rules that tests cite are written down, under the numbers the tests use.

A test that enforces a rule of CONTRIBUTING.md says so ("House rule 6: ..."). Every such number
must be a rule of CONTRIBUTING.md, and that rule must name the citing test file, so a number
cannot silently come to mean something else. The rules are numbered 1, 2, 3, ... in order,
each under a heading with a stable anchor.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRIBUTING = ROOT / "CONTRIBUTING.md"
THIS_FILE = Path(__file__).resolve()
RULE_HEADING = re.compile(
    r"^### House rule (?P<number>[0-9]+): (?P<title>.+?) \{#(?P<anchor>[\w-]+)\}$", re.MULTILINE
)
CITATION = re.compile(r"\bHouse rule (?P<number>[0-9]+)\b")


def rules() -> dict[int, str]:
    """Rule number -> the rule's text (heading to the next heading)."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    headings = list(RULE_HEADING.finditer(text))
    found: dict[int, str] = {}
    for match, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else text.find("\n## ", match.end())
        found[int(match.group("number"))] = text[match.start() : end if end >= 0 else None]
    return found


def citations() -> list[tuple[str, int]]:
    """(test file relative to the repository, rule number) for each "House rule N" in tests/."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.resolve() == THIS_FILE:
            continue
        for match in CITATION.finditer(path.read_text(encoding="utf-8")):
            found.append((path.relative_to(ROOT).as_posix(), int(match.group("number"))))
    return found


def test_rules_are_numbered_in_order_with_anchors() -> None:
    """Rules 1..N, each once, in order, each heading anchored as house-rule-N."""
    text = CONTRIBUTING.read_text(encoding="utf-8")
    headings = list(RULE_HEADING.finditer(text))
    numbers = [int(match.group("number")) for match in headings]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert all(m.group("anchor") == f"house-rule-{m.group('number')}" for m in headings)


def test_tests_cite_rules_that_exist() -> None:
    """The citations this test checks are there (test_spec_requirements.py and
    test_public_api.py cite rules 1 and 6), and each cited rule is written down."""
    cited = citations()
    assert ("tests/test_spec_requirements.py", 1) in cited
    assert ("tests/test_public_api.py", 6) in cited
    written = rules()
    missing = sorted({(path, n) for path, n in cited if n not in written})
    assert not missing, f"tests cite house rules that CONTRIBUTING.md does not have: {missing}"


def test_each_cited_rule_names_the_test_that_cites_it() -> None:
    """Rule N of CONTRIBUTING.md names every test file that cites House rule N, so the number
    in the test and the rule in the document are about the same thing."""
    written = rules()
    unnamed = sorted(
        {(path, n) for path, n in citations() if n in written and f"`{path}`" not in written[n]}
    )
    assert not unnamed, f"rules that do not name the tests citing them: {unnamed}"
