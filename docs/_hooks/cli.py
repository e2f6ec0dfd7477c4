"""MkDocs hook that writes the command-line reference from the command's own parser.

``docs/cli.md`` holds the page's introduction and one marker line, ``<!-- cli-reference -->``.
At build time this hook replaces the marker with the reference of every command and sub-command
of ``tokenfed``, read from :func:`tokenfed.cli._parser.build_parser` (usage, help text,
arguments with their values, defaults and choices), the exit statuses of :mod:`tokenfed.cli`,
two error reports printed by running the real command, and the error codes of
:func:`tokenfed.errors.registry`. The page therefore cannot drift from the code: a new option
appears on the next build, and a page without the marker fails the build.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import Files
from mkdocs.structure.pages import Page

PAGE = "cli.md"
MARKER = "<!-- cli-reference -->"
ERRORS_PAGE = "spec/errors.md"
USAGE_WIDTH = 88
# Two reports the page shows, produced by running the real command in an empty folder holding
# only these files: a wrong command line (exit 2) and a rejected input (exit 1).
EXAMPLES: tuple[tuple[tuple[str, ...], dict[str, str]], ...] = (
    (("convert", "1.5", "--from", "UTU"), {}),
    (("receipt", "inspect", "receipt.jwt"), {"receipt.jwt": "not.a.jws\n"}),
)


@dataclass(frozen=True)
class Command:
    """A command or sub-command of the parser: its words after ``tokenfed`` and its parser."""

    words: tuple[str, ...]
    parser: argparse.ArgumentParser
    summary: str

    @property
    def name(self) -> str:
        return " ".join((self.parser.prog.split()[0], *self.words))

    @property
    def anchor(self) -> str:
        return "-".join(("cmd", *self.words)) if self.words else "cmd"

    @property
    def subcommands(self) -> argparse._SubParsersAction[argparse.ArgumentParser] | None:
        # argparse has no public API to list sub-commands; its _SubParsersAction is the one
        # place they are recorded.
        for action in self.parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action
        return None


def commands(parser: argparse.ArgumentParser) -> list[Command]:
    """Every command of ``parser``, depth first, the top-level command first."""

    def walk(command: Command) -> Iterator[Command]:
        yield command
        group = command.subcommands
        if group is None:
            return
        summaries = {action.dest: action.help or "" for action in group._choices_actions}
        for word, sub in group.choices.items():
            yield from walk(Command((*command.words, word), sub, summaries.get(word, "")))

    return list(walk(Command((), parser, parser.description or "")))


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def _usage(parser: argparse.ArgumentParser) -> str:
    formatter = functools.partial(argparse.HelpFormatter, width=USAGE_WIDTH)
    saved = parser.formatter_class
    parser.formatter_class = formatter
    try:
        return parser.format_usage().rstrip()
    finally:
        parser.formatter_class = saved


def _help(action: argparse.Action, parser: argparse.ArgumentParser) -> str:
    text = action.help or ""
    if "%(" in text:
        text = text % {**vars(action), "prog": parser.prog}
    return text


def _argument_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if action.option_strings:
            name = ", ".join(_code(option) for option in action.option_strings)
        else:
            name = _code(str(action.metavar or action.dest))
        if action.choices is not None:
            value = " \\| ".join(_code(str(choice)) for choice in action.choices)
        elif action.nargs == 0:
            value = "flag"
        elif action.option_strings:
            value = _code(str(action.metavar or action.dest.upper()))
        else:
            value = ""
        facts = []
        if action.option_strings and action.required:
            facts.append("required")
        if not action.option_strings and action.nargs == "?":
            facts.append("optional")
        if isinstance(action, argparse._AppendAction):
            facts.append("repeatable")
        default = action.default
        if default not in (None, False, argparse.SUPPRESS) and action.nargs != 0:
            facts.append(f"default {_code(str(default))}")
        help_text = _cell(_help(action, parser))
        facts = [fact for fact in facts if fact not in help_text]
        description = "; ".join(part for part in (help_text, ", ".join(facts)) if part)
        rows.append(f"| {name} | {value} | {description} |")
    return rows


def _run_example(words: tuple[str, ...], files: dict[str, str]) -> tuple[int, str]:
    """Run the real command line; return its exit status and what it wrote on stderr."""
    from tokenfed.cli import main

    stderr, stdout = io.StringIO(), io.StringIO()
    with tempfile.TemporaryDirectory() as folder, contextlib.chdir(folder):
        for name, content in files.items():
            Path(folder, name).write_text(content, encoding="utf-8")
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
            status = main(list(words))
    return status, stderr.getvalue().strip()


def _exit_section(program: str) -> list[str]:
    from tokenfed import cli

    lines = [
        "## Exit status and errors {#exit-status}",
        "",
        "| status | meaning |",
        "| --- | --- |",
        f"| {cli.EXIT_OK} | success; the result, if any, is on standard output |",
        f"| {cli.EXIT_REJECTED} | the input was rejected, or a file could not be read or written; "
        "one error report on standard error |",
        f"| {cli.EXIT_USAGE} | the command line is wrong (code `invalid_arguments`); "
        "one error report on standard error |",
        "",
        'An error report is one line of JSON, `{"error": code, "message": text}`, where `code` '
        f"is a code of the [error registry]({ERRORS_PAGE}) and `text` says what to fix. For "
        "example:",
        "",
        "```console",
    ]
    for words, files in EXAMPLES:
        status, report = _run_example(words, files)
        try:
            json.loads(report)
        except ValueError as exc:
            raise PluginError(
                f"{program} {' '.join(words)} printed {report!r} on stderr, not one JSON error "
                f"report; fix the command line or the example in {__file__}"
            ) from exc
        lines += [f"$ {program} {' '.join(words)}", report, "$ echo $?", str(status)]
    lines += ["```", ""]
    return lines


def _errors_section() -> list[str]:
    from tokenfed.errors import registry

    lines = [
        "### Error codes {#error-codes}",
        "",
        "| code | meaning |",
        "| --- | --- |",
    ]
    for code, cls in sorted(registry().items()):
        summary = (cls.__doc__ or "").strip().split("\n\n")[0]
        lines.append(f"| [`{code}`]({ERRORS_PAGE}#{code}) | {_cell(summary)} |")
    return [*lines, ""]


def render_reference(parser: argparse.ArgumentParser) -> str:
    """Markdown reference of every command of ``parser``, its exit statuses and error codes."""
    found = commands(parser)
    program = found[0].name
    lines: list[str] = ["## Commands {#commands}", ""]
    lines += ["| command | what it does |", "| --- | --- |"]
    lines += [
        f"| [{_code(command.name)}](#{command.anchor}) | {_cell(command.summary)} |"
        for command in found[1:]
        if command.subcommands is None
    ]
    lines.append("")
    for command in found:
        level = "#" * min(2 + len(command.words), 4)
        lines += [f"{level} {_code(command.name)} {{#{command.anchor}}}", ""]
        description = command.parser.description or command.summary
        if description:
            sentence = _cell(description[:1].upper() + description[1:])
            lines += [sentence if sentence.endswith((".", ":", "!", "?")) else sentence + ".", ""]
        lines += ["```text", _usage(command.parser), "```", ""]
        group = command.subcommands
        if group is not None:
            lines += ["| sub-command | what it does |", "| --- | --- |"]
            lines += [
                f"| [{_code(sub.name)}](#{sub.anchor}) | {_cell(sub.summary)} |"
                for sub in found
                if sub.words[:-1] == command.words and len(sub.words) == len(command.words) + 1
            ]
            lines.append("")
        rows = _argument_rows(command.parser)
        if rows:
            lines += ["| argument | value | description |", "| --- | --- | --- |", *rows, ""]
    lines += _exit_section(program)
    lines += _errors_section()
    return "\n".join(lines)


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Replace the marker of the command-line page with the reference."""
    if page.file.src_uri != PAGE:
        return markdown
    if markdown.count(MARKER) != 1:
        raise PluginError(
            f"docs/{PAGE} must hold the line {MARKER} exactly once: the command-line reference "
            "is generated there"
        )
    from tokenfed.cli._parser import build_parser

    return markdown.replace(MARKER, render_reference(build_parser()))
