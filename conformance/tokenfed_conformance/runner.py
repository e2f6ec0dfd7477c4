"""Running a profile against an implementation and judging every case."""

from __future__ import annotations

import json
import re
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from .cases import Call, Case, Outcome, judge
from .iut import Adapter, Info, write_input
from .requirements import load_requirements
from .xfail import XfailEntry

__all__ = ["RunResult", "TestResult", "is_required", "run_cases"]

_BATCH_CHUNK = 400
_MAX_RESTARTS = 10
_BATCH_BROKE = "the batch broke"


def is_required(case: Case) -> bool:
    """A test is required unless every requirement it checks is a SHOULD or a MAY, or it needs
    an optional feature (a MAY requirement) the implementation may leave out."""
    if case.optional_feature is not None:
        return False
    known = load_requirements()
    return any(
        rid not in known or known[rid].level in {"MUST", "DEFINITION"} for rid in case.requirements
    )


@dataclass
class TestResult:
    """The verdict on one case."""

    case: Case
    result: str  # passed, failed, xfailed, xpassed
    problems: list[str]
    outcomes: list[Outcome]
    required: bool
    xfail_reason: str | None = None
    replay: list[str] = field(default_factory=list)
    exchanges: list[str] = field(default_factory=list)  # live mode: the HTTP requests made


@dataclass
class RunResult:
    """Everything a report needs."""

    info: Info
    adapter: list[str]
    profiles: list[str]
    seed: int
    mode: str
    selection: str | None
    tests: list[TestResult]
    xfail_errors: list[str]
    started: float
    duration: float


class _Progress:
    """A one-line progress bar on a terminal; silent otherwise."""

    def __init__(self, total: int, label: str, stream: TextIO | None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.stream = stream if stream is not None and stream.isatty() else None

    def advance(self, count: int = 1) -> None:
        self.done += count
        if self.stream is not None:
            width = 30
            filled = width * self.done // max(self.total, 1)
            self.stream.write(
                f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
            )
            self.stream.flush()

    def close(self) -> None:
        if self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


def _not_implemented(case: Case, info: Info) -> list[Outcome] | None:
    missing = [op for op in case.ops if op not in info.operations]
    if not missing:
        return None
    problem = f"operation {', '.join(missing)} not implemented (not listed by info)"
    return [Outcome(status="broken", problem=problem) for _ in case.calls]


def _batch(
    adapter: Adapter, calls: list[tuple[str, Call]], folder: Path, restarts: int
) -> list[Outcome]:
    """Batch mode that survives a crash: when the batch breaks at a case, that case runs again
    on its own (per-call) and the cases after it in a new batch, so that one crash does not hide
    every later result. After ``restarts`` crashes the remaining cases stay broken."""
    outcomes = adapter.batch(calls, folder)
    first = next(
        (i for i, o in enumerate(outcomes) if (o.problem or "").startswith(_BATCH_BROKE)), None
    )
    if first is None or restarts == 0:
        return outcomes
    outcomes[first] = adapter.call(calls[first][1], folder / "isolated", f"case-{first}")
    if first + 1 < len(calls):
        outcomes[first + 1 :] = _batch(
            adapter, calls[first + 1 :], folder / f"after-{first}", restarts - 1
        )
    return outcomes


def _replay_files(adapter: Adapter, case: Case, folder: Path) -> list[str]:
    """Per-call commands that replay a failed case's calls one by one."""
    commands = []
    for index, call in enumerate(case.calls, start=1):
        data, _files = write_input(call, folder, f"call-{index}")
        path = (folder / f"call-{index}.json").resolve()
        path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
        commands.append(shlex.join([*adapter.argv, call.op, str(path)]))
    return commands


def run_cases(
    adapter: Adapter,
    info: Info,
    cases: Sequence[Case],
    *,
    workdir: Path,
    per_call: bool,
    xfails: dict[str, XfailEntry],
    all_cases: dict[str, Case],
    progress: TextIO | None = sys.stderr,
) -> tuple[list[TestResult], list[str]]:
    """Run ``cases`` and judge them; returns the results and the expected-failure errors."""
    outcomes: dict[str, list[Outcome]] = {}
    runnable = []
    for case in cases:
        skipped = _not_implemented(case, info)
        if skipped is not None:
            outcomes[case.id] = skipped
        else:
            runnable.append(case)
    bar = _Progress(len(cases), "running", progress)
    bar.advance(len(cases) - len(runnable))
    if per_call or not info.batch:
        for case in runnable:
            folder = workdir / _safe(case.id)
            outcomes[case.id] = [
                adapter.call(call, folder, f"call-{index}")
                for index, call in enumerate(case.calls, start=1)
            ]
            bar.advance()
    else:
        chunk: list[Case] = []
        chunks: list[list[Case]] = []
        size = 0
        for case in runnable:
            chunk.append(case)
            size += len(case.calls)
            if size >= _BATCH_CHUNK:
                chunks.append(chunk)
                chunk, size = [], 0
        if chunk:
            chunks.append(chunk)
        for number, group in enumerate(chunks, start=1):
            calls = [
                (f"{case.id}#{index}", call)
                for case in group
                for index, call in enumerate(case.calls, start=1)
            ]
            answers = iter(_batch(adapter, calls, workdir / f"batch-{number}", _MAX_RESTARTS))
            for case in group:
                outcomes[case.id] = [next(answers) for _ in case.calls]
            bar.advance(len(group))
    bar.close()
    results = []
    for case in cases:
        problems = judge(case, outcomes[case.id])
        required = is_required(case)
        entry = xfails.get(case.id)
        if entry is not None and not required:
            result = "xpassed" if not problems else "xfailed"
        else:
            result = "failed" if problems else "passed"
        tested = TestResult(
            case, result, problems, outcomes[case.id], required, entry.reason if entry else None
        )
        if problems:
            tested.replay = _replay_files(adapter, case, workdir / "failed" / _safe(case.id))
        results.append(tested)
    errors = []
    by_id = {result.case.id: result for result in results}
    run_profiles = {case.profile for case in cases}
    for test_id, entry in xfails.items():
        if test_id in all_cases and all_cases[test_id].profile not in run_profiles:
            continue  # a test of a profile not run now: nothing to judge
        if test_id not in all_cases:
            errors.append(f"xfail line {entry.line}: {test_id} names no test of this suite")
        elif is_required(all_cases[test_id]):
            errors.append(
                f"xfail line {entry.line}: {test_id} checks a MUST requirement; only SHOULD and "
                "MAY tests may be expected to fail"
            )
        elif test_id in by_id and by_id[test_id].result == "xpassed":
            errors.append(f"xfail line {entry.line}: {test_id} passed unexpectedly")
    return results, errors


def summary(results: Sequence[TestResult]) -> dict[str, int]:
    """Counts by result."""
    counts = {"total": len(results), "passed": 0, "failed": 0, "xfailed": 0, "xpassed": 0}
    for result in results:
        counts[result.result] += 1
    return counts


def report_started() -> float:
    """The wall-clock start of a run."""
    return time.time()


def outcome_json(outcome: Outcome, *, full: bool) -> dict[str, Any]:
    """An outcome for the JSON report; ``full`` adds the command and its output."""
    body: dict[str, Any] = {"status": outcome.status}
    if outcome.status == "rejected":
        body["error"] = outcome.error
    if outcome.status == "broken":
        body["problem"] = outcome.problem
    if full:
        body.update(
            command=outcome.command,
            input_files=outcome.input_files,
            exit_status=outcome.exit_status,
            stdout=outcome.stdout,
            stderr=outcome.stderr,
        )
        if outcome.status == "accepted":
            body["output"] = outcome.output
    return body
