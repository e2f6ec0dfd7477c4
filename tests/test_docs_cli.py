"""The command-line walkthroughs of the docs run as written, with the real ``tokenfed`` command.

Each ```json block that the page asks the reader to write "to `FILE`" is written to that file;
each ``$ tokenfed ...`` line of a ```console block runs in a shell in a temporary directory, in
page order. Where the page shows output, every ``"member": value`` pair it shows (except ones
with an ellipsis) must appear in what the command printed, and an output showing an
``"error"`` must come with a non-zero exit status (CONV-050).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
TARGET = re.compile(r"to `(?P<name>[\w.-]+\.json)`")
PAIR = re.compile(r'"(?P<key>\w+)": (?P<value>"[^"]*"|-?\d+|true|false|null)')


def _steps(page: Path) -> list[tuple[str, str, str]]:
    """(kind, payload, expected) in page order: ("write", file, text) or ("run", cmd, out)."""
    text = page.read_text(encoding="utf-8")
    steps: list[tuple[str, str, str]] = []
    for match in BLOCK.finditer(text):
        lang, body = match.group("lang"), match.group("body")
        if lang == "json":
            before = text[max(0, match.start() - 300) : match.start()]
            targets = TARGET.findall(before)
            if targets:
                steps.append(("write", targets[-1], body))
        elif lang == "console":
            command, output = "", []
            for line in body.splitlines():
                if line.startswith("$ "):
                    if command:
                        steps.append(("run", command, "\n".join(output)))
                    command, output = line[2:], []
                else:
                    output.append(line)
            if command:
                steps.append(("run", command, "\n".join(output)))
    return steps


@pytest.mark.parametrize("page", ["getting-started.md"])
def test_console_walkthrough_runs(page: str, tmp_path: Path) -> None:
    """The page's CLI session, run for real, prints what the page shows."""
    steps = _steps(DOCS / page)
    assert sum(kind == "run" for kind, _, _ in steps) >= 5, "the page lost its CLI walkthrough"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    for kind, payload, expected in steps:
        if kind == "write":
            (tmp_path / payload).write_text(expected, encoding="utf-8")
            continue
        assert payload.startswith("tokenfed "), payload
        done = subprocess.run(
            ["bash", "-c", payload],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        printed = done.stdout + done.stderr
        assert "Traceback" not in printed, payload
        if '"error"' in expected:
            assert done.returncode == 1, (payload, printed)
        else:
            assert done.returncode == 0, (payload, printed)
        for pair in PAIR.finditer(expected):
            if "..." in pair.group("value"):
                continue
            shown = re.compile(rf'"{pair.group("key")}": {re.escape(pair.group("value"))}')
            assert shown.search(printed), (payload, pair.group(0), printed)
