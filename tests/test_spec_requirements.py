"""Consistency of the specification's requirements with the tests and vectors that check them.

House rule: every normative statement (MUST, MUST NOT, SHALL, SHALL NOT, REQUIRED) sits in a
block that carries a requirement ID; every ID is defined once, at the start of its block; every
defined ID is checked by a test or a vector; nothing cites an ID that does not exist; every
chapter opens with its header table.
"""

from __future__ import annotations

import datetime
import importlib.util
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tokenfed import SPEC_VERSION

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec"
THIS_FILE = Path(__file__).resolve()
CHAPTERS = sorted(SPEC.glob("*.md"))
EXPECTED_CHAPTERS = {
    "index.md",
    "conventions.md",
    "units.md",
    "exchange.md",
    "receipts.md",
    "settlement.md",
    "http-api.md",
    "errors.md",
    "CHANGELOG.md",
}
HEADER_KEYS = ("Specification", "Chapter", "Status", "Date", "Requirement prefix")
STATUSES = {"Draft", "Candidate", "Final"}

ID = r"[A-Z][A-Z0-9]*-[0-9]{3}"
ANY_ID = re.compile(rf"\b{ID}\b")
# A requirement is defined where a block opens with its bold ID, optionally after the bold name
# of a procedure step, or in the first cell of a table row. Mirrors docs/_hooks/spec.py.
DEFINITION = re.compile(
    r"^[ \t]*(?:(?:[-*+]|[0-9]+[.)])[ \t]+)?(?:\|[ \t]*)?"
    r"(?:\*\*[^*\n]+\*\*[ \t]*[:.\u2014\u2013-]?[ \t]*)?"
    rf"\*\*(?P<id>{ID})\*\*"
)
ALMOST_ID = re.compile(r"^[ \t]*(?:(?:[-*+]|[0-9]+[.)])[ \t]+)?\*\*(?P<id>[A-Za-z]+-[0-9]+)\*\*")
KEYWORD = re.compile(r"\b(?:MUST|SHALL|REQUIRED)\b")
QUOTED_KEYWORD = re.compile(r"[\"\u201c](?:MUST|SHALL|REQUIRED)(?: NOT)?[\"\u201d]")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
RANGE = re.compile(rf"\b(?P<first>{ID})\.\.(?:(?P<prefix>[A-Z][A-Z0-9]*)-)?(?P<last>[0-9]{{3}})\b")
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
LIST_ITEM = re.compile(r"^(?P<indent>[ \t]*)(?P<marker>[-*+]|[0-9]+[.)])(?P<gap>[ \t]+)\S")
TABLE_ROW = re.compile(r"^[ \t]*\|")
TABLE_RULE = re.compile(r"^[ \t]*\|?[ \t]*:?-{3,}:?[ \t]*(?:\|[ \t]*:?-{3,}:?[ \t]*)*\|?[ \t]*$")
HEADING = re.compile(r"^#{1,6}[ \t]")


# --------------------------------------------------------------------------- block parsing


@dataclass
class Block:
    """One Markdown block: a paragraph, a list item (with its continuation), a heading or a
    table row. List items know their enclosing item."""

    chapter: str
    line: int
    kind: str
    lines: list[str] = field(default_factory=list)
    indent: int = 0
    content_indent: int = 0
    parent: Block | None = None

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    @property
    def defined(self) -> str | None:
        match = DEFINITION.match(self.lines[0])
        return match.group("id") if match else None

    def ancestors(self) -> Iterator[Block]:
        node = self.parent
        while node is not None:
            yield node
            node = node.parent

    def where(self) -> str:
        return f"spec/{self.chapter}:{self.line}"


def _indent(line: str) -> int:
    return len(line.expandtabs(4)) - len(line.expandtabs(4).lstrip())


def parse_blocks(text: str, chapter: str = "test.md") -> list[Block]:
    """Split Markdown into blocks, skipping fenced code.

    A paragraph after a blank line that is indented into a list item belongs to that item; a
    list item indented into another one is nested in it; a line right after a text line
    continues it (lazy continuation).
    """
    blocks: list[Block] = []
    current: Block | None = None
    items: list[Block] = []  # the open list items, outermost first
    blank_before = False
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        fence_match = FENCE.match(line)
        if fence is not None:
            closing = fence_match.group("fence") if fence_match else ""
            if closing[:1] == fence[:1] and len(closing) >= len(fence):
                fence = None
            continue
        if fence_match:
            fence = fence_match.group("fence")
            continue
        if not line.strip():
            blank_before = True
            continue
        indent = _indent(line)
        item_match = LIST_ITEM.match(line)
        heading = HEADING.match(line)
        row = TABLE_ROW.match(line)
        if blank_before or item_match or heading or row:
            while items and indent < items[-1].content_indent:
                items.pop()
        parent = items[-1] if items else None
        if heading:
            items.clear()
            blocks.append(Block(chapter, number, "heading", [line.strip()]))
            current = None
        elif row:
            if not TABLE_RULE.match(line):
                blocks.append(Block(chapter, number, "row", [line.strip()], parent=parent))
            current = None
        elif item_match:
            marker = (
                item_match.group("indent") + item_match.group("marker") + item_match.group("gap")
            )
            current = Block(
                chapter,
                number,
                "item",
                [line.strip()],
                indent=indent,
                content_indent=len(marker.expandtabs(4)),
                parent=parent,
            )
            blocks.append(current)
            items.append(current)
        elif current is not None and not blank_before:
            current.lines.append(line.strip())
        elif parent is not None:
            parent.lines.append(line.strip())
            current = parent
        else:
            current = Block(chapter, number, "paragraph", [line.strip()])
            blocks.append(current)
        blank_before = False
    return blocks


def normative_text(text: str) -> str:
    """The text with code spans and quoted keywords (as in the BCP 14 boilerplate) removed."""
    return QUOTED_KEYWORD.sub(" ", CODE_SPAN.sub(" ", text))


def is_normative(block: Block) -> bool:
    """Whether the block holds an uppercase RFC 2119 requirement keyword."""
    return bool(KEYWORD.search(normative_text(block.text)))


def cited_ids(text: str, *, ranges: bool = True) -> set[str]:
    """IDs named in text. With ``ranges``, ``X-010..X-015`` and ``X-010..015`` also name every
    ID in between (a citation); without, only the IDs written out (to find dangling ones)."""
    found = set(ANY_ID.findall(text))
    if not ranges:
        return found
    for match in RANGE.finditer(text):
        prefix, first = match.group("first").rsplit("-", 1)
        if match.group("prefix") not in (None, prefix):
            continue
        start, stop = int(first), int(match.group("last"))
        if start < stop <= start + 100:
            found |= {f"{prefix}-{n:03d}" for n in range(start, stop + 1)}
    return found


# --------------------------------------------------------------------------- the spec


@dataclass
class Chapter:
    """A parsed spec chapter."""

    name: str
    text: str
    blocks: list[Block]
    header: dict[str, str]


def header_table(text: str) -> dict[str, str]:
    """The key/value rows of the table that follows the chapter's H1 title."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return {}
    rows: dict[str, str] = {}
    for line in lines[1:]:
        if not TABLE_ROW.match(line):
            break
        if TABLE_RULE.match(line):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0]:
            rows[cells[0]] = cells[1].strip("`").strip()
    return rows


def load_chapters() -> list[Chapter]:
    chapters = []
    for path in CHAPTERS:
        text = path.read_text(encoding="utf-8")
        chapters.append(Chapter(path.name, text, parse_blocks(text, path.name), header_table(text)))
    return chapters


def definitions(chapters: list[Chapter]) -> list[tuple[str, Block]]:
    return [
        (block.defined, block)
        for ch in chapters
        for block in ch.blocks
        if block.defined is not None
    ]


def declared_prefixes(chapters: list[Chapter]) -> dict[str, set[str]]:
    """Each chapter's requirement prefixes, from its header table (``none`` = no prefix)."""
    return {
        ch.name: set(re.findall(r"\b[A-Z][A-Z0-9]+\b", ch.header.get("Requirement prefix", "")))
        - {"NONE", "NA"}
        for ch in chapters
    }


def requirement_citations(value: Any) -> Iterator[str]:
    """Every string inside a ``requirements`` array anywhere in a JSON value."""
    if isinstance(value, dict):
        for key, member in value.items():
            if key == "requirements" and isinstance(member, list):
                yield from (rid for rid in member if isinstance(rid, str))
            else:
                yield from requirement_citations(member)
    elif isinstance(value, list):
        for member in value:
            yield from requirement_citations(member)


def python_sources(*folders: str) -> list[Path]:
    return sorted(
        path
        for folder in folders
        for path in (ROOT / folder).rglob("*.py")
        if path.resolve() != THIS_FILE
    )


def vector_citations() -> dict[str, set[str]]:
    """IDs cited by each vector file (``requirements`` arrays)."""
    cited: dict[str, set[str]] = {}
    for path in sorted((SPEC / "vectors").glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        cited[f"spec/vectors/{path.name}"] = set(requirement_citations(data))
    return cited


def code_citations(*folders: str, ranges: bool = True) -> dict[str, set[str]]:
    """IDs named anywhere (docstrings, names, comments, strings) in Python files."""
    cited: dict[str, set[str]] = {}
    for path in python_sources(*folders):
        ids = cited_ids(path.read_text(encoding="utf-8"), ranges=ranges)
        if ids:
            cited[str(path.relative_to(ROOT))] = ids
    return cited


@pytest.fixture(scope="module")
def chapters() -> list[Chapter]:
    return load_chapters()


@pytest.fixture(scope="module")
def defined(chapters: list[Chapter]) -> dict[str, str]:
    return {rid: block.where() for rid, block in definitions(chapters)}


@pytest.fixture(scope="module")
def prefixes(chapters: list[Chapter], defined: dict[str, str]) -> set[str]:
    declared = set().union(*declared_prefixes(chapters).values()) if chapters else set()
    return declared | {rid.split("-")[0] for rid in defined}


def load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tokenfed_docs_hook", ROOT / "docs/_hooks/spec.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --------------------------------------------------------------------------- the parser itself


SAMPLE = """\
# Sample

The key words "MUST", "MUST NOT" and "REQUIRED" are to be read as in BCP 14.

- **DEMO-001** A receiver MUST reject it.
- A sender MUST NOT send it.
- **DEMO-002** Continued over
  two lines, with a MUST on the second.

  And a second paragraph inside the item that MUST hold.
    1. **Parse.** A nested step that MUST run (inherits DEMO-002).
- **DEMO-003** Parent.
    - Nested item that MUST be covered by its parent.

1. **Step.** **DEMO-004** A step that defines an ID and says MUST.

A plain paragraph that MUST carry an ID
and continues lazily.

| **DEMO-005** | a row that MUST hold |
|---|---|
| a row that SHALL fail | x |

```text
MUST inside code is ignored
```

Text that says `MUST` in code and "SHALL NOT" in quotes is informative.
"""


def test_parser_finds_blocks_definitions_and_unidentified_requirements() -> None:
    """The block parser behind the ID rules: definitions at block start (also after a step name
    and in a table row), nested items covered by an identified parent, keywords in code or
    quotes ignored, and every unidentified MUST/SHALL found."""
    blocks = parse_blocks(SAMPLE)
    assert [b.defined for b in blocks if b.defined] == [
        "DEMO-001",
        "DEMO-002",
        "DEMO-003",
        "DEMO-004",
        "DEMO-005",
    ]
    offenders = [b for b in blocks if is_normative(b) and not _covered(b, {"DEMO"}, None)]
    assert [b.line for b in offenders] == [6, 17, 22]
    item = next(b for b in blocks if b.defined == "DEMO-002")
    assert "second paragraph" in item.text
    nested = next(b for b in blocks if b.text.startswith("1. **Parse.**"))
    assert nested.parent is item
    assert not any("inside code" in b.text for b in blocks)


def test_ranges_cite_every_id_between() -> None:
    """A citation "X-010..X-012" (or "X-010..012") names X-010, X-011 and X-012."""
    assert cited_ids("checks CONV-010..CONV-012 and UNIT-020..021") == {
        "CONV-010",
        "CONV-011",
        "CONV-012",
        "UNIT-020",
        "UNIT-021",
    }
    assert cited_ids("SHA-256 and P-256") == {"SHA-256", "P-256"}  # filtered by prefix later


def _covered(block: Block, prefixes: set[str], defined: dict[str, str] | None) -> bool:
    """A normative block is covered if it names a (defined) ID of a known prefix, or sits in a
    list item that opens with a defined ID."""
    named = {
        rid
        for rid in cited_ids(block.text)
        if rid.split("-")[0] in prefixes and (defined is None or rid in defined)
    }
    return bool(named) or any(a.defined is not None for a in block.ancestors())


# --------------------------------------------------------------------------- the rules


def test_every_chapter_is_present() -> None:
    """The chapters the specification consists of are all in spec/ (the overview links them)."""
    present = {path.name for path in CHAPTERS}
    assert present >= EXPECTED_CHAPTERS, f"missing chapters: {sorted(EXPECTED_CHAPTERS - present)}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_chapter_header_table(path: Path) -> None:
    """Every chapter opens with an H1 title and the header table: Specification, Chapter,
    Status, Date, Requirement prefix. SPEC-002: the version it names is the one the SDK states
    it implements (``tokenfed.SPEC_VERSION``)."""
    text = path.read_text(encoding="utf-8")
    header = header_table(text)
    assert header, f"{path.name}: no H1 title followed by the header table"
    missing = [key for key in HEADER_KEYS if not header.get(key)]
    assert not missing, f"{path.name}: header table lacks {missing}"
    assert header["Specification"] == f"tokenfed {SPEC_VERSION}", header["Specification"]
    assert header["Status"] in STATUSES, header["Status"]
    datetime.date.fromisoformat(header["Date"])


def test_chapters_agree_on_version_and_date(chapters: list[Chapter]) -> None:
    """All chapters belong to one edition: same Specification and Date."""
    editions = {(ch.header.get("Specification"), ch.header.get("Date")) for ch in chapters}
    assert len(editions) <= 1, f"chapters disagree: {sorted(map(str, editions))}"


def test_normative_blocks_carry_requirement_ids(
    chapters: list[Chapter], defined: dict[str, str], prefixes: set[str]
) -> None:
    """House rule 1: a paragraph, list item, step or table row with MUST, MUST NOT, SHALL,
    SHALL NOT or REQUIRED carries a requirement ID (or sits in an item that opens with one)."""
    offenders = [
        f"{block.where()}: {block.lines[0][:90]}"
        for ch in chapters
        for block in ch.blocks
        if is_normative(block) and not _covered(block, prefixes, defined)
    ]
    assert not offenders, "normative text without a requirement ID:\n" + "\n".join(offenders)


def test_requirement_ids_are_well_formed(chapters: list[Chapter]) -> None:
    """A bold ID opening a block is PREFIX-NNN with exactly three digits and an uppercase
    prefix; anything else would silently not count as a definition."""
    bad = [
        f"spec/{ch.name}: {match.group('id')}"
        for ch in chapters
        for block in ch.blocks
        if (match := ALMOST_ID.match(block.lines[0])) and not re.fullmatch(ID, match.group("id"))
    ]
    assert not bad, f"malformed requirement IDs: {bad}"


def test_defined_ids_are_unique(chapters: list[Chapter]) -> None:
    """Each requirement ID is defined exactly once in the whole specification."""
    found = definitions(chapters)
    counts = Counter(rid for rid, _ in found)
    duplicates = {
        rid: [block.where() for other, block in found if other == rid]
        for rid, n in counts.items()
        if n > 1
    }
    assert not duplicates, f"IDs defined more than once: {duplicates}"


def test_ids_use_their_chapter_prefix(chapters: list[Chapter]) -> None:
    """A chapter defines IDs only with the prefix its header table declares."""
    declared = declared_prefixes(chapters)
    wrong = [
        f"{block.where()}: {block.defined} (declared {sorted(declared[ch.name]) or 'none'})"
        for ch in chapters
        for block in ch.blocks
        if block.defined is not None and block.defined.split("-")[0] not in declared[ch.name]
    ]
    assert not wrong, "IDs outside their chapter's prefix:\n" + "\n".join(wrong)


def test_every_defined_id_is_cited(defined: dict[str, str]) -> None:
    """Every requirement is checked by something: an ID named in tests/**/*.py or
    conformance/**/*.py, or listed in a vector's ``requirements`` (spec/vectors/*.json)."""
    cited: set[str] = set()
    for ids in (*vector_citations().values(), *code_citations("tests", "conformance").values()):
        cited |= ids
    uncited = sorted(set(defined) - cited, key=_id_key)
    assert not uncited, (
        f"{len(uncited)} requirement IDs are cited by no test and no vector:\n"
        + "\n".join(f"  {rid}  ({defined[rid]})" for rid in uncited)
    )


def test_vectors_cite_only_defined_ids(defined: dict[str, str]) -> None:
    """No dangling citations in vectors: every ``requirements`` entry is a defined ID."""
    dangling = {
        name: sorted(ids - set(defined))
        for name, ids in vector_citations().items()
        if ids - set(defined)
    }
    assert not dangling, f"vectors cite undefined requirement IDs: {dangling}"


@pytest.mark.parametrize("folders", [("tests", "conformance"), ("sdk",)], ids=" ".join)
def test_code_cites_only_defined_ids(
    folders: tuple[str, ...], defined: dict[str, str], prefixes: set[str]
) -> None:
    """No dangling citations in tests, the conformance suite or the SDK's messages: an ID with
    a spec prefix named in Python code is defined by the spec."""
    dangling = {
        name: sorted(rid for rid in ids if rid.split("-")[0] in prefixes and rid not in defined)
        for name, ids in code_citations(*folders, ranges=False).items()
    }
    dangling = {name: ids for name, ids in dangling.items() if ids}
    assert not dangling, f"code names undefined requirement IDs: {dangling}"


def test_spec_cross_references_are_defined(
    chapters: list[Chapter], defined: dict[str, str], prefixes: set[str]
) -> None:
    """IDs the chapters refer to (e.g. "(CONV-043)", "REC-001..REC-006") exist."""
    dangling = sorted(
        {
            f"{block.where()}: {rid}"
            for ch in chapters
            for block in ch.blocks
            for rid in cited_ids(normative_text(block.text), ranges=False)
            if rid.split("-")[0] in prefixes and rid not in defined
        }
    )
    assert not dangling, "references to undefined requirement IDs:\n" + "\n".join(dangling)


def test_docs_hook_anchors_every_definition(chapters: list[Chapter]) -> None:
    """The site publishes each defined ID as an anchor (#ID): the docs hook finds exactly the
    definitions this test finds, and rewrites each into an element with that id."""
    hook = load_hook()
    for ch in chapters:
        ours = [block.defined for block in ch.blocks if block.defined]
        assert hook.defined_ids(ch.text) == ours, ch.name
        anchored = hook.anchor_requirements(ch.text)
        for rid in ours:
            assert f"{{#{rid} .tf-requirement}}" in anchored, f"{ch.name}: {rid} not anchored"


def _id_key(rid: str) -> tuple[str, int]:
    prefix, number = rid.rsplit("-", 1)
    return prefix, int(number)


def test_docs_hook_links_mentions_to_definitions() -> None:
    """Mentions of a defined requirement ID in page text link to its definition; IDs inside
    links, code and headings, and IDs nobody defines, stay as they are."""
    hook = load_hook()
    where = {"DEMO-001": "../demo/#DEMO-001"}
    html = (
        '<h2 id="x">DEMO-001 <a class="headerlink" href="#x">¶</a></h2>'
        "<p>see DEMO-001 and DEMO-002, <code>DEMO-001</code>, "
        '<a href="#DEMO-001">DEMO-001</a><br/>then DEMO-001.</p>'
    )
    linked = hook.link_references(html, where.get)
    assert linked == (
        '<h2 id="x">DEMO-001 <a class="headerlink" href="#x">¶</a></h2>'
        '<p>see <a href="../demo/#DEMO-001">DEMO-001</a> and DEMO-002, <code>DEMO-001</code>, '
        '<a href="#DEMO-001">DEMO-001</a><br/>then <a href="../demo/#DEMO-001">DEMO-001</a>.</p>'
    )
