"""`make demo`: the federation story on loopback nodes, then the month's settlement.

The demo runs as a subprocess (examples/demo.py) with its temporary directory under the test's
own, so every node it starts can be found by its command line, and none may be left running:
not after a normal run, not after Ctrl-C, SIGTERM or SIGKILL in the middle of it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "examples" / "demo.py"
ROW = re.compile(
    r"^  (?P<party>https://\S+)\s+(?P<alliance>alliance-\S+)\s+(?P<receivable>-?\d+(?:\.\d+)?)"
    r"\s+(?P<payable>-?\d+(?:\.\d+)?)\s+(?P<net>-?\d+(?:\.\d+)?)$"
)

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="finds node processes through /proc"
)


def _environment(folder: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(folder), "PYTHONUNBUFFERED": "1"}


def _node_processes(folder: Path) -> list[int]:
    """Processes whose command line names a file below ``folder`` (the demo's nodes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(folder) in cmdline and "serve" in cmdline:
            found.append(int(entry.name))
    return found


def _wait_for_no_nodes(folder: Path, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := _node_processes(folder)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("demo")
    done = subprocess.run(
        [sys.executable, str(DEMO)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        env=_environment(folder),
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    return done.stdout, folder


@pytest.fixture(scope="module")
def output(run: tuple[str, Path]) -> str:
    return run[0]


def _section(output: str, title: str) -> str:
    """The section whose title starts with ``title`` (after its step number, if any)."""
    found = re.search(rf"\n== (Step \d+\. )?{re.escape(title)}", output)
    assert found, f"no section {title!r}"
    start = found.start()
    end = output.find("\n== ", start + 1)
    return output[start : end if end != -1 else len(output)]


# --------------------------------------------------------------------------- processes


def test_no_node_is_left_and_only_the_temporary_directory_was_written(
    run: tuple[str, Path],
) -> None:
    output, folder = run
    assert _node_processes(folder) == []
    assert list(folder.iterdir()) == []  # the demo's temporary directory is gone
    assert "== Every node stopped" in output
    assert re.search(r"\n== Done in \d+\.\d s\n$", output)


def _interruptible() -> None:
    """In the demo's process before it starts: SIGINT back to its default, so that Python
    turns it into KeyboardInterrupt even when this test runs where SIGINT is ignored (a
    shell's background job without job control ignores it, and a child inherits that)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_a_demo_stopped_midway_leaves_no_node(tmp_path: Path, how: signal.Signals) -> None:
    demo = subprocess.Popen(
        [sys.executable, str(DEMO)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_environment(tmp_path),
        preexec_fn=_interruptible,
    )
    try:
        assert demo.stdout is not None
        for line in demo.stdout:  # the nodes are up once the federation is printed
            if line.startswith("== The federation"):
                break
        else:
            pytest.fail(f"the demo ended before its nodes were up: {demo.communicate()[1]}")
        assert len(_node_processes(tmp_path)) == 8
        demo.send_signal(how)
        _, stderr = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    if how == signal.SIGKILL:
        assert demo.returncode == -signal.SIGKILL
    else:
        assert demo.returncode == 130
        assert stderr.strip() == "interrupted: every node was stopped"
        assert _node_processes(tmp_path) == []
    # Killed outright, the demo cannot stop its nodes: the kernel tells each to stop.
    assert _wait_for_no_nodes(tmp_path, 20) == []


# --------------------------------------------------------------------------- the story


def test_the_federation_runs_eight_nodes_and_anchor_a_recognises_anchor_b(output: str) -> None:
    section = _section(output, "The federation")
    assert len(re.findall(r"http://127\.0\.0\.1:\d+", section)) == 8
    recognition = _section(output, "Anchor A recognises anchor B")
    assert (
        "iss https://anchor.alliance-a.example, sub https://anchor.alliance-b.example, "
        "tokenfed_recognition true\n" in recognition
    )
    assert '"max_path_length": 2' in recognition
    assert '"naming_constraints": {"permitted": [".alliance-b.example"]}' in recognition
    assert '"allowed_entity_types": ["tokenfed_provider"]' in recognition
    assert 'authority_hints ["https://anchor.alliance-a.example"]' in recognition


A = "https://anchor.alliance-a.example"
B = "https://anchor.alliance-b.example"
CLOUD = "https://cloud.alliance-b.example"
PROVIDER = "https://tokens.cloud.alliance-b.example"
OPERATOR = "https://operator.alliance-a.example"
OUTSIDER = "https://tokens.elsewhere.example"


def test_the_operators_verifier_reaches_the_provider_through_the_recognition(output: str) -> None:
    section = _section(output, "The operator's verifier, anchored at A, resolves the provider")
    assert f"resolved under {A}: {PROVIDER} -> {CLOUD} -> {B} -> {A}\n" in section


def test_the_operator_issues_a_pairwise_entitlement(output: str) -> None:
    section = _section(output, "The operator issues its subscriber an entitlement")
    assert "iss   https://operator.alliance-a.example" in section
    assert "aud   https://tokens.cloud.alliance-b.example" in section
    assert re.search(r"sub   [A-Za-z0-9_-]{43}  \(pairwise", section)
    assert "limit 200 UTU, valid 3600 s" in section


def _entitlement_jti(output: str) -> str:
    found = re.search(r"\n  jti   (\S+)\n", _section(output, "The operator issues"))
    assert found
    return found.group(1)


def test_the_provider_meters_under_the_entitlement_and_names_it_in_each_receipt(
    output: str,
) -> None:
    section = _section(output, "The provider meters three requests")
    jti = _entitlement_jti(output)
    assert re.findall(
        r"receipt seq (\d+) jti (\S+): (\S+) (\S+) UTU, entitlement (\S+), "
        r"consumed (\S+), remaining (\S+)\n",
        section,
    ) == [
        ("1", "req-1", "qwen-max", "8.88", jti, "8.88", "191.12"),
        ("2", "req-2", "qwen-max", "107.52", jti, "116.4", "83.6"),
        ("3", "req-3", "claude-sonnet", "21.45", jti, "137.85", "62.15"),
    ]


VIA = f"under {A} via {PROVIDER} -> {CLOUD} -> {B} -> {A}"


def test_the_operators_intake_verifies_under_anchor_a_and_totals_in_utu_and_cny(
    output: str,
) -> None:
    lines = _section(output, "The operator's intake verifies").splitlines()
    assert lines[2:] == [
        f"  #0 accepted: jti req-1, {VIA}",
        f"  #1 accepted: jti req-2, {VIA}",
        f"  operator's totals for {PROVIDER}: 2 receipts, 116.4 UTU (the sum of those "
        "receipts) = 2.33 CNY (rates fx-demo of https://clearing.alliance-a.example)",
    ]


def test_after_a_key_rotation_old_and_new_receipts_verify(output: str) -> None:
    section = _section(output, "The provider rotates its receipt key")
    old = re.search(r"old key (\S+): exp \d+", section)
    new = re.search(r"new key (\S+): published ahead", section)
    assert old and new and old.group(1) != new.group(1)
    assert f"  late receipt, signed by {old.group(1)}: #0 accepted: jti req-3, {VIA}\n" in section
    assert f"  new receipt, signed by {new.group(1)}: #1 accepted: jti req-4, {VIA}\n" in section
    verified = re.findall(r"    jti (req-\d) iat \d+ kid (\S+): verified under (\S+)\n", section)
    assert verified == [(f"req-{n}", old.group(1), A) for n in (1, 2, 3)]
    assert (
        f"operator's totals for {PROVIDER}: 4 receipts, 146.73 UTU (the sum of those receipts) "
        "= 2.93 CNY" in section
    )


def test_a_receipt_of_the_revoked_key_is_refused(output: str) -> None:
    section = _section(output, "A receipt signed with the provider's revoked key")
    assert re.search(
        r"\n    #0 rejected: key_not_valid \(key \S+ was not valid at \d+: revoked at \d+ "
        r"\(compromised\)\)\n",
        section,
    )


def test_usage_beyond_the_limit_is_refused(output: str) -> None:
    section = _section(output, "Usage beyond the entitlement's limit")
    assert "53.27 UTU of the 200 UTU limit are left; a request worth 80 UTU:" in section
    assert "  HTTP 409 limit_exceeded (" in section


def test_recognition_used_backwards_finds_no_trust_path(output: str) -> None:
    lines = _section(output, "Recognition used in the wrong direction").splitlines()
    assert lines[3].startswith("    rejected: no_trust_path (")
    assert f"      dropped path {OPERATOR} -> {A}: dead_end" in lines
    assert (
        "    anchor B serves no statement about anchor A (HTTP 404 not_found): A's recognition "
        "of B is one-way" in lines
    )
    assert lines[-2:] == [
        f"  https://gpu.cloud.alliance-b.example pins only anchor B; it is handed an "
        f"entitlement of {OPERATOR}:",
        "    HTTP 403 no_trust_path",
    ]


def test_a_provider_outside_the_naming_constraints_is_refused_under_a_only(output: str) -> None:
    lines = _section(output, "A provider outside the naming constraints").splitlines()
    assert lines[3].startswith("    rejected: naming_constraint_violated (")
    assert (
        f"      dropped path {OUTSIDER} -> {CLOUD} -> {B} -> {A}: naming_constraint_violated"
        in (lines)
    )
    assert f"    resolved under {B}: {OUTSIDER} -> {CLOUD} -> {B}" in lines
    assert lines[-2] == f"  it meters a request under an entitlement of {OPERATOR} (8.88 UTU);"
    assert lines[-1].startswith(
        "  the operator's intake answers: #0 rejected: naming_constraint_violated ("
    )


# --------------------------------------------------------------------------- the month's end


def test_the_statement_is_disputed_for_a_missing_receipt(output: str) -> None:
    statement = _section(output, "Statement st-2026-01-provider-a-home-1 (seq 1)")
    assert "audit totals: 4 receipts" in statement
    assert re.search(r"Merkle root:  [0-9a-f]{64}\n", statement)
    response = _section(output, "Home operator's response")
    assert response.splitlines()[1].endswith(": dispute (signed, verified by the provider)")
    assert len(re.findall(r"disputed receipt \S+: missing_at_payer", response)) == 1


def test_the_resubmission_names_the_disputed_statement_and_is_accepted(output: str) -> None:
    section = _section(output, "Resubmission")
    assert "st-2026-01-provider-a-home-2 (seq 2) resubmits st-2026-01-provider-a-home-1" in section
    assert "response: accept, 0 disputes; accepted total 3.13 CNY" in section


def test_the_revenue_split_adds_up_to_the_accepted_total(output: str) -> None:
    section = _section(output, "Revenue split of 3.13 CNY")
    parts = [int(units) for units in re.findall(r"-> +(\d+) fen", section)]
    assert parts == [47, 250, 16]
    assert "parts sum to 313 fen = 313 fen" in section


def test_netting_positions_sum_to_zero_across_two_alliances(output: str) -> None:
    section = _section(output, "Netting net-2026-01")
    rows = [m.groupdict() for line in section.splitlines() if (m := ROW.match(line))]
    assert len(rows) == 3
    assert {row["alliance"] for row in rows} == {"alliance-east", "alliance-west"}
    for row in rows:
        assert Decimal(row["receivable"]) - Decimal(row["payable"]) == Decimal(row["net"])
    assert sum(Decimal(row["net"]) for row in rows) == 0
    assert any(Decimal(row["net"]) != 0 for row in rows)
    assert "sum of nets: 0.00 CNY" in section
