"""Tests as data: a case is one or more operation calls with their expected results.

A case names its profile, the requirement IDs it checks, why the expected result is what it is,
and where it comes from (a spec vector, or the seeded generator). Judging a case needs nothing
but the outcomes the implementation produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Call", "Case", "Check", "Expect", "Outcome", "judge"]


@dataclass
class Outcome:
    """What one call of the implementation produced (PROTOCOL.md section 3)."""

    status: str  # "accepted", "rejected" or "broken"
    output: Any = None
    error: dict[str, Any] | None = None
    problem: str | None = None
    command: list[str] = field(default_factory=list)
    input_files: list[str] = field(default_factory=list)
    exit_status: int | None = None
    stdout: str = ""
    stderr: str = ""

    def summary(self) -> str:
        """One line: accepted, rejected with a code, or broken and why."""
        if self.status == "rejected" and self.error is not None:
            return f"rejected with {self.error.get('error')!r}"
        if self.status == "broken":
            return f"broken ({self.problem})"
        return "accepted"


Check = Callable[[Any, Sequence[Outcome]], list[str]]
"""A check looks at the output of its call and at the outcomes of the case's earlier calls, and
returns the problems it found (empty when the output is right)."""


@dataclass(frozen=True)
class Expect:
    """The expected result of one call: a rejection code, or an output (and checks)."""

    error: str | None = None
    output: dict[str, Any] | None = None
    checks: tuple[Check, ...] = ()
    check_description: str = ""

    def to_json(self) -> dict[str, Any]:
        """The expectation as shown in reports."""
        if self.error is not None:
            return {"rejected_with": self.error}
        body: dict[str, Any] = {"accepted": True}
        if self.output is not None:
            body["output"] = self.output
        if self.check_description:
            body["checks"] = self.check_description
        return body


@dataclass(frozen=True)
class Call:
    """One operation call: the op, its input, and files written next to it.

    ``files`` maps an input member to a (file name, content) pair: the suite writes the content
    into the call's folder and puts the absolute path in that member.
    """

    op: str
    input: dict[str, Any]
    expect: Expect
    files: tuple[tuple[str, str, bytes], ...] = ()


@dataclass(frozen=True)
class Case:
    """One conformance test.

    ``optional_feature`` names the MAY requirement whose feature the test needs (for example
    REC-064, whole-batch verification): an implementation without the feature may list the test
    as an expected failure even when the test also checks MUST requirements of that feature.
    """

    id: str
    profile: str
    requirements: tuple[str, ...]
    reason: str
    calls: tuple[Call, ...]
    source: str
    optional_feature: str | None = None

    @property
    def ops(self) -> list[str]:
        """The operations the case calls."""
        return sorted({call.op for call in self.calls})


def _compare(expected: Any, actual: Any, path: str, problems: list[str]) -> None:
    """Exact JSON comparison; members of ``actual`` not in ``expected`` are ignored at the top
    level only (the protocol defines every member of nested values)."""
    if type(expected) is not type(actual) or (
        not isinstance(expected, dict | list) and expected != actual
    ):
        problems.append(f"{path}: expected {expected!r}, got {actual!r}")
        return
    if isinstance(expected, dict):
        for name, value in expected.items():
            if name not in actual:
                problems.append(f"{path}.{name}: missing (expected {value!r})")
            else:
                _compare(value, actual[name], f"{path}.{name}", problems)
        extra = sorted(set(actual) - set(expected))
        if extra and path != "output":
            problems.append(f"{path}: unexpected members {extra}")
    elif isinstance(expected, list):
        if len(expected) != len(actual):
            problems.append(f"{path}: expected {len(expected)} elements, got {len(actual)}")
            return
        for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
            _compare(want, got, f"{path}[{index}]", problems)


def judge(case: Case, outcomes: Sequence[Outcome]) -> list[str]:
    """The problems of a case's outcomes (empty: the case passed)."""
    problems: list[str] = []
    for index, (call, outcome) in enumerate(zip(case.calls, outcomes, strict=True)):
        label = f"call {index + 1} ({call.op})" if len(case.calls) > 1 else call.op
        expect = call.expect
        if outcome.status == "broken":
            problems.append(f"{label}: the implementation broke: {outcome.problem}")
            continue
        if expect.error is not None:
            if outcome.status != "rejected" or outcome.error is None:
                problems.append(f"{label}: expected rejection with {expect.error!r}, got accepted")
            elif outcome.error.get("error") != expect.error:
                problems.append(
                    f"{label}: expected rejection with {expect.error!r}, "
                    f"got {outcome.error.get('error')!r}"
                )
            continue
        if outcome.status != "accepted":
            problems.append(f"{label}: expected acceptance, got {outcome.summary()}")
            continue
        found: list[str] = []
        if expect.output is not None:
            _compare(expect.output, outcome.output, "output", found)
        if not found:
            for check in expect.checks:
                try:
                    found += check(outcome.output, outcomes[:index])
                except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
                    # An output of an unexpected shape is the implementation's failure, never
                    # a crash of the suite.
                    found.append(f"the output has an unexpected shape ({exc!r})")
        problems += [f"{label}: {problem}" for problem in found]
    return problems
