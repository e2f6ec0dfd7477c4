"""MkDocs hook that publishes the specification from its source folder, ``spec/``.

The chapters are written once, in ``spec/*.md``; nothing is copied into ``docs/``. At build time
this hook:

* publishes every ``spec/*.md`` chapter as the page ``spec/<name>.md`` (``spec/index.md`` is the
  section's front page), and every ``spec/schemas/*.json`` and ``spec/vectors/*.json`` file
  under the same relative path, so a chapter's link to ``schemas/usage.schema.json`` works in
  the site as it does in the repository;
* generates ``spec/files.md``, a page listing those JSON files with the requirements each vector
  file covers;
* turns a requirement ID that opens a block (``- **UNIT-012** A verifier MUST ...``, also after
  a bold step name and in the first cell of a table row) into an anchor ``#UNIT-012`` that
  links to itself, so any page can link to ``spec/units.md#UNIT-012``;
* fails the build, naming what is missing, when an API page documents a module
  (``::: package.module``) that is not in the source tree, or when a nav entry under ``spec/`` or
  ``api/`` names a page that does not exist: a reference page never disappears silently; spec
  chapters missing from the nav are appended to the nav section that holds the other chapters;
* links every other mention of a defined requirement ID, on any page (chapters, API reference,
  guides), to its definition;
* shows Sphinx-style roles left in rendered docstrings (``:class:`~a.B```) as plain code.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from mkdocs.utils import get_relative_url

SPEC_URI = "spec/"
API_URI = "api/"
FILES_PAGE = "spec/files.md"
JSON_FOLDERS = ("schemas", "vectors")
DEFAULT_API_PATHS = ("sdk", "conformance")

REQUIREMENT_ID = r"[A-Z][A-Z0-9]*-[0-9]{3}"
# A requirement is defined where a block opens with its bold ID: a paragraph, a list item or
# numbered step (optionally after the step's bold name), or the first cell of a table row.
DEFINITION = re.compile(
    r"^(?P<lead>[ \t]*(?:(?:[-*+]|[0-9]+[.)])[ \t]+)?(?:\|[ \t]*)?"
    r"(?:\*\*[^*\n]+\*\*[ \t]*[:.\u2014\u2013-]?[ \t]*)?)"
    rf"\*\*(?P<id>{REQUIREMENT_ID})\*\*"
)
FENCE = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})")
API_DIRECTIVE = re.compile(r"^:::[ \t]+(?P<ident>[A-Za-z_][\w.]*)", re.MULTILINE)
REFERENCE = re.compile(rf"\b{REQUIREMENT_ID}\b")
HTML_TAG = re.compile(r"(<[^>]*>)")
TAG_NAME = re.compile(r"<(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9]*)")
# Text inside these elements is left alone: links, code, and headings (which carry permalinks).
NO_LINKS_IN = frozenset({"a", "code", "pre", "script", "style", "h1", "h2", "h3", "h4", "h5", "h6"})
SPHINX_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const|type):"
    r"<code>(?P<tilde>~?)(?P<path>[^<]+)</code>"
)


_defined_in: dict[str, str] = {}
"""Requirement ID -> src_uri of the chapter defining it; refreshed by each build's on_files."""


def _root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _outside_fences(lines: list[str]) -> list[bool]:
    """For each line, whether it is outside fenced code blocks."""
    result: list[bool] = []
    fence: str | None = None
    for line in lines:
        match = FENCE.match(line)
        if fence is None:
            if match:
                fence = match.group("fence")
                result.append(False)
                continue
            result.append(True)
        else:
            result.append(False)
            if (
                match
                and match.group("fence")[0] == fence[0]
                and len(match.group("fence")) >= len(fence)
            ):
                fence = None
    return result


def defined_ids(markdown: str) -> list[str]:
    """The requirement IDs a chapter defines, in order of appearance."""
    lines = markdown.splitlines()
    return [
        match.group("id")
        for line, outside in zip(lines, _outside_fences(lines), strict=True)
        if outside and (match := DEFINITION.match(line))
    ]


def anchor_requirements(markdown: str) -> str:
    """Make each defining requirement ID an anchor that links to itself."""
    lines = markdown.splitlines(keepends=True)
    out = []
    for line, outside in zip(lines, _outside_fences(lines), strict=True):
        if outside:
            line = DEFINITION.sub(
                lambda m: (
                    f"{m.group('lead')}[**{m.group('id')}**](#{m.group('id')})"
                    f"{{#{m.group('id')} .tf-requirement}}"
                ),
                line,
                count=1,
            )
        out.append(line)
    return "".join(out)


def link_references(html: str, target: Callable[[str], str | None]) -> str:
    """Link mentions of requirement IDs in the text of ``html`` to ``target(id)`` (if not
    ``None``), outside links, code and headings."""
    out: list[str] = []
    skipped = 0
    for part in HTML_TAG.split(html):
        if part.startswith("<"):
            tag = TAG_NAME.match(part)
            if tag and tag.group("name").lower() in NO_LINKS_IN and not part.endswith("/>"):
                skipped = max(0, skipped - 1) if tag.group("close") else skipped + 1
            out.append(part)
        elif skipped or "-" not in part:
            out.append(part)
        else:

            def link(match: re.Match[str]) -> str:
                href = target(match.group(0))
                return match.group(0) if href is None else f'<a href="{href}">{match.group(0)}</a>'

            out.append(REFERENCE.sub(link, part))
    return "".join(out)


def _module_exists(ident: str, search: list[Path]) -> bool:
    """Whether ``ident`` (a module, or an object inside one) is in the source tree.

    The longest prefix of ``ident`` that is a module or package decides: the full path must be
    one, or the rest must be an object of a module, or a name that a package's
    ``__init__.py`` mentions (a package's missing submodule does not count).
    """
    parts = ident.split(".")
    for end in range(len(parts), 0, -1):
        rel = Path(*parts[:end])
        for base in search:
            module, package = (base / rel).with_suffix(".py"), base / rel / "__init__.py"
            if end == len(parts) and (module.is_file() or package.is_file()):
                return True
            if module.is_file():
                return True
            if package.is_file():
                source = package.read_text(encoding="utf-8")
                return re.search(rf"\b{re.escape(parts[end])}\b", source) is not None
    return False


def _api_paths(config: MkDocsConfig) -> list[Path]:
    root = _root(config)
    try:
        plugin = config.plugins["mkdocstrings"]
        paths = plugin.config["handlers"]["python"]["paths"]
    except (KeyError, TypeError, AttributeError):
        paths = DEFAULT_API_PATHS
    return [root / path for path in paths]


def _json_summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _cell(text: object) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _files_page(spec: Path, chapters: dict[str, str]) -> str:
    """Markdown of the generated page listing the schemas and vector files."""
    where = {rid: chapter for chapter, text in chapters.items() for rid in defined_ids(text)}

    def link(rid: str) -> str:
        return f"[{rid}]({where[rid]}#{rid})" if rid in where else rid

    lines = [
        "# Schemas and test vectors",
        "",
        "The machine-readable parts of the specification, published from the `spec/` folder",
        "of the repository. JSON Schemas use draft 2020-12. Test vectors are language-neutral:",
        "each gives inputs and either an expected result or an expected error code, and names the",
        "requirements it covers. Implementations read them to check themselves against the spec.",
        "",
        "## JSON Schemas {#schemas}",
        "",
    ]
    schemas = sorted((spec / "schemas").glob("*.json"))
    if schemas:
        lines += ["| File | Title | Description |", "| --- | --- | --- |"]
        for path in schemas:
            data = _json_summary(path)
            lines.append(
                f"| [`{path.name}`](schemas/{path.name}) | {_cell(data.get('title', ''))} "
                f"| {_cell(data.get('description', ''))} |"
            )
    else:
        lines.append("No schema files in this version.")
    lines += ["", "## Test vectors {#vectors}", ""]
    vector_files = sorted((spec / "vectors").glob("*.json"))
    if not vector_files:
        lines.append("No vector files in this version.")
    for path in vector_files:
        data = _json_summary(path)
        vectors = data.get("vectors")
        lines += [f"### `{path.name}` {{#{path.stem}}}", ""]
        if data.get("description"):
            lines += [_cell(data["description"]), ""]
        facts = [f"[Download]({'vectors/' + path.name})"]
        if isinstance(vectors, list):
            facts.append(f"{len(vectors)} vectors")
            covered = sorted(
                {
                    rid
                    for vector in vectors
                    if isinstance(vector, dict)
                    for rid in vector.get("requirements", [])
                    if isinstance(rid, str)
                }
            )
            if covered:
                facts.append("requirements covered: " + ", ".join(map(link, covered)))
        lines += ["; ".join(facts) + ".", ""]
        if data.get("provenance"):
            lines += [f"*Provenance:* {_cell(data['provenance'])}", ""]
    return "\n".join(lines) + "\n"


def _missing_nav_pages(items: list[Any], present: set[str]) -> list[str]:
    """Nav targets under spec/ and api/ that are not among the built files."""
    return sorted(
        target
        for target in _nav_targets(items)
        if target.startswith((SPEC_URI, API_URI)) and target not in present
    )


def _nav_targets(items: list[Any]) -> set[str]:
    found: set[str] = set()
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) and len(item) == 1 else item
        if isinstance(value, list):
            found |= _nav_targets(value)
        elif isinstance(value, str):
            found.add(value)
    return found


def _spec_section(items: list[Any]) -> list[Any] | None:
    """The nav list that holds spec chapters, if any."""
    for item in items:
        value = next(iter(item.values())) if isinstance(item, dict) and len(item) == 1 else item
        if isinstance(value, list):
            if any(isinstance(v, str) and v.startswith(SPEC_URI) for v in _nav_targets(value)):
                inner = _spec_section(value)
                return inner if inner is not None else value
        elif isinstance(value, str) and value.startswith(SPEC_URI):
            return items
    return None


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """Publish spec/ into the site, check the API pages and the nav, fit the nav."""
    spec = _root(config) / "spec"
    chapters: dict[str, str] = {}
    for path in sorted(spec.glob("*.md")):
        uri = SPEC_URI + path.name
        chapters[path.name] = path.read_text(encoding="utf-8")
        files.append(File.generated(config, uri, abs_src_path=str(path)))
    for path in sorted(spec.glob("*.yaml")):  # the OpenAPI document of the HTTP API chapter
        files.append(File.generated(config, SPEC_URI + path.name, abs_src_path=str(path)))
    for folder in JSON_FOLDERS:
        for path in sorted((spec / folder).glob("*.json")):
            files.append(
                File.generated(config, f"{SPEC_URI}{folder}/{path.name}", abs_src_path=str(path))
            )
    files.append(File.generated(config, FILES_PAGE, content=_files_page(spec, chapters)))
    _defined_in.clear()
    for name, text in chapters.items():
        for rid in defined_ids(text):
            _defined_in.setdefault(rid, SPEC_URI + name)

    search = _api_paths(config)
    absent_modules = []
    for file in files.documentation_pages():
        if not file.src_uri.startswith(API_URI) or file.abs_src_path is None:
            continue
        source = Path(file.abs_src_path).read_text(encoding="utf-8")
        missing = [
            ident for ident in API_DIRECTIVE.findall(source) if not _module_exists(ident, search)
        ]
        if missing:
            absent_modules.append(f"docs/{file.src_uri} documents {', '.join(missing)}")
    if absent_modules:
        raise PluginError(
            "API reference pages document modules that are not in the source tree ("
            + ", ".join(os.path.relpath(path, _root(config)) for path in search)
            + "): "
            + "; ".join(absent_modules)
            + ". Fix the ::: line, or delete the page and its nav entry in mkdocs.yml."
        )

    if config.nav is not None:
        nav = copy.deepcopy(list(config.nav))
        missing_pages = _missing_nav_pages(nav, set(files.src_uris))
        if missing_pages:
            raise PluginError(
                "mkdocs.yml lists pages that do not exist: "
                + ", ".join(missing_pages)
                + f". A {SPEC_URI} page is a chapter spec/<name>.md of the repository (or the "
                f"generated {FILES_PAGE}); an {API_URI} page is docs/{API_URI}<name>.md. "
                "Add the page or remove the nav entry."
            )
        listed = _nav_targets(nav)
        unlisted = [
            f.src_uri
            for f in files.documentation_pages()
            if f.src_uri.startswith(SPEC_URI) and f.src_uri not in listed
        ]
        if unlisted:
            section = _spec_section(nav)
            if section is None:
                section = []
                nav.append({"Specification": section})
            section.extend(sorted(unlisted))
        config.nav = nav
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Anchor the requirement IDs of spec chapters."""
    if page.file.src_uri.startswith(SPEC_URI):
        return anchor_requirements(markdown)
    return markdown


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Link requirement IDs to their definitions; on API pages, show Sphinx-style roles of
    docstrings as code."""
    if page.file.src_uri.startswith(API_URI):
        html = SPHINX_ROLE.sub(
            lambda m: (
                "<code>"
                + (m.group("path").rsplit(".", 1)[-1] if m.group("tilde") else m.group("path"))
                + "</code>"
            ),
            html,
        )

    def target(rid: str) -> str | None:
        chapter = _defined_in.get(rid)
        found = files.get_file_from_path(chapter) if chapter else None
        if found is None:
            return None
        if found is page.file:
            return f"#{rid}"
        return f"{get_relative_url(found.url, page.url)}#{rid}"

    return link_references(html, target)
