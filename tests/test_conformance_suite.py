"""The conformance suite run end to end: the SDK's adapter passes every test, each faulty adapter
fails the test aimed at its fault, and the suite's machinery (selection, expected failures,
outcome classification, reports, certificates) behaves as PROTOCOL.md and the CLI promise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

ROOT = Path(__file__).resolve().parent.parent
ADAPTER = ROOT / "conformance" / "adapters" / "tokenfed_adapter.py"
SEED = 20261201
PROFILES = (
    "units",
    "documents",
    "receipt-issuer",
    "receipt-verifier",
    "settlement",
    "federation-entity",
    "entitlements",
)

# Each fault of the SDK adapter, the profile that must catch it and one test that must fail.
FAULTS = {
    "skips-signature-check": ("documents", "documents/gen/rate-card-eddsa-tampered-payload"),
    "alg-none": ("documents", "documents/gen/rate-card-eddsa-alg-none"),
    "alg-from-header": ("documents", "documents/gen/rate-card-eddsa-alg-from-header"),
    "ignores-typ": ("documents", "documents/gen/rate-card-eddsa-typ-missing"),
    "ignores-crit": ("documents", "documents/gen/rate-card-eddsa-crit"),
    "last-duplicate-wins": ("documents", "documents/gen/rate-card-eddsa-duplicate-member"),
    "non-canonical-base64url": (
        "documents",
        "documents/gen/rate-card-eddsa-b64-non-canonical-signature",
    ),
    "half-up-rounding": ("units", "units/gen/price-tie-half-even-0"),
    "round-per-line": ("units", "units/gen/price-round-once"),
    "float-arithmetic": ("units", "units/gen/price-exact-0"),
    "tier-at-or-above": ("units", "units/gen/price-tier-at-boundary"),
    "ignores-minimum": ("units", "units/gen/price-minimum"),
    "accepts-expired-rate-card": ("units", "units/gen/price-validity-at-exp"),
    "trusts-receipt-amount": ("receipt-verifier", "receipt-verifier/gen/amount-not-the-price"),
    "ignores-replay": ("receipt-verifier", "receipt-verifier/gen/replay-other-content"),
    "resubmission-is-replay": (
        "receipt-verifier",
        "receipt-verifier/gen/identical-resubmission",
    ),
    "key-outside-window": ("receipt-verifier", "receipt-verifier/gen/revoked-key-at-revocation"),
    "follows-jku": ("receipt-verifier", "receipt-verifier/gen/jku-attacker"),
    "merkle-wrong-index": (
        "receipt-verifier",
        "receipt-verifier/gen/batched-proof-for-other-index",
    ),
    "records-failed-batch-partly": (
        "receipt-verifier",
        "receipt-verifier/gen/failed-batch-records-nothing",
    ),
    "payload-not-jcs": ("receipt-issuer", "receipt-issuer/gen/stream-eddsa"),
    "es256-high-s": ("receipt-issuer", "receipt-issuer/gen/stream-es256"),
    "split-rounds-each-part": ("settlement", "settlement/gen/split-round-once"),
    "netting-drops-zero-positions": ("settlement", "settlement/gen/net-cycle-zero"),
    "statement-totals-unchecked": ("settlement", "settlement/gen/statement-0-totals-amount"),
    "usage-past-limit": ("entitlements", "entitlements/gen/usage-one-micro-over-eddsa"),
    "ignores-audience": ("entitlements", "entitlements/gen/wrong-audience-eddsa"),
    "ignores-scope": ("entitlements", "entitlements/gen/usage-out-of-scope-es256"),
    "skips-naming-constraints": (
        "federation-entity",
        "federation-entity/gen/naming-excluded-wins-es256",
    ),
    "pools-anchor-keys": (
        "federation-entity",
        "federation-entity/gen/anchor-keys-not-pooled-eddsa",
    ),
    "ignores-max-path-length": (
        "federation-entity",
        "federation-entity/gen/cross-anchor-max-path-length-es256",
    ),
}


def _suite(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenfed_conformance.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def _adapter(fault: str | None = None) -> str:
    command = [sys.executable, str(ADAPTER)]
    if fault is not None:
        command += ["--fault", fault]
    return " ".join(command)


def _run(report: Path, profile: str, *extra: str, adapter: str | None = None) -> dict[str, Any]:
    done = _suite(
        "run",
        "--adapter",
        adapter or _adapter(),
        "--profile",
        profile,
        "--seed",
        str(SEED),
        "--report",
        str(report),
        *extra,
    )
    assert done.returncode in {0, 1}, done.stderr
    result: dict[str, Any] = json.loads((report / "report.json").read_text(encoding="utf-8"))
    result["_returncode"] = done.returncode
    result["_stderr"] = done.stderr
    return result


@pytest.fixture(scope="module")
def sdk_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """One batch-mode run of each profile against the SDK's adapter (two at a time)."""
    base = tmp_path_factory.mktemp("sdk")

    def one(profile: str) -> tuple[str, tuple[Path, dict[str, Any]]]:
        folder = base / profile
        return profile, (folder, _run(folder, profile))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, PROFILES))


@pytest.mark.parametrize("profile", PROFILES)
def test_sdk_adapter_passes_every_test(
    sdk_reports: dict[str, tuple[Path, dict[str, Any]]], profile: str
) -> None:
    """The reference SDK passes every test of every profile, in batch mode."""
    _folder, report = sdk_reports[profile]
    failed = [t["id"] for t in report["tests"] if t["result"] != "passed"]
    assert not failed, f"{profile}: {failed}\n{report['_stderr']}"
    assert report["_returncode"] == 0
    assert report["mode"] == "batch"
    assert report["summary"][profile]["total"] == len(report["tests"]) > 10
    assert report["iut"]["name"] == "tokenfed-python"
    assert report["suite"]["protocol"] == "1"
    assert report["seed"] == SEED


def test_reports_name_versions_requirements_and_coverage(
    sdk_reports: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    """Each test names its requirements and reason; coverage lists MUSTs without a test; JUnit
    and HTML are written next to the JSON report."""
    folder, report = sdk_reports["units"]
    assert report["spec_version"] == "1.0"
    assert all(t["requirements"] and t["reason"] for t in report["tests"])
    coverage = report["summary"]["units"]["coverage"]
    assert coverage["must_exercised"] + len(coverage["without_test"]) == coverage["must_in_scope"]
    junit = ET.parse(folder / "junit.xml").getroot()
    suite = junit.find("testsuite")
    assert suite is not None and suite.get("tests") == str(len(report["tests"]))
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "id='matrix'" in page and "tokenfed-python" in page


@pytest.fixture(scope="module")
def fault_reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """Each faulty adapter against the profile that must catch it (two at a time)."""
    base = tmp_path_factory.mktemp("faults")

    def one(fault: str) -> tuple[str, dict[str, Any]]:
        profile, _test = FAULTS[fault]
        return fault, _run(base / fault, profile, adapter=_adapter(fault))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, FAULTS))


def test_every_fault_of_the_adapter_is_listed_here() -> None:
    """The table above covers every fault the adapter can inject."""
    done = subprocess.run(
        [sys.executable, str(ADAPTER), "--fault", "no-such-fault", "info"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    listed = subprocess.run(
        [sys.executable, str(ADAPTER), "faults"], capture_output=True, text=True, check=True
    )
    names = set(json.loads(listed.stdout))
    assert names == set(FAULTS)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faulty_adapter_is_caught(fault_reports: dict[str, dict[str, Any]], fault: str) -> None:
    """A named deviation fails at least one test, and the report names the test aimed at it."""
    report = fault_reports[fault]
    failed = {t["id"] for t in report["tests"] if t["result"] == "failed"}
    assert report["_returncode"] == 1
    assert FAULTS[fault][1] in failed, f"{fault}: failed {sorted(failed)}"
    entry = next(t for t in report["tests"] if t["id"] == FAULTS[fault][1])
    assert entry["problems"] and entry["replay"]
    outcome = entry["calls"][0]["outcome"]
    assert outcome["command"] and outcome["input_files"] and "exit_status" in outcome


def test_per_call_mode_for_one_selected_test(tmp_path: Path) -> None:
    """-k selecting one test runs it in per-call mode; the failure report holds the command."""
    report = _run(tmp_path, "units", "-k", "price-round-once", adapter=_adapter("round-per-line"))
    assert report["mode"] == "per-call"
    (test,) = report["tests"]
    assert test["result"] == "failed"
    outcome = test["calls"][0]["outcome"]
    assert outcome["command"][-2] == "price" and outcome["exit_status"] == 0
    assert Path(outcome["input_files"][0]).is_file()


def test_xfail_entry_for_a_must_test_is_an_error(tmp_path: Path) -> None:
    """Expected failures are allowed only for SHOULD/MAY tests."""
    xfails = tmp_path / "xfails"
    xfails.write_text("units/gen/price-round-once  # rounding is hard\n", encoding="utf-8")
    report = _run(
        tmp_path / "r",
        "units",
        "-k",
        "price-round-once",
        "--xfail",
        str(xfails),
        adapter=_adapter("round-per-line"),
    )
    assert report["_returncode"] == 1
    assert any("MUST" in error for error in report["xfail_errors"])


def test_xfail_for_a_may_test_that_passes_is_an_error(tmp_path: Path) -> None:
    """REC-064 (whole-batch verification) is a MAY: it may be listed, but an entry whose test
    passes, or that names no test, is an error."""
    xfails = tmp_path / "xfails"
    xfails.write_text(
        "receipt-verifier/gen/batch-whole  whole batches not supported\n"
        "receipt-verifier/gen/no-such-test\n",
        encoding="utf-8",
    )
    report = _run(tmp_path / "r", "receipt-verifier", "-k", "batch-whole", "--xfail", str(xfails))
    assert report["_returncode"] == 1
    errors = report["xfail_errors"]
    assert any("passed unexpectedly" in e for e in errors)
    assert any("names no test" in e for e in errors)


def test_xfail_for_an_optional_feature_that_fails_is_accepted(tmp_path: Path) -> None:
    """A test of an optional feature (whole-batch verification, REC-064) that fails may be
    listed, even though it also checks MUST requirements of that feature; a MUST test may not."""
    xfails = tmp_path / "xfails"
    xfails.write_text(
        "receipt-verifier/gen/failed-batch-records-nothing  no whole-batch verification\n"
        "receipt-verifier/gen/replay-other-content\n",
        encoding="utf-8",
    )
    report = _run(
        tmp_path / "r",
        "receipt-verifier",
        "-k",
        "failed-batch-records-nothing",
        "--xfail",
        str(xfails),
        adapter=_adapter("records-failed-batch-partly"),
    )
    (test,) = report["tests"]
    assert test["result"] == "xfailed" and test["optional_feature"] == "REC-064"
    assert report["xfail_errors"] == [
        "xfail line 2: receipt-verifier/gen/replay-other-content checks a MUST requirement; "
        "only SHOULD and MAY tests may be expected to fail"
    ]


BROKEN_ADAPTER = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "info":
        print(json.dumps({"protocol": "1", "name": "broken", "version": "0", "spec_version": "1.0",
                          "profiles": ["units"], "operations": ["price", "convert"],
                          "batch": False}))
        sys.exit(0)
    if sys.argv[1] == "price":
        sys.stderr.write("Traceback: something went wrong\\n")
        sys.exit(1)
    print("not json")
    sys.exit(0)
    """
)


def test_broken_outcomes_are_never_rejections(tmp_path: Path) -> None:
    """Exit 1 without the error object, output that is not JSON, and an operation the adapter
    does not list are all failures, even where a rejection is expected."""
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_ADAPTER, encoding="utf-8")
    report = _run(
        tmp_path / "r",
        "units",
        "-k",
        "price-validity-at-exp or convert-unknown-code or adapters/openai-chat-basic",
        adapter=f"{sys.executable} {script}",
    )
    problems = {t["id"].rsplit("/", 1)[1]: " ".join(t["problems"]) for t in report["tests"]}
    assert report["mode"] == "per-call"
    assert "standard error is not one" in problems["price-validity-at-exp"]
    assert "not one JSON object" in problems["convert-unknown-code"]
    assert "not implemented" in problems["openai-chat-basic"]


def test_adapter_of_another_protocol_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "old.py"
    script.write_text(
        'import json; print(json.dumps({"protocol": "0", "name": "x"}))', encoding="utf-8"
    )
    done = _suite(
        "run",
        "--adapter",
        f"{sys.executable} {script}",
        "--profile",
        "units",
        "--report",
        str(tmp_path / "r"),
    )
    assert done.returncode == 2
    assert json.loads(done.stderr.strip().splitlines()[-1])["error"] == "adapter_unusable"


def test_bad_command_line(tmp_path: Path) -> None:
    done = _suite("run", "--profile", "nope", "--report", str(tmp_path))
    assert done.returncode == 2
    assert json.loads(done.stderr)["error"] == "invalid_arguments"


def test_list_is_deterministic_per_seed() -> None:
    """Generated cases depend only on the seed: listing twice gives the same tests."""
    first = _suite("list", "--profile", "all", "--seed", "7", "--json")
    second = _suite("list", "--profile", "all", "--seed", "7", "--json")
    assert first.returncode == 0 and first.stdout == second.stdout
    tests = [json.loads(line) for line in first.stdout.splitlines()]
    assert {t["profile"] for t in tests} == set(PROFILES)
    assert all(t["requirements"] and t["reason"] for t in tests)


def test_certify_and_verify(
    sdk_reports: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    """A passed profile is certified as a trust mark; the certificate verifies, names the
    report's digest, and a changed report or certificate is refused."""
    folder, _report = sdk_reports["units"]
    key = tmp_path / "body.jwk"
    public = tmp_path / "body.pub.jwk"
    private_jwk = json.loads((ROOT / "spec" / "test-keys.json").read_text())["keys"][
        "home-operator"
    ]
    key.write_text(json.dumps(private_jwk), encoding="utf-8")
    public.write_text(
        json.dumps({k: v for k, v in private_jwk.items() if k != "d"}), encoding="utf-8"
    )
    cert = tmp_path / "units.jwt"
    done = _suite(
        "certify",
        "--report",
        str(folder),
        "--profile",
        "units",
        "--key",
        str(key),
        "--iss",
        "https://certify.example",
        "--sub",
        "https://provider-a.example",
        "--out",
        str(cert),
    )
    assert done.returncode == 0, done.stderr
    checked = _suite(
        "verify-cert", str(cert), "--key", str(public), "--report", str(folder / "report.json")
    )
    assert checked.returncode == 0, checked.stderr
    claims = json.loads(checked.stdout)
    assert claims["trust_mark_type"].endswith("/units/1.0")
    assert claims["sub"] == "https://provider-a.example"
    assert claims["report_digest"].startswith("sha256:")
    header = json.loads(
        __import__("base64").urlsafe_b64decode(cert.read_text().split(".")[0] + "==")
    )
    assert header["typ"] == "trust-mark+jwt"
    other = tmp_path / "other-report.json"
    other.write_text((folder / "report.json").read_text() + " ", encoding="utf-8")
    mismatch = _suite("verify-cert", str(cert), "--key", str(public), "--report", str(other))
    assert json.loads(mismatch.stderr)["error"] == "digest_mismatch"
    head, body, sig = cert.read_text().strip().split(".")
    forged = tmp_path / "forged.jwt"
    forged.write_text(f"{head}.{body}.{'A' if sig[0] != 'A' else 'B'}{sig[1:]}", encoding="ascii")
    refused = _suite("verify-cert", str(forged), "--key", str(public))
    assert json.loads(refused.stderr)["error"] == "invalid_signature"


def test_certify_refuses_a_failed_profile(
    fault_reports: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    data = {k: v for k, v in fault_reports["round-per-line"].items() if not k.startswith("_")}
    report.write_text(json.dumps(data), encoding="utf-8")
    key = tmp_path / "body.jwk"
    key.write_text(
        json.dumps(
            json.loads((ROOT / "spec" / "test-keys.json").read_text())["keys"]["home-operator"]
        ),
        encoding="utf-8",
    )
    done = _suite(
        "certify",
        "--report",
        str(report),
        "--profile",
        "units",
        "--key",
        str(key),
        "--iss",
        "https://certify.example",
        "--sub",
        "https://p.example",
    )
    assert done.returncode == 1
    assert json.loads(done.stderr)["error"] == "not_certifiable"


def test_suite_never_imports_the_sdk() -> None:
    """The suite judges independently: importing and running it loads no tokenfed module."""
    code = (
        "import sys, tokenfed_conformance.cli, tokenfed_conformance.profiles as p\n"
        "[p.build_cases(name, 1) for name in p.PROFILES]\n"
        "print(sorted(m for m in sys.modules if m == 'tokenfed' or m.startswith('tokenfed.')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert done.stdout.strip() == "[]"
    for path in (ROOT / "conformance" / "tokenfed_conformance").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "import tokenfed\n" not in text and "from tokenfed " not in text
        assert "from tokenfed." not in text, path


def _browser_dom(page: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no headless chromium on this machine (Debian: apt-get install chromium)")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


def test_html_report_in_a_headless_browser(
    sdk_reports: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    """The HTML page, as a real browser renders it: the feature matrix has one row per chapter
    and a cell per profile, and the verdict line names the failures of a failing run."""
    folder, _report = sdk_reports["receipt-verifier"]
    dom = _browser_dom(folder / "report.html")
    assert 'data-rendered="yes"' in dom
    assert "All tests passed." in dom
    matrix = dom.split('<table id="matrix">', 1)[1].split("</table>", 1)[0]
    assert matrix.count("<tr>") == 8  # the header row and seven chapters
    assert ">receipts</th>" in matrix and "receipt-verifier" in matrix
    failing = _run(tmp_path, "units", adapter=_adapter("ignores-minimum"))
    failed = sum(1 for t in failing["tests"] if t["result"] == "failed")
    dom = _browser_dom(tmp_path / "report.html")
    assert f"{failed} failing tests" in dom
    assert "units/gen/price-minimum" in dom


CRASHING_ADAPTER = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {folder!r})
    import tokenfed_adapter as adapter

    price = adapter.op_price

    def crash_on_one_card(data):
        if data["usage"]["model"] == "lines":
            raise RuntimeError("a defect of this adapter")
        return price(data)

    adapter.OPS["price"] = crash_on_one_card
    raise SystemExit(adapter.main(sys.argv[1:]))
    """
)


def test_a_crash_in_batch_mode_hides_no_other_result(tmp_path: Path) -> None:
    """The case that crashed a batch is run again on its own and reported broken; the cases
    after it still get their results."""
    script = tmp_path / "crashing.py"
    script.write_text(CRASHING_ADAPTER.format(folder=str(ADAPTER.parent)), encoding="utf-8")
    report = _run(
        tmp_path / "r",
        "units",
        "-k",
        "price-round-once or price-minimum or convert-unknown-code",
        adapter=f"{sys.executable} {script}",
    )
    assert report["mode"] == "batch"
    results = {t["id"].rsplit("/", 1)[1]: t for t in report["tests"]}
    crashed = results["price-round-once"]
    assert crashed["result"] == "failed"
    assert crashed["calls"][0]["outcome"]["problem"] == "exit status 3 (only 0 and 1 are answers)"
    assert results["price-minimum"]["result"] == "passed"
    assert results["convert-unknown-code"]["result"] == "passed"


NODE_ADAPTER = ROOT / "examples" / "node-adapter" / "adapter.mjs"


@pytest.mark.parametrize("profile", ["units", "receipt-verifier"])
def test_node_adapter_passes_its_profiles(tmp_path: Path, profile: str) -> None:
    """A second implementation, in another language, passes the suite: the protocol is
    language-neutral. Its expected failures are listed in conformance/adapters/."""
    node = shutil.which("node")
    if node is None or not NODE_ADAPTER.is_file():
        pytest.skip("needs node on PATH and examples/node-adapter")
    xfails = ROOT / "conformance" / "adapters" / "node-adapter.xfails"
    report = _run(tmp_path, profile, "--xfail", str(xfails), adapter=f"{node} {NODE_ADAPTER}")
    failed = [t["id"] for t in report["tests"] if t["result"] in {"failed", "xpassed"}]
    assert not failed and not report["xfail_errors"], (failed, report["xfail_errors"])


ODD_ISSUER = textwrap.dedent(
    """
    import json, sys
    if sys.argv[1] == "info":
        print(json.dumps({"protocol": "1", "name": "odd", "version": "0", "spec_version": "1.0",
                          "profiles": ["receipt-issuer"], "operations": ["issue-batch"],
                          "batch": False}))
    else:
        print(json.dumps({"batched": [1, {"claims": None}, "x"]}))
    """
)


def test_output_of_an_unexpected_shape_fails_the_test(tmp_path: Path) -> None:
    """An output whose members have unexpected types is the implementation's failure; the suite
    judges it and goes on."""
    script = tmp_path / "odd.py"
    script.write_text(ODD_ISSUER, encoding="utf-8")
    report = _run(
        tmp_path / "r",
        "receipt-issuer",
        "-k",
        "gen/batch-eddsa",
        adapter=f"{sys.executable} {script}",
    )
    (test,) = report["tests"]
    assert test["result"] == "failed" and test["problems"]
