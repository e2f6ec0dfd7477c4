"""Entitlements (spec chapter "Entitlements"): vectors, the SDK API, reservations under
concurrency of threads and processes, crash safety, receipts under an entitlement."""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tokenfed.entitlements import (
    CLOCK_SKEW,
    Entitlement,
    IssuedEntitlements,
    Reservations,
    issue_entitlement,
)
from tokenfed.errors import (
    EntitlementExpiredError,
    LimitExceededError,
    OutOfScopeError,
    SchemaViolationError,
    UnknownEntitlementError,
    UnknownKeyError,
    UnknownReservationError,
    WrongAudienceError,
)
from tokenfed.keys import KeyValidity, PrivateKey, PublicKey, generate_key
from tokenfed.receipts import ReceiptIssuer, ReceiptVerifier, pairwise_subject
from tokenfed.trust import TrustStore
from tokenfed.units import RateCard
from tokenfed_conformance.vectors import Vector, load_vectors

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "spec" / "tools" / "make_entitlement_vectors.py"
VECTORS = load_vectors("entitlements")
T0 = 1767225600
OPERATOR = "https://operator.alliance-a.example"
PROVIDER = "https://provider.alliance-b.example"
SUB = pairwise_subject(b"home operator secret 32 bytes!!!", PROVIDER, "subscriber-42")


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("make_entitlement_vectors", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _generator()


@pytest.mark.parametrize("vector", list(VECTORS), ids=lambda v: v.id)
def test_vector(vector: Vector) -> None:
    """ENT-020, ENT-021, ENT-030..ENT-044, ENT-050, ENT-052: the SDK gives exactly the
    expected result, or exactly the one expected code."""
    assert GENERATOR.run(vector.input, VECTORS.extra["fixtures"]) == vector.expected


def test_vector_file_is_generated() -> None:
    """The vector file is exactly what spec/tools/make_entitlement_vectors.py produces."""
    result = subprocess.run(
        [sys.executable, str(TOOL), "--check"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr


def test_every_entitlement_code_has_a_vector() -> None:
    """Each code of the chapter is the expected error of at least one vector."""
    codes = {vector.error for vector in VECTORS}
    assert {
        "entitlement_expired",
        "entitlement_not_yet_valid",
        "wrong_audience",
        "out_of_scope",
        "limit_exceeded",
        "unknown_entitlement",
        "unknown_reservation",
        "replay",
        "key_not_valid",
    } <= codes


# --------------------------------------------------------------------------- helpers


@pytest.fixture
def operator_key() -> PrivateKey:
    return generate_key()


def _issue(key: PrivateKey, **changes: Any) -> str:
    arguments: dict[str, Any] = {
        "key": key,
        "iss": OPERATOR,
        "aud": PROVIDER,
        "sub": SUB,
        "scope": ["qwen-max", "deepseek-r1"],
        "limit": "10",
        "ttl": 3600,
        "iat": T0,
    }
    arguments.update(changes)
    return issue_entitlement(**arguments)


def _verified(key: PrivateKey, **changes: Any) -> Entitlement:
    return Entitlement.from_jws(
        _issue(key, **changes), key.public_key(), audience=PROVIDER, now=T0 + 1
    )


# --------------------------------------------------------------------------- the document


def test_issue_and_verify_round_trip(operator_key: PrivateKey) -> None:
    """ENT-001, ENT-010: an issued entitlement verifies with the operator's key and carries
    what was asked; lifetime is ttl."""
    entitlement = _verified(operator_key, jti="ent-1")
    assert entitlement.iss == OPERATOR and entitlement.aud == PROVIDER
    assert entitlement.sub == SUB and entitlement.jti == "ent-1"
    assert entitlement.scope == ("qwen-max", "deepseek-r1")
    assert entitlement.limit == Decimal("10") and entitlement.limit_micro == 10_000_000
    assert entitlement.exp == T0 + 3600
    assert entitlement.verified_by == operator_key.kid
    assert entitlement.digest.startswith("sha256:")


def test_only_verified_entitlements_exist() -> None:
    """Signed documents are only ever used verified: there is no public constructor."""
    with pytest.raises(TypeError):
        Entitlement()


def test_trust_store_and_key_source(operator_key: PrivateKey) -> None:
    """ENT-010: the key comes from a trust store (by iss and kid) or any key source, which is
    given the document typ when its key method takes one."""
    token = _issue(operator_key)
    public = operator_key.public_key(KeyValidity(nbf=T0 - 10))
    store = TrustStore().with_key(OPERATOR, public)
    assert Entitlement.from_jws(token, store, audience=PROVIDER, now=T0).jti

    keyword: list[str] = []

    class KeywordSource:
        def key(self, iss: Any, kid: Any, *, typ: str) -> PublicKey:
            keyword.append(typ)
            return store.key(iss, kid)

    Entitlement.from_jws(token, KeywordSource(), audience=PROVIDER, now=T0)
    assert keyword == ["tokenfed-entitlement+jwt"]
    asked: list[tuple[Any, ...]] = []

    class TypedSource:
        def key(self, iss: Any, kid: Any, typ: str) -> PublicKey:
            asked.append((iss, kid, typ))
            return store.key(iss, kid)

    Entitlement.from_jws(token, TypedSource(), audience=PROVIDER, now=T0)
    assert asked == [(OPERATOR, operator_key.kid, "tokenfed-entitlement+jwt")]
    other = TrustStore().with_key("https://someone-else.example", public)
    with pytest.raises(UnknownKeyError):
        Entitlement.from_jws(token, other, audience=PROVIDER, now=T0)
    with pytest.raises(TypeError):
        Entitlement.from_jws(token, "not a key", audience=PROVIDER, now=T0)  # type: ignore[arg-type]


def test_time_edges_use_the_fixed_skew(operator_key: PrivateKey) -> None:
    """ENT-021: valid until exp + 59, expired at exp + 60."""
    token = _issue(operator_key)
    exp = T0 + 3600
    Entitlement.from_jws(token, operator_key.public_key(), audience=PROVIDER, now=exp + 59)
    with pytest.raises(EntitlementExpiredError):
        Entitlement.from_jws(
            token, operator_key.public_key(), audience=PROVIDER, now=exp + CLOCK_SKEW
        )


def test_wrong_audience(operator_key: PrivateKey) -> None:
    """ENT-020 step 10: another provider refuses it."""
    with pytest.raises(WrongAudienceError):
        Entitlement.from_jws(
            _issue(operator_key),
            operator_key.public_key(),
            audience="https://other.example",
            now=T0,
        )


def test_issue_refuses_misuse(operator_key: PrivateKey) -> None:
    """API misuse raises TypeError/ValueError; claims that break the schema raise the code."""
    with pytest.raises(ValueError, match="ttl"):
        _issue(operator_key, ttl=86401)
    with pytest.raises(TypeError, match="scope"):
        _issue(operator_key, scope="qwen-max")
    with pytest.raises(TypeError, match="limit"):
        _issue(operator_key, limit=10)
    with pytest.raises(ValueError, match="entity id"):
        _issue(operator_key, aud="http://provider.example")
    with pytest.raises(SchemaViolationError):
        _issue(operator_key, scope=["*"])


# --------------------------------------------------------------------------- reservations


def test_reservation_api(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-040..ENT-042: reserve, settle, release, consumption, open reservations."""
    entitlement = _verified(operator_key)
    with Reservations(tmp_path / "r.db", hold=60, clock=lambda: T0 + 5) as store:
        first = store.reserve(entitlement, "qwen-max", Decimal("6"))
        second = store.reserve(entitlement, "deepseek-r1", Decimal("4"))
        assert first.expires == T0 + 65
        with pytest.raises(LimitExceededError):
            store.reserve(entitlement, "qwen-max", Decimal("0.000001"))
        settled = store.settle(first.id, Decimal("1.250000"))
        assert settled.actual == Decimal("1.25") and settled.reserved == Decimal("6")
        assert store.settlement(first.id) == settled
        store.release(second.id)
        state = store.consumption(entitlement)
        assert (state.settled, state.outstanding, state.available) == (
            Decimal("1.25"),
            Decimal("0"),
            Decimal("8.75"),
        )
        assert store.consumed(entitlement.jti) == Decimal("1.25")
        assert store.open_reservations() == []
        with pytest.raises(UnknownReservationError):
            store.release(second.id)
        with pytest.raises(OutOfScopeError):
            store.reserve(entitlement, "gpt-5", Decimal("1"))
        with pytest.raises(EntitlementExpiredError):
            store.reserve(entitlement, "qwen-max", Decimal("1"), now=T0 + 3660)
        with pytest.raises(UnknownEntitlementError):
            store.consumption("never-seen")
        fresh = _verified(operator_key, jti="ent-fresh", limit="3")
        assert store.consumption(fresh).available == Decimal("3")
        for bad in (Decimal("0"), Decimal("-1"), Decimal("0.0000001"), Decimal("NaN")):
            with pytest.raises(ValueError, match="amount"):
                store.reserve(entitlement, "qwen-max", bad)
        with pytest.raises(TypeError):
            store.reserve(entitlement, "qwen-max", 1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            store.reserve("token", "qwen-max", Decimal("1"))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="hold"):
        Reservations(tmp_path / "r.db", hold=3601)


def test_stale_reservations_expire(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-042: expire_stale releases what outlived its hold and says how many."""
    entitlement = _verified(operator_key)
    with Reservations(tmp_path / "r.db", hold=30) as store:
        store.reserve(entitlement, "qwen-max", Decimal("1"), now=T0)
        store.reserve(entitlement, "qwen-max", Decimal("1"), now=T0 + 10)
        assert store.expire_stale(now=T0 + 30) == 1
        assert len(store.open_reservations(now=T0 + 30)) == 1


AMOUNT = Decimal("0.3")
LIMIT = "10"
EXPECTED_WINNERS = 33  # floor(10 / 0.3)
REQUESTS = 50


def _race_one(db: str, token: str, public: dict[str, Any], barrier: Any, results: Any) -> None:
    """One contender: its own store on the shared file, all released at once."""
    from tokenfed.keys import load_public_jwk

    entitlement = Entitlement.from_jws(
        token, load_public_jwk(public), audience=PROVIDER, now=T0 + 1
    )
    with Reservations(db, clock=lambda: T0 + 2) as store:
        barrier.wait()
        try:
            store.reserve(entitlement, "qwen-max", AMOUNT)
            results.put("reserved")
        except LimitExceededError:
            results.put("limit_exceeded")


def test_fifty_threads_never_pass_the_limit(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-032, ENT-040: 50 threads, each with its own store on one file, reserve 0.3 at once
    under a limit of 10: exactly floor(10 / 0.3) = 33 succeed, the rest are limit_exceeded,
    and the store holds exactly 9.9."""
    import queue

    token = _issue(operator_key, limit=LIMIT)
    db = str(tmp_path / "threads.db")
    Reservations(db).close()
    barrier = threading.Barrier(REQUESTS)
    results: queue.Queue[str] = queue.Queue()
    public = operator_key.public_key().to_jwk()
    threads = [
        threading.Thread(target=_race_one, args=(db, token, public, barrier, results))
        for _ in range(REQUESTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = [results.get_nowait() for _ in range(REQUESTS)]
    assert outcomes.count("reserved") == EXPECTED_WINNERS
    assert outcomes.count("limit_exceeded") == REQUESTS - EXPECTED_WINNERS
    entitlement = Entitlement.from_jws(token, operator_key.public_key(), audience=PROVIDER, now=T0)
    with Reservations(db, clock=lambda: T0 + 2) as store:
        assert store.consumption(entitlement).outstanding == Decimal("9.9")


def test_fifty_threads_sharing_one_store(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-040: the same race through one shared instance: still exactly 33."""
    entitlement = _verified(operator_key, limit=LIMIT)
    barrier = threading.Barrier(REQUESTS)
    won: list[bool] = []
    lock = threading.Lock()
    with Reservations(tmp_path / "shared.db", clock=lambda: T0 + 2) as store:

        def contend() -> None:
            barrier.wait()
            try:
                store.reserve(entitlement, "qwen-max", AMOUNT)
                outcome = True
            except LimitExceededError:
                outcome = False
            with lock:
                won.append(outcome)

        threads = [threading.Thread(target=contend) for _ in range(REQUESTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert won.count(True) == EXPECTED_WINNERS
        assert store.consumption(entitlement).outstanding == Decimal("9.9")


def _process_context() -> Any:
    """Separate processes: forked where the platform can (fast), else spawned. A forked child
    opens its own SQLite connection, so the file locks are taken by different processes."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def test_fifty_processes_never_pass_the_limit(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-032, ENT-040, ENT-043: 50 processes reserve 0.3 at once on one file under a limit of
    10: exactly 33 succeed and the store holds exactly 9.9."""
    context = _process_context()
    token = _issue(operator_key, limit=LIMIT)
    db = str(tmp_path / "processes.db")
    Reservations(db).close()
    barrier = context.Barrier(REQUESTS)
    results = context.Queue()
    public = operator_key.public_key().to_jwk()
    processes = [
        context.Process(target=_race_one, args=(db, token, public, barrier, results))
        for _ in range(REQUESTS)
    ]
    for process in processes:
        process.start()
    try:
        outcomes = [results.get(timeout=300) for _ in range(REQUESTS)]
    finally:
        for process in processes:
            process.join(timeout=60)
            if process.is_alive():
                process.kill()
                process.join()
    assert all(process.exitcode == 0 for process in processes)
    assert outcomes.count("reserved") == EXPECTED_WINNERS
    assert outcomes.count("limit_exceeded") == REQUESTS - EXPECTED_WINNERS
    entitlement = Entitlement.from_jws(token, operator_key.public_key(), audience=PROVIDER, now=T0)
    with Reservations(db, clock=lambda: T0 + 2) as store:
        assert store.consumption(entitlement).outstanding == Decimal("9.9")
        assert len(store.open_reservations()) == EXPECTED_WINNERS


# --------------------------------------------------------------------------- crash safety


class _StallingConnection:
    """Passes statements through; after the one that matches, says so and waits to be killed."""

    def __init__(self, connection: Any, after: str, marker: str) -> None:
        self._connection = connection
        self._after = after
        self._marker = marker

    def execute(self, sql: str, *args: Any) -> Any:
        result = self._connection.execute(sql, *args)
        if sql.startswith(self._after):
            Path(self._marker).write_text("inside the transaction", encoding="utf-8")
            time.sleep(600)  # the parent kills this process long before
        return result


def _stall_inside(db: str, token: str, public: dict[str, Any], after: str, marker: str) -> None:
    """Child process: a store whose transaction stops after ``after`` until it is killed."""
    from tokenfed.keys import load_public_jwk

    class Stalling(Reservations):
        @contextmanager
        def _write(self, action: str) -> Iterator[Any]:
            with super()._write(action) as connection:
                yield _StallingConnection(connection, after, marker)

    entitlement = Entitlement.from_jws(token, load_public_jwk(public), audience=PROVIDER, now=T0)
    store = Stalling(db, clock=lambda: T0 + 2)
    if after.startswith("UPDATE"):
        (held,) = store.open_reservations()
        store.settle(held.id, Decimal("1"))
    else:
        store.reserve(entitlement, "qwen-max", Decimal("2"))


def _kill_inside(db: str, token: str, key: PrivateKey, after: str, tmp_path: Path) -> None:
    marker = tmp_path / f"marker-{after.split()[0].lower()}"
    context = _process_context()
    child = context.Process(
        target=_stall_inside, args=(db, token, key.public_key().to_jwk(), after, str(marker))
    )
    child.start()
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.is_alive(), "the child ended before reaching the transaction"
            assert time.monotonic() < deadline, "the child never reached the transaction"
            time.sleep(0.05)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.join(timeout=60)
    assert child.exitcode == -signal.SIGKILL


def test_killed_mid_reservation_leaves_nothing(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-043: a process killed inside its reservation transaction (after the row was written,
    before COMMIT) leaves no reservation and the limit untouched; a process killed inside a
    settlement leaves the reservation open and nothing settled."""
    token = _issue(operator_key)
    db = str(tmp_path / "crash.db")
    entitlement = Entitlement.from_jws(token, operator_key.public_key(), audience=PROVIDER, now=T0)
    with Reservations(db, clock=lambda: T0 + 2) as store:
        store.reserve(entitlement, "qwen-max", Decimal("3"))
    _kill_inside(db, token, operator_key, "INSERT INTO reservations", tmp_path)
    with Reservations(db, clock=lambda: T0 + 2) as store:
        assert [held.amount for held in store.open_reservations()] == [Decimal("3")]
        state = store.consumption(entitlement)
        assert (state.settled, state.outstanding) == (Decimal("0"), Decimal("3"))
    _kill_inside(db, token, operator_key, "UPDATE entitlements", tmp_path)
    with Reservations(db, clock=lambda: T0 + 2) as store:
        (held,) = store.open_reservations()
        assert held.amount == Decimal("3")
        assert store.settlement(held.id) is None
        assert store.consumption(entitlement).settled == Decimal("0")
        store.settle(held.id, Decimal("2.5"))  # the store is consistent and usable
        assert store.consumed(entitlement) == Decimal("2.5")


# --------------------------------------------------------------------------- receipts


def test_receipt_under_an_entitlement(tmp_path: Path, operator_key: PrivateKey) -> None:
    """ENT-050, ENT-051, ENT-052: issue_under prices, settles the reservation and signs a
    receipt naming the entitlement, to the operator, for the subscriber; the receipt verifies
    and the operator's check accepts it."""
    provider_key = generate_key()
    claims = dict(load_vectors("receipts").extra["fixtures"]["rate_cards"]["default"])
    claims["iss"] = PROVIDER
    provider_trust = TrustStore().with_key(
        PROVIDER, provider_key.public_key(KeyValidity(nbf=claims["iat"]))
    )
    card = RateCard.from_jws(RateCard.sign(claims, provider_key), provider_trust)
    entitlement = _verified(operator_key)
    usage = {"model": "qwen-max", "meters": {"input": 1200, "output": 300}}
    issuer = ReceiptIssuer(provider_key, PROVIDER, card, clock=lambda: T0 + 10)
    with Reservations(tmp_path / "r.db", clock=lambda: T0 + 5) as store:
        held = store.reserve(entitlement, "qwen-max", Decimal("5"))
        receipt = issuer.issue_under(entitlement, store, held.id, usage)
        verified = ReceiptVerifier(provider_trust, [card], clock=lambda: T0 + 20).verify(receipt)
        assert verified.raw["entitlement"] == entitlement.jti
        assert verified.raw["aud"] == OPERATOR and verified.raw["sub"] == SUB
        assert store.consumed(entitlement) == Decimal(verified.raw["amount"])
        with pytest.raises(UnknownReservationError):  # settled once only (ENT-051)
            issuer.issue_under(entitlement, store, held.id, usage)
        other = store.reserve(entitlement, "qwen-max", Decimal("1"))
        with pytest.raises(OutOfScopeError):
            issuer.issue_under(entitlement, store, other.id, {"model": "gpt-5", "meters": {}})
        tiny = store.reserve(entitlement, "qwen-max", Decimal("0.000001"))
        with pytest.raises(LimitExceededError):  # priced above the reservation (ENT-041)
            issuer.issue_under(entitlement, store, tiny.id, usage)
    issued = IssuedEntitlements(OPERATOR)
    issued.add(entitlement.token, operator_key.public_key())
    assert issued.check_receipt(verified.raw) is not None
    with pytest.raises(ValueError, match="issued by"):
        IssuedEntitlements("https://other-operator.example").add(
            entitlement.token, operator_key.public_key()
        )
    stranger = ReceiptIssuer(provider_key, "https://stranger.example", card)
    with pytest.raises(WrongAudienceError):
        stranger.issue_under(entitlement, store, held.id, usage)


# --------------------------------------------------------------------------- command line


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from tokenfed.cli import main

    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_issue_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``tokenfed entitlement issue`` derives the pairwise sub for the provider (ENT-002) and
    signs; ``verify`` runs ENT-020 with --key or --trust and prints the claims; a rejection is
    one JSON error object and exit 1; a bad command line exit 2 (invalid_arguments)."""
    import json

    key = generate_key()
    (tmp_path / "op.jwk").write_text(json.dumps(key.to_jwk()), encoding="utf-8")
    (tmp_path / "op.pub.jwk").write_text(json.dumps(key.public_key().to_jwk()), encoding="utf-8")
    secret = b"home operator secret 32 bytes!!!"
    (tmp_path / "secret").write_bytes(secret)
    common = [
        "entitlement", "issue", "--key", str(tmp_path / "op.jwk"), "--iss", OPERATOR,
        "--aud", PROVIDER, "--scope", "qwen-max", "deepseek-r1", "--limit", "250",
        "--ttl", "3600", "--iat", str(T0), "--jti", "ent-cli",
    ]  # fmt: skip
    status, out, _ = _cli(
        capsys, *common, "--sub-secret", str(tmp_path / "secret"), "--account", "subscriber-42"
    )
    assert status == 0
    (tmp_path / "ent.jwt").write_text(out, encoding="utf-8")
    verify = ["entitlement", "verify", "--key", str(tmp_path / "op.pub.jwk"), "--at", str(T0)]
    status, out, _ = _cli(capsys, *verify, "--audience", PROVIDER, str(tmp_path / "ent.jwt"))
    assert status == 0
    claims = json.loads(out)
    assert claims["sub"] == SUB and claims["limit"] == "250" and claims["exp"] == T0 + 3600
    assert claims["scope"] == ["qwen-max", "deepseek-r1"]

    status, _, err = _cli(
        capsys, *verify, "--audience", "https://other.example", str(tmp_path / "ent.jwt")
    )
    assert (status, json.loads(err)["error"]) == (1, "wrong_audience")
    store = TrustStore().with_key(OPERATOR, key.public_key(KeyValidity(nbf=T0 - 60)))
    (tmp_path / "trust.json").write_text(json.dumps(store.to_json()), encoding="utf-8")
    late = ["entitlement", "verify", "--trust", str(tmp_path / "trust.json")]
    status, _, err = _cli(
        capsys, *late, "--at", str(T0 + 3660), "--audience", PROVIDER, str(tmp_path / "ent.jwt")
    )
    assert (status, json.loads(err)["error"]) == (1, "entitlement_expired")

    status, _, err = _cli(capsys, *common, "--sub", SUB, "--limit", "0")
    assert (status, json.loads(err)["error"]) == (1, "invalid_amount")
    status, _, err = _cli(capsys, *common[:-4], "--ttl", "86401", "--sub", SUB)
    assert (status, json.loads(err)["error"]) == (2, "invalid_arguments")
    (tmp_path / "short").write_bytes(b"too short")
    status, _, err = _cli(
        capsys, *common, "--sub-secret", str(tmp_path / "short"), "--account", "subscriber-42"
    )
    assert (status, json.loads(err)["error"]) == (2, "invalid_arguments")
    status, _, err = _cli(capsys, *common, "--sub-secret", str(tmp_path / "secret"))
    assert (status, json.loads(err)["error"]) == (2, "invalid_arguments")


def test_a_jwk_set_given_as_one_key_is_invalid_key_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CONV-050: a key option given a JWK Set (an anchor's or a trust store's keys) is refused
    with invalid_key and a message that says what to give instead, not a bare type error."""
    keys = tmp_path / "keys.json"
    keys.write_text('{"keys": []}')
    token = tmp_path / "e.jwt"
    token.write_text("a.b.c")
    argv = ["entitlement", "verify", "--key", str(keys), "--audience", "https://p.example"]
    from tokenfed.cli import main

    assert main([*argv, str(token)]) == 1
    import json

    error = json.loads(capsys.readouterr().err)
    assert error["error"] == "invalid_key"
    assert "JWK Set" in error["message"] and "--trust" in error["message"]
