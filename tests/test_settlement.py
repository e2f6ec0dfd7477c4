"""Settlement statements, reconciliation, splits and netting (spec/settlement.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tokenfed import _json
from tokenfed.cli import main
from tokenfed.errors import (
    ChainBreakError,
    InvalidProofError,
    InvalidResubmissionError,
    InvalidSharesError,
    PeriodNotClosedError,
    SchemaViolationError,
    StatementNotAcceptedError,
    TotalsMismatchError,
    UnknownKeyError,
)
from tokenfed.exchange import ExchangeRates
from tokenfed.keys import KeyValidity, PrivateKey, generate_key
from tokenfed.ledger import SqliteLedger
from tokenfed.receipts import ReceiptIssuer, ReceiptTracker, ReceiptVerifier
from tokenfed.settlement import (
    NettingReport,
    PairHistory,
    Response,
    RevenueShare,
    Statement,
    build_statement,
    check_conversion,
    check_receipt_list,
    check_response,
    netting_claims,
    reconcile,
    split,
)
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import load_vectors

T0 = 1767225600  # 2026-01-01
DAY = 86400
START, END = T0, T0 + 30 * DAY
PROVIDER = "https://provider-a.example"
OPERATOR = "https://home.example"
HOUSE = "https://clearing.example"
SUB = "Zk9xW2cLm3P8qRsT"
CARD: dict[str, Any] = load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"]
RATES: dict[str, Any] = {
    "iss": HOUSE,
    "rates_id": "fx-2026-01",
    "ver": "1.0",
    "iat": T0,
    "nbf": T0,
    "exp": T0 + 90 * DAY,
    "base": "UTU",
    "rates": {"CNY": {"rate": "7.2", "precision": 2}},
}


@dataclass
class World:
    keys: dict[str, PrivateKey]
    trust: TrustStore
    payee_ledger: SqliteLedger
    payer_ledger: SqliteLedger
    tokens: list[str]


def _usage(index: int) -> dict[str, Any]:
    model = "qwen-max" if index % 3 else "deepseek-r1"
    return {"model": model, "meters": {"input": 1000 + 7 * index, "output": 100 + index}}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Eight receipts of one stream: one before the period, six in it, one after; the payer's
    ledger lacks the fourth receipt of the period."""
    keys = {party: generate_key() for party in (PROVIDER, OPERATOR, HOUSE)}
    trust_json = {
        "ver": "1.0",
        "issuers": {
            party: {"jwks": {"keys": [key.public_key(KeyValidity(nbf=T0 - DAY)).to_jwk()]}}
            for party, key in keys.items()
        },
    }
    (tmp_path / "trust.json").write_text(json.dumps(trust_json), encoding="utf-8")
    for name, party in (("provider", PROVIDER), ("operator", OPERATOR), ("house", HOUSE)):
        (tmp_path / f"{name}.jwk").write_text(json.dumps(keys[party].to_jwk()), encoding="utf-8")
    trust = TrustStore.from_json(trust_json)
    card = RateCard.from_jws(RateCard.sign(CARD, keys[PROVIDER]), trust)
    issuer = ReceiptIssuer(keys[PROVIDER], PROVIDER, card)
    iats = [START - DAY, *(START + i * DAY for i in range(1, 7)), END + 1]
    tokens = [
        issuer.issue(aud=OPERATOR, sub=SUB, usage=_usage(i), jti=f"r{i}", iat=iat)
        for i, iat in enumerate(iats)
    ]
    verifier = ReceiptVerifier(trust, [card], clock=lambda: END + 10 * DAY)
    payee = SqliteLedger(tmp_path / "payee.db")
    payer = SqliteLedger(tmp_path / "payer.db")
    with ReceiptTracker(payee).transaction() as tx:
        for token in tokens:
            tx.track(verifier.verify(token))
    with ReceiptTracker(payer).transaction() as tx:
        for token in tokens[:4]:
            tx.track(verifier.verify(token))
    yield World(keys, trust, payee, payer, tokens)
    payee.close()
    payer.close()


def _draft(world: World, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "payee": PROVIDER,
        "payer": OPERATOR,
        "period": (START, END),
        "statement_id": "st-1",
        "seq": 1,
        "iat": END + 3 * DAY,
    }
    settings.update(options)
    return build_statement(world.payee_ledger, **settings)


def _statement(world: World, draft: Any) -> Statement:
    return Statement.from_jws(draft.sign(world.keys[PROVIDER]), world.trust)


def test_statement_lines_totals_and_root(world: World) -> None:
    """SET-010, SET-012, SET-021, SET-022, SET-025, SET-026: the period's receipts make the lines,
    the earlier unsettled one an adjustment, the later one is left out; totals add up."""
    draft = _draft(world)
    statement = _statement(world, draft)
    claims = statement.claims
    assert [line.model for line in claims.lines] == ["deepseek-r1", "qwen-max"]
    assert sum(line.count for line in claims.lines) == 6
    assert [line.count for line in claims.adjustments] == [1]
    assert claims.totals.count == claims.receipts.count == 7
    items = check_receipt_list(statement, draft.receipt_list)
    assert [item.jti for item in items] == [f"r{i}" for i in range(7)]
    settled = {items[0].digest}
    again = _statement(world, _draft(world, settled=settled))
    assert again.claims.adjustments == [] and again.claims.totals.count == 6


def test_statement_totals_must_add_up(world: World) -> None:
    """SET-025: totals other than the sum of the lines reject the whole statement."""
    claims = dict(_draft(world).claims)
    claims["totals"] = {"count": 7, "amount": "1"}
    with pytest.raises(TotalsMismatchError):
        Statement.from_claims(claims)
    claims = _json.loads(_json.canonical_bytes(_draft(world).claims))
    claims["receipts"]["count"] = 6
    with pytest.raises(TotalsMismatchError):
        Statement.from_claims(claims)


def test_lines_sorted_and_unique(world: World) -> None:
    """SET-021: lines out of order are schema_violation; SET-010: start < end."""
    claims = _json.loads(_json.canonical_bytes(_draft(world).claims))
    claims["lines"].reverse()
    with pytest.raises(SchemaViolationError):
        Statement.from_claims(claims)
    claims = _json.loads(_json.canonical_bytes(_draft(world).claims))
    claims["period"] = {"start": END, "end": START}
    with pytest.raises(SchemaViolationError):
        Statement.from_claims(claims)


def test_period_not_closed_before_grace(world: World) -> None:
    """SET-011: a statement signed before end + grace is period_not_closed."""
    with pytest.raises(PeriodNotClosedError):
        Statement.from_claims(_draft(world, iat=END + DAY).claims)


def test_statement_only_read_verified(world: World) -> None:
    """SET-060: a statement is verified with the trust store; another issuer's key is refused."""
    token = _draft(world).sign(world.keys[HOUSE])  # iss is the provider, signed by the house
    with pytest.raises(UnknownKeyError):
        Statement.from_jws(token, world.trust)
    with pytest.raises(TypeError):
        Statement.from_jws(token, None)  # type: ignore[arg-type]


def test_receipt_list_bound_by_root(world: World) -> None:
    """SET-028: a receipt list that does not give the statement's root is invalid_proof."""
    draft = _draft(world)
    statement = _statement(world, draft)
    tampered = _json.loads(_json.canonical_bytes(draft.receipt_list))
    tampered["receipts"].pop()
    with pytest.raises(InvalidProofError):
        check_receipt_list(statement, tampered)


def test_conversion_once_half_even(world: World) -> None:
    """SET-027: the total is converted once at the fixing time; a wrong amount is rejected."""
    rates = ExchangeRates.from_claims(RATES)
    draft = _draft(world, rates=rates, code="CNY")
    statement = _statement(world, draft)
    conversion = statement.claims.conversion
    assert conversion is not None
    assert (
        conversion.amount
        == _json.loads(
            _json.canonical_bytes(
                rates.convert(statement.raw["totals"]["amount"], "UTU", "CNY", END).to_json()
            )
        )["amount"]
    )
    check_conversion(statement, rates)
    claims = _json.loads(_json.canonical_bytes(draft.claims))
    claims["conversion"]["amount"] = "0.01"
    with pytest.raises(TotalsMismatchError):
        check_conversion(Statement.from_claims(claims), rates)


def test_reconcile_disputes_and_resubmission(world: World) -> None:
    """SET-030, SET-031, SET-032, SET-024, SET-013, SET-023: the payer lacks a receipt and
    disputes it; the line holding it is flagged and the totals stay; the resubmission names
    the disputed statement; once accepted the period is final."""
    history = PairHistory()
    draft = _draft(world)
    statement = _statement(world, draft)
    history.check(statement)
    response_token = reconcile(
        statement, draft.receipt_list, world.payer_ledger, iat=END + 4 * DAY
    ).sign(world.keys[OPERATOR])
    response = Response.from_jws(response_token, world.trust)
    check_response(response, statement)
    assert response.claims.status == "dispute"
    reasons = {(d.jti, d.reason) for d in response.claims.disputes}
    assert reasons == {(f"r{i}", "missing_at_payer") for i in (4, 5, 6)}
    assert response.claims.disputed_lines.lines  # flagged, totals unchanged
    history.record(statement, response.accepted)
    # a new statement for the period without resubmits is refused
    with pytest.raises(InvalidResubmissionError):
        history.check(_statement(world, _draft(world, statement_id="st-2", seq=2)))
    # the payer gets the missing receipts; the resubmission is accepted
    with ReceiptTracker(world.payer_ledger).transaction() as tx:
        verifier = ReceiptVerifier(
            world.trust,
            [RateCard.from_jws(RateCard.sign(CARD, world.keys[PROVIDER]), world.trust)],
            clock=lambda: END + 10 * DAY,
        )
        for token in world.tokens[4:7]:
            tx.track(verifier.verify(token))
    second_draft = _draft(world, statement_id="st-2", seq=2, resubmits=statement)
    second = _statement(world, second_draft)
    history.check(second)
    accepted = reconcile(second, second_draft.receipt_list, world.payer_ledger, iat=END + 5 * DAY)
    assert accepted.accepted
    history.record(second, True)
    with pytest.raises(InvalidResubmissionError):  # SET-013: final
        history.check(_statement(world, _draft(world, statement_id="st-3", seq=3)))
    with pytest.raises(ChainBreakError):  # SET-023
        history.check(_statement(world, _draft(world, statement_id="st-3", seq=5)))
    restored = PairHistory.from_json(_json.loads(_json.canonical_bytes(history.to_json())))
    assert restored == history


def test_response_matches_its_statement(world: World) -> None:
    """SET-033: a response is matched with the statement whose digest it names."""
    draft = _draft(world)
    statement = _statement(world, draft)
    other = _statement(world, _draft(world, statement_id="st-x"))
    claims = reconcile(statement, draft.receipt_list, world.payer_ledger, iat=END + 4 * DAY)
    response = Response.from_claims(claims.claims)
    with pytest.raises(InvalidResubmissionError):
        check_response(response, other)
    bad = dict(claims.claims, status="accept")
    with pytest.raises(SchemaViolationError):
        Response.from_claims(bad)


def _agreement(shares: dict[str, str]) -> RevenueShare:
    return RevenueShare.from_claims(
        {
            "iss": HOUSE,
            "ver": "1.0",
            "iat": T0,
            "nbf": T0,
            "exp": T0 + 365 * DAY,
            "agreement_id": "share-1",
            "parties": [{"party": p, "share": s} for p, s in shares.items()],
        }
    )


def test_split_largest_remainder_tie_break() -> None:
    """SET-041: thirds of 100 units: 34/33/33, the tie goes to the first party in code point
    order; SET-040: shares must sum to 1."""
    agreement = _agreement(
        {
            "https://c.example": "0.333334",
            "https://a.example": "0.333333",
            "https://b.example": "0.333333",
        }
    )
    assert split(agreement, 100) == [
        ("https://c.example", 34),
        ("https://a.example", 33),
        ("https://b.example", 33),
    ]
    halves = _agreement({"https://b.example": "0.5", "https://a.example": "0.5"})
    assert split(halves, 3) == [("https://b.example", 1), ("https://a.example", 2)]
    assert split(halves, -3) == [("https://b.example", -1), ("https://a.example", -2)]
    with pytest.raises(InvalidSharesError):
        _agreement({"https://a.example": "0.5", "https://b.example": "0.4"})


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=1, max_value=1000), min_size=1, max_size=40),
    total=st.integers(min_value=-(10**15), max_value=10**15),
)
def test_split_parts_sum_to_total(weights: list[int], total: int) -> None:
    """SET-041: for any shares and total, the parts add up to exactly the total."""
    scale = 10**6
    raw = [w * scale // sum(weights) for w in weights]
    raw[0] += scale - sum(raw)
    if raw[0] <= 0:
        return
    shares = {f"https://p{i}.example": _micro_text(r) for i, r in enumerate(raw)}
    parts = split(_agreement(shares), total)
    assert sum(units for _, units in parts) == total


def _micro_text(millionths: int) -> str:
    whole, fraction = divmod(millionths, 10**6)
    text = f"{whole}.{fraction:06d}".rstrip("0").rstrip(".")
    return text


def test_netting_sums_to_zero(world: World) -> None:
    """SET-050, SET-051, SET-052, SET-053: accepted statements net to positions summing to
    zero; gross figures kept; a disputed statement is refused; a bad report is rejected."""
    draft = _draft(world)
    statement = _statement(world, draft)
    disputed = Response.from_claims(
        reconcile(statement, draft.receipt_list, world.payer_ledger, iat=END + 4 * DAY).claims
    )
    with pytest.raises(StatementNotAcceptedError):
        netting_claims(
            [(statement, disputed)], iss=HOUSE, report_id="n-1", period=(START, END), iat=END
        )
    accept = dict(disputed.raw, status="accept", disputes=[])
    accept["disputed_lines"] = {"lines": [], "adjustments": []}
    accepted = Response.from_claims(accept)
    claims = netting_claims(
        [(statement, accepted), (statement, accepted)],
        iss=HOUSE,
        report_id="n-1",
        period=(START, END),
        iat=END + 6 * DAY,
    )
    report = NettingReport.from_jws(NettingReport.sign(claims, world.keys[HOUSE]), world.trust)
    positions = report.claims.positions["UTU"]
    assert [p.party for p in positions] == sorted([OPERATOR, PROVIDER])
    assert len(report.claims.statements) == 1
    broken = _json.loads(_json.canonical_bytes(claims))
    broken["positions"]["UTU"][0]["net"] = "0"
    with pytest.raises(TotalsMismatchError):
        NettingReport.from_claims(broken)


def _statement_argv(d: str, out: str = "st.jwt", list_out: str = "st.json") -> list[str]:
    """``settle statement`` of the payee's ledger in folder ``d``, writing ``out``, ``list_out``."""
    return [
        "settle", "statement", "--ledger", f"{d}/payee.db", "--payee", PROVIDER,
        "--payer", OPERATOR, "--start", str(START), "--end", str(END),
        "--statement-id", "st-1", "--seq", "1", "--signing-key", f"{d}/provider.jwk",
        "--out", f"{d}/{out}", "--list-out", f"{d}/{list_out}", "--iat", str(END + 3 * DAY),
    ]  # fmt: skip


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out.strip() else None, err


def test_cli_statement_reconcile_net_verify(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SET-020, SET-030, SET-052, SET-060 through the command line: a statement from the
    payee's ledger, the payer's disputing response with its history, verification of each
    document, netting refused for the disputed statement (one JSON error, exit 1)."""
    d = str(tmp_path)
    status, summary, _ = _cli(
        capsys,
        *_statement_argv(d),
    )  # fmt: skip
    assert status == 0 and summary["totals"]["count"] == 7
    history = tmp_path / "history.json"
    history.write_text(json.dumps(PairHistory().to_json()), encoding="utf-8")
    status, answer, _ = _cli(
        capsys,
        "settle", "reconcile", "--ledger", f"{d}/payer.db", "--statement", f"{d}/st.jwt",
        "--receipt-list", f"{d}/st.json", "--signing-key", f"{d}/operator.jwk",
        "--out", f"{d}/resp.jwt", "--history", str(history), "--trust", f"{d}/trust.json",
        "--iat", str(END + 4 * DAY),
    )  # fmt: skip
    assert status == 0 and answer["status"] == "dispute"
    assert json.loads(history.read_text())["last_seq"] == 1
    for document, typ in (("st.jwt", "statement"), ("resp.jwt", "response")):
        status, shown, _ = _cli(
            capsys, "settle", "verify", f"{d}/{document}", "--trust", f"{d}/trust.json"
        )
        assert status == 0 and shown["typ"] == f"tokenfed-settlement-{typ}+jwt"
    status, _, err = _cli(
        capsys,
        "settle", "net", "--pair", f"{d}/st.jwt", f"{d}/resp.jwt", "--iss", HOUSE,
        "--report-id", "n-1", "--start", str(START), "--end", str(END),
        "--signing-key", f"{d}/house.jwk", "--out", f"{d}/net.jwt", "--trust", f"{d}/trust.json",
    )  # fmt: skip
    assert status == 1 and json.loads(err)["error"] == "statement_not_accepted"
    assert not (tmp_path / "net.jwt").exists()
    status, _, err = _cli(capsys, "settle", "verify", f"{d}/st.json", "--trust", f"{d}/trust.json")
    assert status == 1 and json.loads(err)["error"] == "malformed"
    status, _, err = _cli(capsys, "settle", "split", "--total", "1")
    assert status == 2 and json.loads(err)["error"] == "invalid_arguments"


def test_cli_statement_and_response_need_an_existing_ledger(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistyped ledger path is io_error, never an empty ledger created on the spot whose
    statement (count 0) or response (every receipt missing_at_payer) would be signed."""
    d = str(tmp_path)
    assert _cli(capsys, *_statement_argv(d))[0] == 0
    argv = _statement_argv(d, out="other.jwt", list_out="other.json")
    argv[argv.index("--ledger") + 1] = f"{d}/nope.db"
    status, _, err = _cli(capsys, *argv)
    assert (status, json.loads(err)["error"]) == (1, "io_error")
    status, _, err = _cli(
        capsys,
        "settle", "reconcile", "--ledger", f"{d}/nope2.db", "--statement", f"{d}/st.jwt",
        "--receipt-list", f"{d}/st.json", "--signing-key", f"{d}/operator.jwk",
        "--out", f"{d}/resp.jwt", "--trust", f"{d}/trust.json", "--iat", str(END + 4 * DAY),
    )  # fmt: skip
    assert (status, json.loads(err)["error"]) == (1, "io_error")
    assert not any((tmp_path / name).exists() for name in ("nope.db", "nope2.db", "resp.jwt"))


def test_cli_reconcile_disputes_only_with_registry_codes(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SET-030: a failed verification is disputed with the registry code it reported; a code
    that is not in the registry is schema_violation and no response is signed."""
    d = str(tmp_path)
    assert _cli(capsys, *_statement_argv(d))[0] == 0
    listed = json.loads((tmp_path / "st.json").read_text())["receipts"][0]
    rejected = tmp_path / "rejected.json"
    rejected.write_text(json.dumps([{"iss": PROVIDER, "jti": listed["jti"], "code": "made_up"}]))
    status, _, err = _cli(
        capsys,
        "settle", "reconcile", "--ledger", f"{d}/payer.db", "--statement", f"{d}/st.jwt",
        "--receipt-list", f"{d}/st.json", "--signing-key", f"{d}/operator.jwk",
        "--out", f"{d}/resp.jwt", "--trust", f"{d}/trust.json", "--iat", str(END + 4 * DAY),
        "--rejected", str(rejected),
    )  # fmt: skip
    assert (status, json.loads(err)["error"]) == (1, "schema_violation")
    assert not (tmp_path / "resp.jwt").exists()


def test_cli_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """SET-041, SET-042: the command line splits a total by a verified agreement."""
    key = generate_key()
    (tmp_path / "house.jwk").write_text(json.dumps(key.to_jwk()), encoding="utf-8")
    (tmp_path / "house.pub").write_text(
        json.dumps(key.public_key(KeyValidity(nbf=T0 - DAY)).to_jwk()), encoding="utf-8"
    )
    agreement = _agreement({"https://a.example": "0.7", "https://b.example": "0.3"})
    (tmp_path / "ag.jwt").write_text(RevenueShare.sign(agreement.raw, key), encoding="utf-8")
    status, report, _ = _cli(
        capsys,
        "settle", "split", "--agreement", str(tmp_path / "ag.jwt"), "--total", "0.01",
        "--code", "CNY", "--precision", "2", "--key", str(tmp_path / "house.pub"),
    )  # fmt: skip
    assert status == 0
    assert [part["amount"] for part in report["parts"]] == ["0.01", "0"]


def test_guide_python_blocks_run() -> None:
    """SET-040, SET-041: the Python of docs/settlement.md runs as written and its asserts hold."""
    page = Path(__file__).resolve().parent.parent / "docs" / "settlement.md"
    blocks = page.read_text(encoding="utf-8").split("```python\n")[1:]
    assert blocks
    namespace: dict[str, Any] = {}
    for block in blocks:
        exec(compile(block.split("```")[0], str(page), "exec"), namespace)


def test_ledger_stream_entries_order(world: World) -> None:
    """SET-026: the ledger lists a stream's entries by seq, then jti, optionally before a time."""
    entries = world.payee_ledger.stream_entries(PROVIDER, OPERATOR)
    assert [e.seq for e in entries] == list(range(1, 9))
    assert len(world.payee_ledger.stream_entries(PROVIDER, OPERATOR, iat_before=END)) == 7
    assert world.payee_ledger.stream_entries(OPERATOR, PROVIDER) == []


def test_cli_statement_leaves_no_half_pair(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A statement whose output exists is refused (io_error) and its receipt list is not left
    behind: no partial write survives."""
    d = str(tmp_path)
    (tmp_path / "st.jwt").write_text("taken", encoding="utf-8")
    status, _, err = _cli(
        capsys,
        *_statement_argv(d),
    )  # fmt: skip
    assert status == 1 and json.loads(err)["error"] == "io_error"
    assert not (tmp_path / "st.json").exists()
    assert (tmp_path / "st.jwt").read_text(encoding="utf-8") == "taken"


@pytest.mark.parametrize(
    ("out", "list_out", "flag", "victim"),
    [
        ("payee.db", "st.json", "--ledger", "payee.db"),  # the ledger, even with --force
        ("provider.jwk", "st.json", "--signing-key", "provider.jwk"),
        ("st.jwt", "provider.jwk", "--signing-key", "provider.jwk"),
        ("st.jwt", "st.jwt", "--out", None),  # the two outputs are one file
    ],
)
def test_cli_statement_never_overwrites_an_input(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    out: str,
    list_out: str,
    flag: str,
    victim: str | None,
) -> None:
    """An output path naming a file the command reads (or its other output) is refused with
    io_error before anything is written, --force or not; the input is left as it was."""
    d = str(tmp_path)
    before = (tmp_path / victim).read_bytes() if victim else None
    status, _, err = _cli(
        capsys,
        *_statement_argv(d, out=out, list_out=list_out),
        "--force",
    )  # fmt: skip
    error = json.loads(err)
    assert status == 1 and error["error"] == "io_error"
    assert f"it is the file given as {flag}" in error["message"]
    if victim is not None:
        assert (tmp_path / victim).read_bytes() == before
    else:
        assert not (tmp_path / out).exists()


def test_cli_report_force_never_replaces_the_document_it_reads(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``settle report --force --out DOC DOC``: the document read is not replaced (io_error)."""
    d = str(tmp_path)
    status, _, _ = _cli(
        capsys,
        *_statement_argv(d),
    )  # fmt: skip
    assert status == 0
    token = (tmp_path / "st.jwt").read_bytes()
    status, _, err = _cli(
        capsys, "settle", "report", "--out", f"{d}/./st.jwt", "--force", f"{d}/st.jwt",
        "--trust", f"{d}/trust.json",
    )  # fmt: skip
    assert status == 1 and json.loads(err)["error"] == "io_error"
    assert (tmp_path / "st.jwt").read_bytes() == token


def _browser_dom(page: Path) -> str:
    """The DOM of a page as a real headless browser (Chromium) parsed it."""
    import shutil
    import subprocess

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no headless Chromium on PATH")
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--no-zygote",
            "--disable-gpu",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_html_reports_in_a_browser(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The statement page shows its lines and totals, the netting page one bar per party whose
    widths follow the nets, as parsed by a real headless browser."""
    draft = _draft(world)
    statement = _statement(world, draft)
    (tmp_path / "st.jwt").write_text(draft.sign(world.keys[PROVIDER]), encoding="utf-8")
    accepted = Response.from_claims(
        {
            **reconcile(statement, draft.receipt_list, world.payer_ledger, iat=END).claims,
            "status": "accept",
            "disputes": [],
            "disputed_lines": {"lines": [], "adjustments": []},
        }
    )
    claims = netting_claims(
        [(statement, accepted)], iss=HOUSE, report_id="n-1", period=(START, END), iat=END
    )
    (tmp_path / "net.jwt").write_text(
        NettingReport.sign(claims, world.keys[HOUSE]), encoding="utf-8"
    )
    d = str(tmp_path)
    for name in ("st", "net"):
        status, _, err = _cli(
            capsys, "settle", "report", f"{d}/{name}.jwt", "--trust", f"{d}/trust.json",
            "--out", f"{d}/{name}.html",
        )  # fmt: skip
        assert status == 0, err
    dom = _browser_dom(tmp_path / "st.html")
    assert dom.count("<tr>") >= 1 + len(statement.claims.lines) + 2
    assert f'<td class="num">{statement.claims.totals.amount}</td>' in dom
    dom = _browser_dom(tmp_path / "net.html")
    assert dom.count('class="bar"') == 2
    assert 'width="300"' in dom  # both nets have the same size: full-width bars
    assert "<title>Netting report n-1</title>" in dom


def test_statement_from_a_ledger_holding_batched_receipts(world: World, tmp_path: Path) -> None:
    """SET-020: batched receipts recorded in a ledger (their base64url claims bytes) are read back
    into a statement, from the ledger and from its entries alike, with the same lines."""
    from tokenfed.receipts import ReceiptRequest

    card = RateCard.from_jws(RateCard.sign(CARD, world.keys[PROVIDER]), world.trust)
    issuer = ReceiptIssuer(world.keys[PROVIDER], PROVIDER, card)
    batch = issuer.issue_batch(
        [ReceiptRequest(aud=OPERATOR, sub=SUB, usage=_usage(i), jti=f"b{i}") for i in range(4)],
        iat=START + DAY,
    )
    verifier = ReceiptVerifier(world.trust, [card], clock=lambda: END + 10 * DAY)
    with SqliteLedger(tmp_path / "batched.db") as ledger:
        with ReceiptTracker(ledger).transaction() as tx:
            for item in batch:
                tx.track(verifier.verify(item))
        options: dict[str, Any] = {
            "payee": PROVIDER, "payer": OPERATOR, "period": (START, END),
            "statement_id": "st-b", "seq": 1, "iat": END + 3 * DAY,
        }  # fmt: skip
        from_ledger = build_statement(ledger, **options)
        from_entries = build_statement(ledger.stream_entries(PROVIDER, OPERATOR), **options)
    assert from_ledger.claims == from_entries.claims
    assert from_ledger.claims["totals"]["count"] == 4


def _as_schema_v4(path: Path) -> None:
    """Turn a ledger file back into schema version 4 (no seq in the index by line)."""
    import sqlite3

    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX receipts_by_line")
        raw.execute(
            "CREATE INDEX receipts_by_line ON receipts"
            " (iss, aud, model, rate_card_digest, rate_card_id, iat, micro, merkle_leaf)"
        )
        raw.execute("UPDATE tokenfed_schema SET version = 4 WHERE component = 'receipt_ledger'")


def _as_schema_v3(path: Path) -> None:
    """Turn a ledger file back into schema version 3 (no merkle_leaf, no covering indexes)."""
    import sqlite3

    _as_schema_v4(path)
    with sqlite3.connect(path) as raw:
        raw.execute("DROP INDEX receipts_in_order")
        raw.execute("DROP INDEX receipts_by_line")
        raw.execute("ALTER TABLE receipts DROP COLUMN merkle_leaf")
        raw.execute("CREATE INDEX receipts_by_stream ON receipts (iss, aud, seq)")
        raw.execute("UPDATE tokenfed_schema SET version = 3 WHERE component = 'receipt_ledger'")


def _as_schema_v2(path: Path) -> None:
    """Turn a ledger file back into schema version 2 (no model, rate card digest, micro)."""
    import sqlite3

    _as_schema_v3(path)
    with sqlite3.connect(path) as raw:
        for column in ("model", "rate_card_digest", "micro"):
            raw.execute(f"ALTER TABLE receipts DROP COLUMN {column}")
        raw.execute("UPDATE tokenfed_schema SET version = 2 WHERE component = 'receipt_ledger'")


@pytest.mark.parametrize("version", [2, 3, 4])
def test_ledger_schema_2_is_migrated_and_gives_the_same_statement(
    world: World, tmp_path: Path, version: int
) -> None:
    """SET-020: a version 2, 3 or 4 ledger is migrated in place when opened (its model, rate
    card digest, micro-UTU and Merkle leaf columns filled from the stored receipts and digests,
    its index by line made again with ``seq``), and its statement is unchanged."""
    import sqlite3

    before = _draft(world)
    before_list = before.receipt_list
    world.payee_ledger.close()
    {2: _as_schema_v2, 3: _as_schema_v3, 4: _as_schema_v4}[version](tmp_path / "payee.db")
    with SqliteLedger(tmp_path / "payee.db") as migrated:
        after = build_statement(
            migrated, payee=PROVIDER, payer=OPERATOR, period=(START, END),
            statement_id="st-1", seq=1, iat=END + 3 * DAY,
        )  # fmt: skip
        assert after.receipt_list == before_list
    assert after.claims == before.claims
    with sqlite3.connect(tmp_path / "payee.db") as raw:
        version = raw.execute(
            "SELECT version FROM tokenfed_schema WHERE component = 'receipt_ledger'"
        ).fetchone()
        empty = raw.execute(
            "SELECT count(*) FROM receipts"
            " WHERE model IS NULL OR micro IS NULL OR length(merkle_leaf) IS NOT 32"
        ).fetchone()
        indexes = raw.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'receipts'"
            " AND sql IS NOT NULL ORDER BY name"
        ).fetchall()
    assert version == (5,) and empty == (0,)
    assert [name for name, _ in indexes] == ["receipts_by_line", "receipts_in_order"]
    assert "iat, seq, micro" in indexes[0][1]


def test_statement_from_entries_recorded_without_model_reads_the_receipts(
    world: World, tmp_path: Path
) -> None:
    """SET-020: ledger entries recorded without model, card digest or micro amount (another
    writer of the ledger interface) are read from their receipts: the statement is the same."""
    from dataclasses import replace

    entries = [
        replace(entry, model=None, rate_card_digest=None)
        for entry in world.payee_ledger.stream_entries(PROVIDER, OPERATOR)
    ]
    with SqliteLedger(tmp_path / "bare.db") as bare:
        bare.record(entries)
        draft = build_statement(
            bare, payee=PROVIDER, payer=OPERATOR, period=(START, END),
            statement_id="st-1", seq=1, iat=END + 3 * DAY,
        )  # fmt: skip
        assert draft.receipt_list == _draft(world).receipt_list
    assert draft.claims == _draft(world).claims


def test_receipt_list_of_a_ledger_statement_ignores_later_receipts(world: World) -> None:
    """SET-028: the receipt list of a statement built from a ledger lists exactly the receipts
    its totals count, even when a late receipt is recorded between building and listing."""
    period = (START, END + 2 * DAY)
    draft = _draft(world, period=period)
    card = RateCard.from_jws(RateCard.sign(CARD, world.keys[PROVIDER]), world.trust)
    issuer = ReceiptIssuer(world.keys[PROVIDER], PROVIDER, card)
    iats = [START - DAY, *(START + i * DAY for i in range(1, 7)), END + 1]
    for i, iat in enumerate(iats):  # the world's stream again (Ed25519 signs deterministically)
        assert (
            issuer.issue(aud=OPERATOR, sub=SUB, usage=_usage(i), jti=f"r{i}", iat=iat)
            == (world.tokens[i])
        )
    late = issuer.issue(aud=OPERATOR, sub=SUB, usage=_usage(9), jti="late", iat=END + DAY)
    verifier = ReceiptVerifier(world.trust, [card], clock=lambda: END + 10 * DAY)
    with ReceiptTracker(world.payee_ledger).transaction() as tx:
        tx.track(verifier.verify(late))
    listed = draft.receipt_list["receipts"]
    assert len(listed) == draft.claims["totals"]["count"] == 8
    assert "late" not in {item["jti"] for item in listed}
    assert _draft(world, period=period).claims["totals"]["count"] == 9


@pytest.mark.parametrize(
    "history",
    [
        {"last_seq": 0, "finalized": [{"start": "a", "end": None}], "disputed": []},
        {"last_seq": 0, "finalized": [{"start": 5, "end": 5}], "disputed": []},
        {"last_seq": -1, "finalized": [], "disputed": []},
        {"last_seq": 1, "finalized": [], "disputed": [
            {"period": {"start": 1, "end": 2}, "statement": {"statement_id": "a b",
                                                            "digest": "sha256:" + "0" * 64}}]},
        {"last_seq": 1, "finalized": [], "disputed": [
            {"period": {"start": 1, "end": 2}, "statement": {"statement_id": "s", "digest": 7}}]},
    ],
    ids=["period-not-numbers", "period-empty", "seq-negative", "statement-id", "digest"],
)  # fmt: skip
def test_a_pair_history_not_of_its_shape_is_refused(history: dict[str, Any]) -> None:
    """SET-010, SET-023, SET-024: a pair history read back (``--history``) whose periods or
    references are not of their shape is schema_violation, never kept and written again."""
    with pytest.raises(SchemaViolationError):
        PairHistory.from_json(history)
