"""Trust marks: format and verification through the issuer's chain (FED-090, FED-091)."""

from __future__ import annotations

from typing import Any

import pytest

from _federation import EXP, IDS, NOW, anchor, ec, key, ss
from tokenfed import _jws
from tokenfed.errors import TokenfedError
from tokenfed.federation import TrustChain, validate_chain, verify_trust_mark

CERTIFIED = "https://tokenfed.example/marks/certified"
MARKS = {"marks": "https://marks.alliance-a.example"}


@pytest.fixture(autouse=True)
def _marks_issuer() -> Any:
    IDS.update(MARKS)
    yield
    for name in MARKS:
        del IDS[name]


def issuer_chain(listed: tuple[str, ...] = ("marks",)) -> TrustChain:
    """The chain of the trust mark issuer under the anchor, whose EC lists ``listed``."""
    statements = [
        ec("marks", hints=("ta",), metadata={"federation_entity": {"organization_name": "m"}}),
        ss("ta", "marks"),
        ec("ta", trust_mark_issuers={CERTIFIED: [IDS[name] for name in listed]}),
    ]
    return validate_chain(statements, [anchor("ta")], now=NOW)


def mark(signer: str = "marks", typ: str = "trust-mark+jwt", **change: Any) -> str:
    claims: dict[str, Any] = {
        "iss": IDS["marks"],
        "sub": IDS["leaf"],
        "trust_mark_type": CERTIFIED,
        "iat": NOW - 60,
        "exp": EXP,
    }
    claims.update(change)
    claims = {name: value for name, value in claims.items() if value is not None}
    return _jws.sign(claims, key(signer), typ)


def code_of(token: str, chain: TrustChain | None = None, **kw: Any) -> str:
    with pytest.raises(TokenfedError) as caught:
        verify_trust_mark(token, chain or issuer_chain(), subject=IDS["leaf"], now=NOW, **kw)
    return caught.value.code


def test_valid_trust_mark() -> None:
    """FED-090, FED-091: a mark by a listed issuer, signed with its attested key."""
    claims = verify_trust_mark(
        mark(), issuer_chain(), subject=IDS["leaf"], now=NOW, trust_mark_type=CERTIFIED
    )
    assert claims["trust_mark_type"] == CERTIFIED


def test_wrong_typ() -> None:
    """FED-091 (1): typ trust-mark+jwt."""
    assert code_of(mark(typ="entity-statement+jwt")) == "unsupported_typ"


def test_exp_is_required() -> None:
    """FED-090, FED-091 (2): exp is REQUIRED in tokenfed."""
    assert code_of(mark(exp=None)) == "schema_violation"


def test_issuer_not_listed_by_the_anchor() -> None:
    """FED-091 (3): the anchor lists the issuer for the mark's type."""
    assert code_of(mark(), issuer_chain(listed=("org",))) == "invalid_statement"


def test_unlisted_type() -> None:
    """FED-091 (3): a type the anchor lists no issuer for."""
    assert code_of(mark(trust_mark_type="https://tokenfed.example/marks/other")) == (
        "invalid_statement"
    )


def test_signed_with_a_key_not_attested() -> None:
    """FED-091 (4): the issuer's federation keys as its superior attests them."""
    assert code_of(mark(signer="rogue")) == "unknown_key"


def test_altered_mark() -> None:
    """FED-091 (4): the signature verifies."""
    head, _, signature = mark().split(".")
    payload = mark(exp=EXP - 1).split(".")[1]
    assert code_of(f"{head}.{payload}.{signature}") == "invalid_signature"


def test_mark_about_another_entity() -> None:
    """FED-091 (5): sub is the entity the mark is presented for."""
    assert code_of(mark(sub=IDS["op"])) == "invalid_statement"


def test_mark_of_another_type_than_expected() -> None:
    """FED-091 (5): the type of the trust_marks entry that carries it."""
    assert code_of(mark(), trust_mark_type="https://tokenfed.example/marks/x") == (
        "invalid_statement"
    )


def test_expired_mark() -> None:
    """FED-091 (6): times as FED-021."""
    assert code_of(mark(iat=NOW - 7200, exp=NOW - 60)) == "statement_expired"


def test_mark_from_the_future() -> None:
    """FED-091 (6)."""
    assert code_of(mark(iat=NOW + 61, exp=NOW + 600)) == "statement_not_yet_valid"


def test_chain_of_another_entity() -> None:
    """A chain that is not the issuer's is a programming error."""
    chain = issuer_chain()
    with pytest.raises(ValueError, match="not the issuer"):
        verify_trust_mark(mark(iss=IDS["org"]), chain, subject=IDS["leaf"], now=NOW)
