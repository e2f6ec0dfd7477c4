"""The command line builds only the parser of the command it runs (start-up cost), and that
parser, and ``tokenfed --help``, are exactly those of the full parser."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tokenfed.cli._parser import _COMMANDS, build_parser, command_word

NAMES = [name for name, _, _ in _COMMANDS]


def _parsers(
    parser: argparse.ArgumentParser, words: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    yield words, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, (*words, name))


FULL = dict(_parsers(build_parser()))


@pytest.mark.parametrize("name", NAMES)
def test_one_command_built_alone_has_the_full_help(name: str) -> None:
    """Built alone, a command's parsers print the help of the full parser, and so does the
    top level (every command listed with its help)."""
    alone = dict(_parsers(build_parser(name)))
    assert alone[()].format_help() == FULL[()].format_help()
    mine = [words for words in FULL if words[:1] == (name,)]
    assert mine
    for words in mine:
        assert alone[words].format_help() == FULL[words].format_help(), words


def test_every_command_is_in_the_table() -> None:
    """The full parser has exactly the commands of the table, so none is built alone by
    mistake or missing from the command line."""
    assert sorted(words[0] for words in FULL if len(words) == 1) == sorted(NAMES)


@pytest.mark.parametrize(
    ("argv", "word"),
    [
        (["receipt", "verify", "x.jsonl"], "receipt"),
        (["--version"], None),
        (["-h", "settle"], "settle"),
        (["nonsense", "receipt"], None),
        (["--", "receipt"], None),
        ([], None),
    ],
)
def test_command_word(argv: list[str], word: str | None) -> None:
    """The command is the first word that is not an option, if the table has it."""
    assert command_word(argv) == word


def _modules_after(code: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(done.stdout.decode().splitlines()[-1]))


def test_a_command_imports_only_its_own_modules() -> None:
    """Building the parser of ``receipt`` loads neither the settlement, entitlement nor
    federation code, and the top level alone loads no command module."""
    receipt = _modules_after(
        "from tokenfed.cli._parser import build_parser\nbuild_parser('receipt')"
    )
    assert "tokenfed.cli._receipts" in receipt
    for module in ("tokenfed.cli._settle", "tokenfed.settlement", "tokenfed.entitlements"):
        assert module not in receipt
    top = _modules_after(
        "from tokenfed.cli._parser import build_parser\nbuild_parser('no such command')"
    )
    assert not {
        name for name in top if name.startswith("tokenfed.cli._") and name != "tokenfed.cli._parser"
    }


def test_help_and_an_unknown_command_through_main() -> None:
    """``tokenfed --help`` lists every command; an unknown command is a usage error that
    names the choices."""
    done = subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", "--help"], capture_output=True, check=False
    )
    assert done.returncode == 0
    assert done.stdout.decode() == FULL[()].format_help()
    bad = subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", "nonsense"], capture_output=True, check=False
    )
    assert bad.returncode == 2
    error = json.loads(bad.stderr.decode())
    assert error["error"] == "invalid_arguments" and "'settle'" in error["message"]


def test_the_program_exits_with_the_status_of_main_and_freezes_what_is_left() -> None:
    """``tokenfed.cli.run`` (the ``tokenfed`` program) exits with the status ``main`` returns,
    having frozen the objects left out of the garbage collector (the interpreter's last
    collections skip them); its standard output is whole."""
    code = (
        "import atexit, gc, sys\n"
        "from tokenfed.cli import run\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0, file=sys.stderr))\n"
        "sys.argv = ['tokenfed', *sys.argv[1:]]\n"
        "run()\n"
    )
    bad = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "price",
            "--rate-card",
            "/nonexistent/card.jws",
            "--usage",
            "/nonexistent/u.json",
            "--no-verify",
        ],
        capture_output=True,
        check=False,
    )
    assert bad.returncode == 1
    first, second = bad.stderr.decode().splitlines()
    assert json.loads(first)["error"] == "io_error"
    assert second == "frozen True"
    helped = subprocess.run(
        [sys.executable, "-c", code, "--help"], capture_output=True, check=False
    )
    assert helped.returncode == 0
    assert helped.stdout.decode() == FULL[()].format_help()
