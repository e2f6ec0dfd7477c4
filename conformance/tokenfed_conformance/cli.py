"""The ``tokenfed-conformance`` command: ``run``, ``list``, ``certify``, ``verify-cert``.

Exit status: 0 success; 1 a test failed, an expected failure was wrong, or a certificate could
not be issued or verified; 2 a bad command line or an unusable adapter. Errors are printed on
standard error as ``{"error": code, "message": text}``.
"""

from __future__ import annotations

import argparse
import json
import secrets
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from ._about import SPEC_VERSION, SUITE_NAME, SUITE_VERSION
from .certificate import CertificateError, certify, load_json_file, verify_certificate
from .iut import Adapter, AdapterError
from .live import DEFAULT_PORT, LIVE_PROFILES, LiveError, kit, run_live
from .profiles import PROFILES, build_cases
from .profiles.federation import OP_POLICY, POLICY_FEATURE
from .report import coverage, write_reports
from .runner import RunResult, is_required, run_cases, summary
from .selection import SelectionError, matches
from .xfail import XfailError, load_xfails

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        _fail("invalid_arguments", f"{message} (see {self.prog} --help)", 2)


def _fail(code: str, message: str, status: int) -> NoReturn:
    sys.stderr.write(json.dumps({"error": code, "message": message}, ensure_ascii=False) + "\n")
    raise SystemExit(status)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=SUITE_NAME,
        description=f"Conformance suite for tokenfed {SPEC_VERSION} implementations "
        "(adapter protocol: conformance/PROTOCOL.md).",
    )
    parser.add_argument("--version", action="version", version=f"{SUITE_NAME} {SUITE_VERSION}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    profiles = sorted(PROFILES)

    run = commands.add_parser(
        "run", help="run profiles against an implementation's adapter, or a node over HTTP"
    )
    target = run.add_mutually_exclusive_group(required=True)
    target.add_argument("--adapter", help="the adapter command (a shell word list)")
    target.add_argument(
        "--live", metavar="BASE_URL", help="check a running node over HTTP (PROTOCOL.md 9)"
    )
    run.add_argument("--entity-id", help="live: the node's entity id (default: BASE_URL)")
    run.add_argument(
        "--anchor-keys", type=Path, help="live: JWKS file of an anchor's pinned federation keys"
    )
    run.add_argument(
        "--loopback",
        action="store_true",
        help="live: loopback test mode (http on 127.0.0.1; the suite's own federation)",
    )
    run.add_argument(
        "--suite-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"live: port of the suite's anchor; its operator uses the next ({DEFAULT_PORT})",
    )
    run.add_argument("--profile", action="append", required=True, choices=[*profiles, "all"])
    run.add_argument("-k", dest="select", help="select tests by id substrings (and, or, not)")
    run.add_argument("--xfail", type=Path, help="the implementation's expected-failure file")
    run.add_argument("--seed", type=int, help="seed of the generated cases (default: random)")
    run.add_argument("--report", type=Path, required=True, help="folder for the reports")
    run.add_argument("--per-call", action="store_true", help="one process per call")
    run.add_argument("--timeout", type=float, default=30.0, help="seconds per call (30)")

    listing = commands.add_parser("list", help="list the tests of profiles")
    listing.add_argument("--profile", action="append", choices=[*profiles, "all"])
    listing.add_argument("-k", dest="select")
    listing.add_argument("--seed", type=int, default=0)
    listing.add_argument("--json", action="store_true", help="one JSON object per test")

    cert = commands.add_parser("certify", help="sign a certificate for a passed profile")
    cert.add_argument("--report", type=Path, required=True, help="report folder or report.json")
    cert.add_argument("--profile", required=True, choices=profiles)
    cert.add_argument("--key", type=Path, required=True, help="the certifying body's private JWK")
    cert.add_argument("--iss", required=True, help="the certifying body's entity id")
    cert.add_argument("--sub", required=True, help="the certified entity's id")
    cert.add_argument("--lifetime-days", type=int, default=365)
    cert.add_argument("--out", type=Path, help="write the certificate here (default: stdout)")

    live_kit = commands.add_parser(
        "live-kit", help="what a provider node needs to join the suite's loopback federation"
    )
    live_kit.add_argument("--suite-port", type=int, default=DEFAULT_PORT)

    check = commands.add_parser("verify-cert", help="verify a certificate")
    check.add_argument("certificate", type=Path)
    check.add_argument("--key", type=Path, required=True, help="public JWK, JWKS or trust store")
    check.add_argument("--report", type=Path, help="also check the report's digest")
    check.add_argument("--now", type=int, help="verification time (default: now)")
    return parser


def _profiles(chosen: Sequence[str] | None) -> list[str]:
    if not chosen or "all" in chosen:
        return list(PROFILES)
    return list(dict.fromkeys(chosen))


def _cases(profiles: list[str], seed: int) -> list[Any]:
    return [case for profile in profiles for case in build_cases(profile, seed)]


def _run(args: argparse.Namespace) -> int:
    if args.live is not None:
        return _run_live(args)
    if args.entity_id or args.anchor_keys or args.loopback:
        _fail("invalid_arguments", "--entity-id, --anchor-keys and --loopback go with --live", 2)
    profiles = _profiles(args.profile)
    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    print(f"{SUITE_NAME} {SUITE_VERSION}: seed {seed} (replay with --seed {seed})", file=sys.stderr)
    xfails = {}
    if args.xfail is not None:
        try:
            xfails = load_xfails(args.xfail)
        except XfailError as exc:
            _fail("invalid_arguments", str(exc), 2)
    adapter = Adapter(args.adapter, timeout=args.timeout)
    workdir = (args.report / "work").resolve()
    try:
        info = adapter.info(workdir)
    except AdapterError as exc:
        _fail("adapter_unusable", str(exc), 2)
    all_cases = _cases(profiles, seed)
    try:
        cases = [case for case in all_cases if matches(args.select, case.id)]
    except SelectionError as exc:
        _fail("invalid_arguments", str(exc), 2)
    offered = set(info.operations)
    optional_ops = {POLICY_FEATURE: OP_POLICY}
    skipped = [
        c
        for c in cases
        if c.optional_feature in optional_ops and optional_ops[c.optional_feature] not in offered
    ]
    if skipped:
        print(
            f"  note: {len(skipped)} metadata-policy tests not run: the adapter does not offer "
            f"{OP_POLICY}",
            file=sys.stderr,
        )
        cases = [c for c in cases if c not in skipped]
    if not cases:
        _fail("invalid_arguments", f"-k {args.select!r} selects no test", 2)
    per_call = args.per_call or len(cases) == 1 or not info.batch
    started = time.time()
    results, errors = run_cases(
        adapter,
        info,
        cases,
        workdir=workdir,
        per_call=per_call,
        xfails=xfails,
        # An expected failure may name a test of a profile not run now (one file serves every
        # profile of an implementation): it is checked against every test of the suite.
        all_cases={
            case.id: case for case in (_cases(list(PROFILES), seed) if xfails else all_cases)
        },
    )
    run = RunResult(
        info=info,
        adapter=adapter.argv,
        profiles=profiles,
        seed=seed,
        mode="per-call" if per_call else "batch",
        selection=args.select,
        tests=results,
        xfail_errors=errors,
        started=started,
        duration=time.time() - started,
    )
    return _finish(run, args.report, profiles, results, errors)


def _finish(
    run: RunResult,
    report: Path,
    profiles: list[str],
    results: list[Any],
    errors: list[str],
) -> int:
    path, digest = write_reports(run, report)
    failed = 0
    for profile in profiles:
        tests = [t for t in results if t.case.profile == profile]
        counts = summary(tests)
        cov = coverage(profile, tests)
        failed += counts["failed"] + counts["xpassed"]
        print(
            f"{profile}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['xfailed']} expected failures of {counts['total']}; MUST requirements "
            f"exercised {cov['must_exercised']}/{cov['must_in_scope']}",
            file=sys.stderr,
        )
        for test in tests:
            if test.result in {"failed", "xpassed"}:
                first = test.problems[0] if test.problems else "passed unexpectedly"
                print(f"  FAILED {test.case.id}: {first}", file=sys.stderr)
    for error in errors:
        print(f"  XFAIL ERROR {error}", file=sys.stderr)
    print(f"report: {path} ({digest}); seed {run.seed}", file=sys.stderr)
    return 1 if failed or errors else 0


def _run_live(args: argparse.Namespace) -> int:
    profiles = _profiles(args.profile)
    if "all" in (args.profile or []):
        profiles = list(LIVE_PROFILES)
    outside = [p for p in profiles if p not in LIVE_PROFILES]
    if outside:
        _fail(
            "invalid_arguments",
            f"live mode runs the profiles {', '.join(LIVE_PROFILES)}, not {', '.join(outside)}",
            2,
        )
    if args.xfail is not None or args.per_call or args.seed is not None:
        _fail("invalid_arguments", "--xfail, --per-call and --seed do not apply to --live", 2)
    anchor_keys = None
    if args.anchor_keys is not None:
        try:
            anchor_keys = load_json_file(args.anchor_keys)
        except CertificateError as exc:
            _fail("invalid_arguments", f"--anchor-keys: {exc.message}", 2)
    started = time.time()
    try:
        info, results, notes = run_live(
            args.live,
            profiles=profiles,
            entity_id=args.entity_id,
            anchor_keys=anchor_keys,
            loopback=args.loopback,
            suite_port=args.suite_port,
            select=args.select,
            timeout=args.timeout if args.timeout != 30.0 else 10.0,
        )
    except (LiveError, ValueError) as exc:
        _fail("invalid_arguments", str(exc), 2)
    except SelectionError as exc:
        _fail("invalid_arguments", str(exc), 2)
    print(f"{SUITE_NAME} {SUITE_VERSION}: live {info.name} at {args.live}", file=sys.stderr)
    for note in notes:
        print(f"  note: {note}", file=sys.stderr)
    if not results:
        _fail("invalid_arguments", "no live check applies to this node and selection", 2)
    run = RunResult(
        info=info,
        adapter=["live", args.live],
        profiles=profiles,
        seed=0,
        mode="live",
        selection=args.select,
        tests=results,
        xfail_errors=[],
        started=started,
        duration=time.time() - started,
    )
    return _finish(run, args.report, profiles, results, [])


def _live_kit(args: argparse.Namespace) -> int:
    print(json.dumps(kit(args.suite_port), indent=1))
    return 0


def _list(args: argparse.Namespace) -> int:
    try:
        cases = [
            c for c in _cases(_profiles(args.profile), args.seed) if matches(args.select, c.id)
        ]
    except SelectionError as exc:
        _fail("invalid_arguments", str(exc), 2)
    for case in cases:
        if args.json:
            body = {
                "id": case.id,
                "profile": case.profile,
                "required": is_required(case),
                "requirements": list(case.requirements),
                "ops": case.ops,
                "reason": case.reason,
                "source": case.source,
            }
            print(json.dumps(body, ensure_ascii=False))
        else:
            print(f"{case.id}  [{', '.join(case.requirements)}]  {case.reason}")
    return 0


def _certify(args: argparse.Namespace) -> int:
    report = args.report / "report.json" if args.report.is_dir() else args.report
    try:
        key = load_json_file(args.key)
        token = certify(
            report,
            key,
            iss=args.iss,
            sub=args.sub,
            profile=args.profile,
            now=int(time.time()),
            lifetime=args.lifetime_days * 86400,
        )
    except CertificateError as exc:
        _fail(exc.code, exc.message, 1)
    if args.out is not None:
        args.out.write_text(token + "\n", encoding="ascii")
    else:
        print(token)
    return 0


def _verify_cert(args: argparse.Namespace) -> int:
    try:
        token = args.certificate.read_text(encoding="ascii")
        trust = load_json_file(args.key)
        claims = verify_certificate(
            token,
            trust,
            now=args.now if args.now is not None else int(time.time()),
            report_path=args.report,
        )
    except (OSError, UnicodeDecodeError) as exc:
        _fail("malformed", f"cannot read {args.certificate}: {exc}", 1)
    except CertificateError as exc:
        _fail(exc.code, exc.message, 1)
    print(json.dumps(claims, ensure_ascii=False, indent=1))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tokenfed-conformance``."""
    args = _parser().parse_args(argv)
    handlers = {
        "run": _run,
        "list": _list,
        "certify": _certify,
        "verify-cert": _verify_cert,
        "live-kit": _live_kit,
    }
    return handlers[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
