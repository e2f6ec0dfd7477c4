"""The documentation build hooks: the generated command-line reference, and the spec hook's
refusal to build a site with a missing API page or spec chapter.

The hooks run inside ``mkdocs build --strict`` (``make docs``); these tests run them without a
full build: the CLI hook's functions directly, the spec hook through the ``on_files`` event of
the project's own ``mkdocs.yml``.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files, get_files

from tokenfed.cli._parser import build_parser

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / "docs" / "_hooks"


def load_hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"tokenfed_docs_{name}_hook", HOOKS / name)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


CLI_HOOK = load_hook("cli.py")
SPEC_HOOK = load_hook("spec.py")


def parser_commands(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every (words after ``tokenfed``, parser) of the real parser, found without the hook."""
    found = [(words, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word, sub in action.choices.items():
                found += parser_commands(sub, (*words, word))
    return found


@pytest.fixture(scope="module")
def reference() -> str:
    return str(CLI_HOOK.render_reference(build_parser()))


def section(markdown: str, words: tuple[str, ...]) -> str:
    """The part of the reference about one command: from its heading to the next heading."""
    name = " ".join(("tokenfed", *words))
    heading = re.search(rf"^#+ `{re.escape(name)}` \{{#[\w-]+\}}$", markdown, re.MULTILINE)
    assert heading, f"no heading for {name!r} in the command-line reference"
    following = re.search(r"^#", markdown[heading.end() :], re.MULTILINE)
    return markdown[heading.end() : heading.end() + following.start() if following else None]


COMMANDS = parser_commands(build_parser())


def test_parser_has_the_commands_the_readme_shows() -> None:
    """The walk below sees the nested sub-commands (a walk that found none would pass)."""
    names = {" ".join(words) for words, _ in COMMANDS}
    assert {"keygen", "rate-card sign", "receipt verify", "trust revoke"} <= names


@pytest.mark.parametrize(
    ("words", "parser"), COMMANDS, ids=[" ".join(w) or "tokenfed" for w, _ in COMMANDS]
)
def test_reference_documents_every_command(
    reference: str, words: tuple[str, ...], parser: argparse.ArgumentParser
) -> None:
    """Each command and sub-command has its section, with its usage line and every one of its
    options and positional arguments, as the parser defines them."""
    text = section(reference, words)
    assert parser.format_usage().split()[1] in text
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        names = action.option_strings or [str(action.metavar or action.dest)]
        for name in names:
            assert f"`{name}`" in text, f"{' '.join(words)}: {name} missing"
        if action.help:
            assert " ".join(action.help.split()) in text
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for word in action.choices:
                assert f"`{' '.join(('tokenfed', *words, word))}`" in text


def test_reference_shows_exit_statuses_and_real_error_reports(reference: str) -> None:
    """The exit statuses come from tokenfed.cli, the sample reports from running the command."""
    statuses = reference.split("## Exit status and errors {#exit-status}", 1)[1]
    assert "| 0 | success" in statuses
    assert "| 1 | the input was rejected" in statuses
    assert "| 2 | the command line is wrong" in statuses
    assert '{"error": "invalid_arguments", "message": "tokenfed convert: ' in statuses
    assert re.search(r'"error": "invalid_arguments".*\n\$ echo \$\?\n2\n', statuses)
    assert re.search(r'"error": "malformed".*\n\$ echo \$\?\n1\n', statuses)
    assert "[`io_error`](spec/errors.md#io_error)" in statuses


def _page(src_uri: str) -> Any:
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri))


def test_cli_page_needs_its_marker() -> None:
    """docs/cli.md holds the marker once; a page without it fails the build, not silently."""
    page = (ROOT / "docs" / CLI_HOOK.PAGE).read_text(encoding="utf-8")
    assert page.count(CLI_HOOK.MARKER) == 1
    rendered = CLI_HOOK.on_page_markdown(page, _page(CLI_HOOK.PAGE), None, None)
    assert CLI_HOOK.MARKER not in rendered
    assert "`tokenfed receipt verify`" in rendered
    with pytest.raises(PluginError, match="must hold the line"):
        CLI_HOOK.on_page_markdown("# CLI\n", _page(CLI_HOOK.PAGE), None, None)
    assert CLI_HOOK.on_page_markdown("# Other\n", _page("index.md"), None, None) == "# Other\n"


# ----------------------------------------------------------------------- the spec hook's checks


@pytest.fixture
def site() -> tuple[MkDocsConfig, Files]:
    config = load_config(str(ROOT / "mkdocs.yml"))
    return config, get_files(config)


def _nav_targets(nav: list[Any]) -> set[str]:
    return set(SPEC_HOOK._nav_targets(nav))


def test_project_nav_is_complete(site: tuple[MkDocsConfig, Files]) -> None:
    """With this checkout, every nav entry has its page, and none is dropped."""
    config, files = site
    before = _nav_targets(config.nav)
    config.plugins.on_files(files, config=config)
    assert before <= _nav_targets(config.nav)
    assert {"cli.md", "spec/files.md", "api/receipts.md"} <= before
    assert before <= set(files.src_uris)


@pytest.mark.parametrize("missing", ["api/no-such-module.md", "spec/no-such-chapter.md"])
def test_missing_nav_page_fails_the_build(site: tuple[MkDocsConfig, Files], missing: str) -> None:
    """A nav entry naming an API page or a spec chapter that does not exist stops the build
    with a message naming it (it used to be dropped from the nav without a word)."""
    config, files = site
    config.nav = [*config.nav, {"Missing": missing}]
    with pytest.raises(PluginError, match=f"mkdocs.yml lists pages that do not exist: {missing}"):
        config.plugins.on_files(files, config=config)


def test_api_page_of_absent_module_fails_the_build(
    site: tuple[MkDocsConfig, Files], tmp_path: Path
) -> None:
    """An API page documenting a module that is not in the source tree stops the build with a
    message naming the page and the module (it used to be removed from the site)."""
    config, files = site
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / "ghost.md").write_text("::: tokenfed.ghost\n", encoding="utf-8")
    files.append(File("api/ghost.md", str(tmp_path), str(tmp_path / "site"), False))
    with pytest.raises(PluginError, match=r"docs/api/ghost\.md documents tokenfed\.ghost"):
        config.plugins.on_files(files, config=config)
