"""Running the implementation under test through its adapter command (PROTOCOL.md).

The only place the suite starts the implementation's processes. Every outcome is classified as
accepted, rejected or broken exactly as the protocol says; nothing is guessed.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._codec import StrictJSONError, loads_strict
from .cases import Call, Outcome

__all__ = ["PROTOCOL_VERSION", "Adapter", "AdapterError", "Info"]

PROTOCOL_VERSION = "1"
"""The adapter protocol version this suite speaks (PROTOCOL.md)."""
_MAX_TEXT = 20000


class AdapterError(Exception):
    """The adapter cannot be used at all (``info`` failed or speaks another protocol)."""


@dataclass(frozen=True)
class Info:
    """What ``CMD info`` said about the implementation."""

    name: str
    version: str
    spec_version: str
    profiles: tuple[str, ...]
    operations: tuple[str, ...]
    batch: bool
    raw: dict[str, Any]


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "\n[... cut]"


def _single_object(text: str) -> dict[str, Any] | None:
    try:
        value = loads_strict(text)
    except StrictJSONError:
        return None
    return value if isinstance(value, dict) else None


def write_input(call: Call, folder: Path, name: str) -> tuple[dict[str, Any], list[str]]:
    """Write the call's extra files into ``folder`` and return its input with their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    data = dict(call.input)
    files = []
    for member, filename, content in call.files:
        path = (folder / f"{name}-{filename}").resolve()
        path.write_bytes(content)
        data[member] = str(path)
        files.append(str(path))
    return data, files


class Adapter:
    """The adapter command of an implementation under test."""

    def __init__(self, command: str | Sequence[str], *, timeout: float = 30.0) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise AdapterError("the adapter command is empty")
        self.timeout = timeout

    def _run(self, args: list[str], cwd: Path, timeout: float) -> tuple[int | None, str, str, str]:
        # The adapter runs in the suite's own working directory, so that a relative adapter
        # command means what it meant to the person who typed it; its files are in ``cwd``.
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            done = subprocess.run(
                [*self.argv, *args],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout.decode("utf-8", "replace") if exc.stdout else ""
            err = exc.stderr.decode("utf-8", "replace") if exc.stderr else ""
            return None, out, err, f"no answer within {timeout:g} s"
        except OSError as exc:
            return None, "", "", f"cannot start the adapter: {exc}"
        out = done.stdout.decode("utf-8", "replace")
        err = done.stderr.decode("utf-8", "replace")
        return done.returncode, out, err, ""

    def info(self, workdir: Path) -> Info:
        """Run ``CMD info`` and check its answer (PROTOCOL.md section 2)."""
        status, out, err, problem = self._run(["info"], workdir, self.timeout)
        value = _single_object(out) if status == 0 else None
        if value is None:
            raise AdapterError(
                f"`{shlex.join([*self.argv, 'info'])}` did not print one JSON object and exit 0 "
                f"(exit status {status}{'; ' + problem if problem else ''}; stderr: {err[:500]!r})"
            )
        if value.get("protocol") != PROTOCOL_VERSION:
            raise AdapterError(
                f"the adapter speaks protocol {value.get('protocol')!r}; this suite speaks "
                f"{PROTOCOL_VERSION!r}"
            )
        try:
            return Info(
                name=str(value["name"]),
                version=str(value["version"]),
                spec_version=str(value["spec_version"]),
                profiles=tuple(value["profiles"]),
                operations=tuple(value["operations"]),
                batch=value.get("batch") is True,
                raw=value,
            )
        except (KeyError, TypeError) as exc:
            raise AdapterError(f"`info` lacks a member or has a wrong type: {exc}") from exc

    def call(self, call: Call, folder: Path, name: str) -> Outcome:
        """Per-call mode: ``CMD OP CASE.json`` (PROTOCOL.md section 3)."""
        data, files = write_input(call, folder, name)
        path = (folder / f"{name}.json").resolve()
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        args = [call.op, str(path)]
        status, out, err, problem = self._run(args, folder, self.timeout)
        outcome = Outcome(
            status="broken",
            command=[*self.argv, *args],
            input_files=[str(path), *files],
            exit_status=status,
            stdout=_clip(out),
            stderr=_clip(err),
        )
        if problem:
            outcome.problem = problem
        elif status == 0:
            value = _single_object(out)
            if value is None:
                outcome.problem = "exit status 0 but standard output is not one JSON object"
            else:
                outcome.status, outcome.output = "accepted", value
        elif status == 1:
            value = _single_object(err)
            if value is None or not (
                isinstance(value.get("error"), str) and isinstance(value.get("message"), str)
            ):
                outcome.problem = (
                    'exit status 1 but standard error is not one {"error", "message"} object'
                )
            else:
                outcome.status, outcome.error = "rejected", value
        else:
            outcome.problem = f"exit status {status} (only 0 and 1 are answers)"
        return outcome

    def batch(
        self, calls: Sequence[tuple[str, Call]], folder: Path, *, per_case_timeout: float = 2.0
    ) -> list[Outcome]:
        """Batch mode: ``CMD batch CASES.jsonl RESULTS.jsonl`` (PROTOCOL.md section 4)."""
        folder.mkdir(parents=True, exist_ok=True)
        cases_path = (folder / "cases.jsonl").resolve()
        results_path = (folder / "results.jsonl").resolve()
        results_path.unlink(missing_ok=True)
        extra_files: list[list[str]] = []
        with cases_path.open("w", encoding="utf-8") as sink:
            for index, (call_id, call) in enumerate(calls):
                data, files = write_input(call, folder / "files", f"{index:05d}")
                extra_files.append(files)
                line = {"id": call_id, "op": call.op, "input": data}
                sink.write(json.dumps(line, ensure_ascii=False) + "\n")
        args = ["batch", str(cases_path), str(results_path)]
        timeout = self.timeout + per_case_timeout * len(calls)
        status, out, err, problem = self._run(args, folder, timeout)
        lines: list[str] = []
        if results_path.exists():
            lines = results_path.read_text(encoding="utf-8", errors="replace").splitlines()
        outcomes = []
        for index, (call_id, _call) in enumerate(calls):
            outcome = Outcome(
                status="broken",
                command=[*self.argv, *args],
                input_files=[str(cases_path), *extra_files[index]],
                exit_status=status,
                stdout=_clip(out) if status != 0 else "",
                stderr=_clip(err) if status != 0 else "",
            )
            value = _single_object(lines[index]) if index < len(lines) else None
            if problem or status != 0:
                whole = problem or f"exit status {status}"
                if value is None:
                    outcome.problem = f"the batch broke ({whole}) before this case had a result"
                    outcomes.append(outcome)
                    continue
            if value is None:
                outcome.problem = f"no valid result line {index + 1} in {results_path.name}"
            elif value.get("id") != call_id:
                outcome.problem = f"result line {index + 1} has id {value.get('id')!r}"
            elif value.get("status") == "accepted" and isinstance(value.get("output"), dict):
                outcome.status, outcome.output = "accepted", value["output"]
            elif (
                value.get("status") == "rejected"
                and isinstance(value.get("error"), dict)
                and isinstance(value["error"].get("error"), str)
                and isinstance(value["error"].get("message"), str)
            ):
                outcome.status, outcome.error = "rejected", value["error"]
            else:
                outcome.problem = f"result line {index + 1} is not an accepted or rejected result"
            if outcome.status != "broken":
                outcome.stdout = json.dumps(value, ensure_ascii=False)[:_MAX_TEXT]
            outcomes.append(outcome)
        return outcomes
