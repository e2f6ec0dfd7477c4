"""Reports of a run: JSON (the record certificates point to), JUnit XML, and a static HTML page
with a feature matrix by profile and chapter."""

from __future__ import annotations

import datetime
import hashlib
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from ._about import SPEC_VERSION, SUITE_NAME, SUITE_VERSION
from .iut import PROTOCOL_VERSION
from .profiles import not_run
from .requirements import in_scope, load_requirements
from .runner import RunResult, TestResult, outcome_json, summary

__all__ = ["coverage", "report_json", "write_reports"]

_CHAPTERS = (
    "conventions",
    "units",
    "exchange",
    "receipts",
    "settlement",
    "federation",
    "entitlements",
)


def coverage(profile: str, results: Sequence[TestResult]) -> dict[str, Any]:
    """Share of the profile's MUST requirements exercised by its tests, and those without."""
    requirements = load_requirements()
    scope = sorted(
        rid for rid, req in requirements.items() if req.level == "MUST" and in_scope(profile, rid)
    )
    exercised = {
        rid
        for result in results
        if result.case.profile == profile
        for rid in result.case.requirements
    }
    covered = [rid for rid in scope if rid in exercised]
    share = f"{len(covered) / len(scope):.2f}" if scope else "1.00"
    return {
        "must_in_scope": len(scope),
        "must_exercised": len(covered),
        "share": share,
        "without_test": [rid for rid in scope if rid not in exercised],
    }


def _test_json(result: TestResult) -> dict[str, Any]:
    case = result.case
    failed = result.result in {"failed", "xfailed", "xpassed"} and bool(result.problems)
    body: dict[str, Any] = {
        "id": case.id,
        "profile": case.profile,
        "result": result.result,
        "required": result.required,
        "requirements": list(case.requirements),
        "reason": case.reason,
        "source": case.source,
    }
    if case.optional_feature is not None:
        body["optional_feature"] = case.optional_feature
    if result.problems:
        body["problems"] = result.problems
    if result.xfail_reason is not None:
        body["xfail_reason"] = result.xfail_reason
    body["calls"] = [
        {
            "op": call.op,
            "expected": call.expect.to_json(),
            "outcome": outcome_json(outcome, full=failed),
        }
        for call, outcome in zip(case.calls, result.outcomes, strict=True)
    ]
    if result.replay:
        body["replay"] = result.replay
    if result.exchanges:
        body["exchanges"] = result.exchanges
    return body


def report_json(run: RunResult) -> dict[str, Any]:
    """The JSON report."""
    by_profile = {
        profile: [t for t in run.tests if t.case.profile == profile] for profile in run.profiles
    }
    return {
        "suite": {"name": SUITE_NAME, "version": SUITE_VERSION, "protocol": PROTOCOL_VERSION},
        "spec_version": SPEC_VERSION,
        "iut": {
            "name": run.info.name,
            "version": run.info.version,
            "spec_version": run.info.spec_version,
            "profiles": list(run.info.profiles),
            "operations": list(run.info.operations),
            "batch": run.info.batch,
        },
        "adapter": run.adapter,
        "profiles": run.profiles,
        "seed": run.seed,
        "replay": f"--seed {run.seed}",
        "mode": run.mode,
        **({"live": run.info.raw} if run.mode == "live" else {}),
        "selection": run.selection,
        "started": datetime.datetime.fromtimestamp(run.started, datetime.UTC).isoformat(),
        "duration_ms": round(run.duration * 1000),
        "summary": {
            profile: {
                **summary(tests),
                "required_failed": sum(1 for t in tests if t.required and t.result == "failed"),
                "coverage": coverage(profile, tests),
            }
            for profile, tests in by_profile.items()
        },
        "xfail_errors": run.xfail_errors,
        "not_run": [{"source": source, "reason": reason} for source, reason in not_run().items()],
        "tests": [_test_json(result) for result in run.tests],
    }


def _junit(run: RunResult) -> bytes:
    root = ET.Element("testsuites", name=SUITE_NAME)
    for profile in run.profiles:
        tests = [t for t in run.tests if t.case.profile == profile]
        counts = summary(tests)
        suite = ET.SubElement(
            root,
            "testsuite",
            name=profile,
            tests=str(counts["total"]),
            failures=str(counts["failed"] + counts["xpassed"]),
            skipped=str(counts["xfailed"]),
        )
        properties = ET.SubElement(suite, "properties")
        for name, value in (
            ("suite_version", SUITE_VERSION),
            ("spec_version", SPEC_VERSION),
            ("iut", f"{run.info.name} {run.info.version}"),
            ("seed", str(run.seed)),
        ):
            ET.SubElement(properties, "property", name=name, value=value)
        for test in tests:
            classname, _, name = test.case.id.rpartition("/")
            element = ET.SubElement(suite, "testcase", classname=classname, name=name)
            text = "\n".join(
                [
                    test.case.reason,
                    "requirements: " + ", ".join(test.case.requirements),
                    *test.problems,
                    *(f"replay: {command}" for command in test.replay),
                    *(f"http: {line}" for line in test.exchanges),
                ]
            )
            if test.result in {"failed", "xpassed"}:
                message = test.problems[0] if test.problems else "passed unexpectedly"
                ET.SubElement(element, "failure", message=message).text = text
            elif test.result == "xfailed":
                ET.SubElement(element, "skipped", message=f"expected failure: {test.xfail_reason}")
    return bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _chapter_of(rid: str) -> str | None:
    requirement = load_requirements().get(rid)
    return requirement.chapter if requirement else None


def _html(run: RunResult, report: dict[str, Any]) -> str:
    e = html.escape
    requirements = load_requirements()
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(SUITE_NAME)} report: {e(run.info.name)} {e(run.info.version)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:75em}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;"
        "text-align:left;vertical-align:top}.pass{background:#dff5df}.fail{background:#f8d7d7}"
        ".none{color:#888}.part{background:#fff3cd}code{font-size:90%}pre{white-space:pre-wrap;"
        "background:#f6f6f6;padding:.5em}</style></head><body>",
        f"<h1>Conformance report: {e(run.info.name)} {e(run.info.version)}</h1>",
        "<p id='verdict'></p>",
        "<table id='about'>",
    ]
    about = [
        ("Suite", f"{SUITE_NAME} {SUITE_VERSION} (adapter protocol {PROTOCOL_VERSION})"),
        ("Specification", f"tokenfed {SPEC_VERSION}"),
        ("Implementation", f"{run.info.name} {run.info.version} (spec {run.info.spec_version})"),
        ("Adapter", " ".join(run.adapter)),
        ("Seed", f"{run.seed} (replay with --seed {run.seed})"),
        ("Mode", run.mode),
        ("Selection", run.selection or "all tests"),
        ("Started", report["started"]),
        ("Duration", f"{report['duration_ms']} ms"),
    ]
    parts += [f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in about]
    parts.append("</table>")
    # Summary per profile.
    parts.append(
        "<h2>Profiles</h2><table id='profiles'><tr><th>Profile</th><th>Tests</th>"
        "<th>Passed</th><th>Failed</th><th>Expected failures</th>"
        "<th>MUST requirements exercised</th></tr>"
    )
    for profile, counts in report["summary"].items():
        cov = counts["coverage"]
        css = "pass" if counts["failed"] == 0 and counts["xpassed"] == 0 else "fail"
        parts.append(
            f"<tr class='{css}'><td>{e(profile)}</td><td>{counts['total']}</td>"
            f"<td>{counts['passed']}</td><td>{counts['failed']}</td><td>{counts['xfailed']}</td>"
            f"<td>{cov['must_exercised']} of {cov['must_in_scope']} ({e(cov['share'])})</td></tr>"
        )
    parts.append("</table>")
    # Feature matrix: chapter x profile.
    parts.append(
        "<h2>Feature matrix</h2><p>Tests passed / tests run, by the chapter of the "
        "requirements they check and by profile.</p><table id='matrix'><tr><th>Chapter</th>"
    )
    parts += [f"<th>{e(p)}</th>" for p in run.profiles]
    parts.append("</tr>")
    for chapter in _CHAPTERS:
        parts.append(f"<tr><th>{e(chapter)}</th>")
        for profile in run.profiles:
            tests = [
                t
                for t in run.tests
                if t.case.profile == profile
                and any(_chapter_of(rid) == chapter for rid in t.case.requirements)
            ]
            passed = sum(1 for t in tests if t.result in {"passed", "xfailed"})
            if not tests:
                parts.append("<td class='none'>-</td>")
            else:
                css = "pass" if passed == len(tests) else "fail" if passed == 0 else "part"
                parts.append(f"<td class='{css}'>{passed} / {len(tests)}</td>")
        parts.append("</tr>")
    parts.append("</table>")
    # Requirements.
    parts.append(
        "<h2>Requirements</h2><table id='requirements'><tr><th>Requirement</th>"
        "<th>Chapter</th><th>Level</th><th>Tests</th><th>Status</th></tr>"
    )
    for rid, req in sorted(requirements.items()):
        tests = [t for t in run.tests if rid in t.case.requirements]
        if not tests and not any(in_scope(p, rid) for p in run.profiles):
            continue
        if not tests:
            status, css = "no test", "none"
        elif all(t.result in {"passed", "xfailed"} for t in tests):
            status, css = "passed", "pass"
        else:
            status, css = "FAILED", "fail"
        parts.append(
            f"<tr class='{css}'><td>{e(rid)}</td><td>{e(req.chapter)}</td><td>{e(req.level)}</td>"
            f"<td>{len(tests)}</td>"
            f"<td>{status}</td></tr>"
        )
    parts.append("</table>")
    if run.xfail_errors:
        parts.append("<h2>Expected-failure errors</h2><ul>")
        parts += [f"<li>{e(error)}</li>" for error in run.xfail_errors]
        parts.append("</ul>")
    failures = [t for t in run.tests if t.result in {"failed", "xpassed"}]
    parts.append(f"<h2>Failures ({len(failures)})</h2>")
    for test in failures:
        parts.append(
            f"<details class='failure'><summary><code>{e(test.case.id)}</code>: "
            f"{e(test.problems[0] if test.problems else 'passed unexpectedly')}</summary>"
            f"<p>{e(test.case.reason)}</p>"
            f"<p>Requirements: {e(', '.join(test.case.requirements))} &middot; "
            f"source: {e(test.case.source)}</p><pre>{e(chr(10).join(test.problems))}</pre>"
        )
        for command in test.replay:
            parts.append(f"<p>Replay:</p><pre>{e(command)}</pre>")
        if test.exchanges:
            parts.append(f"<p>HTTP exchanges:</p><pre>{e(chr(10).join(test.exchanges))}</pre>")
        parts.append("</details>")
    skipped = not_run()
    if skipped:
        parts.append("<h2>Vectors not run</h2><ul>")
        parts += [f"<li><code>{e(s)}</code>: {e(r)}</li>" for s, r in skipped.items()]
        parts.append("</ul>")
    # The page reads fully without scripts; this one only writes the verdict line at the top.
    parts.append(
        "<script>(function(){var n=document.querySelectorAll('details.failure').length;"
        "document.getElementById('verdict').textContent=n?n+' failing tests: see Failures.'"
        ":'All tests passed.';document.body.setAttribute('data-rendered','yes');})();</script>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_reports(run: RunResult, folder: Path) -> tuple[Path, str]:
    """Write ``report.json``, ``junit.xml`` and ``report.html``; return the JSON report's
    path and digest (what a certificate names)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = report_json(run)
    data = (json.dumps(report, ensure_ascii=False, indent=1) + "\n").encode("utf-8")
    path = folder / "report.json"
    path.write_bytes(data)
    (folder / "junit.xml").write_bytes(_junit(run))
    (folder / "report.html").write_text(_html(run, report), encoding="utf-8")
    return path, "sha256:" + hashlib.sha256(data).hexdigest()
