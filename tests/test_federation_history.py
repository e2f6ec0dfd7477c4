"""Historical keys and archived chains (spec/federation.md FED-150..FED-157).

The historical keys document is signed, read and verified; the anchor keys admitted to verify an
archived chain follow FED-154..FED-156 (research cases H1-H3: a rotated-out key still vouches
for statements issued while it was in use; a key revoked as compromised vouches for nothing; a
statement issued after its key's exp is refused).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import _federation as fed
from tokenfed import _jws
from tokenfed.errors import TokenfedError
from tokenfed.federation import (
    HistoricalKeys,
    TrustAnchor,
    TrustChain,
    sign_historical_keys,
    validate_chain,
    verify_archived_chain,
)
from tokenfed.federation._history import anchor_keys_at, read_archived_chain
from tokenfed.keys import KeySet, PrivateKey, generate_key
from tokenfed_conformance.vectors import Vector, load_vectors

ANCHOR = "https://anchor.alliance-a.example"
LEAF = "https://provider.alliance-a.example"
T0 = 1_780_000_000
DAY = 86400
OLD = generate_key()
NEW = generate_key("ES256")
OTHER = generate_key()


def retired(key: PrivateKey, exp: int, **members: Any) -> dict[str, Any]:
    """The public JWK of a retired key with its listing members."""
    return {**key.public_key().to_jwk(with_validity=False), "exp": exp, **members}


def document(*keys: dict[str, Any], iss: str = ANCHOR, signer: PrivateKey = NEW) -> HistoricalKeys:
    token = sign_historical_keys(iss, list(keys), signer, iat=T0 + 40 * DAY)
    return HistoricalKeys.decode(token).verify_with(KeySet([signer.public_key()]))


def statement(key: PrivateKey, iat: int, iss: str = ANCHOR, sub: str = ANCHOR) -> str:
    """A statement signed by ``key`` (only its header and iss/sub/iat matter here)."""
    return _jws.sign(
        {"iss": iss, "sub": sub, "iat": iat, "exp": iat + DAY}, key, "entity-statement+jwt"
    )


def code_of(call: Callable[[], object]) -> str:
    with pytest.raises(TokenfedError) as caught:
        call()
    return caught.value.code


# --------------------------------------------------------------------------- the document


def test_sign_decode_verify_round_trip() -> None:
    """FED-150, FED-151: the document carries iss, iat and the keys with their windows; it is
    verified with the issuer's current keys and then usable."""
    token = sign_historical_keys(
        ANCHOR,
        [
            retired(
                OLD,
                T0 + 30 * DAY,
                iat=T0,
                revoked={"revoked_at": T0 + 20 * DAY, "reason": "superseded"},
            ),
            retired(OTHER, T0 + 10 * DAY, nbf=T0),
        ],
        NEW,
        iat=T0 + 40 * DAY,
    )
    header = _jws.decode(token, "jwk-set+jwt").header
    assert header["typ"] == "jwk-set+jwt"
    assert header["kid"] == NEW.kid
    read = HistoricalKeys.decode(token)
    assert not read.verified
    assert (read.iss, read.iat) == (ANCHOR, T0 + 40 * DAY)
    assert read.verify_with(KeySet([NEW.public_key()])) is read
    assert read.verified
    old, other = read.keys
    assert (old.kid, old.exp, old.reason) == (OLD.kid, T0 + 30 * DAY, "superseded")
    assert (other.kid, other.exp, other.reason) == (OTHER.kid, T0 + 10 * DAY, None)
    assert read.get(OTHER.kid) is other
    assert read.get(NEW.kid) is None
    assert read.token == token


def test_public_key_objects_are_listed_with_their_window() -> None:
    """FED-150: a PublicKey whose window has exp may be listed directly."""
    from tokenfed.keys import KeyValidity

    read = document(OLD.public_key(KeyValidity(exp=T0)).to_jwk())
    assert read.keys[0].exp == T0
    token = sign_historical_keys(ANCHOR, [OLD.public_key(KeyValidity(exp=T0))], NEW, iat=T0)
    assert HistoricalKeys.decode(token).keys[0].exp == T0


def claims_with(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {"iss": ANCHOR, "iat": T0, "keys": [retired(OLD, T0 + DAY)]}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


BAD_DOCUMENTS = [
    ("no-iss", claims_with(iss=None), "schema_violation"),
    ("iss-not-entity-id", claims_with(iss="http://anchor.example"), "schema_violation"),
    ("iss-trailing-slash", claims_with(iss=ANCHOR + "/"), "schema_violation"),
    ("no-iat", claims_with(iat=None), "schema_violation"),
    ("iat-string", claims_with(iat="1"), "schema_violation"),
    ("keys-object", claims_with(keys={"keys": []}), "schema_violation"),
    ("key-not-object", claims_with(keys=["x"]), "schema_violation"),
    (
        "key-without-exp",
        claims_with(keys=[OLD.public_key().to_jwk(with_validity=False)]),
        "invalid_key",
    ),
    ("key-exp-string", claims_with(keys=[retired(OLD, T0) | {"exp": "soon"}]), "invalid_key"),
    ("key-iat-negative", claims_with(keys=[retired(OLD, T0, iat=-1)]), "invalid_key"),
    ("key-private", claims_with(keys=[{**OLD.to_jwk(), "exp": T0}]), "invalid_key"),
    (
        "key-without-kid",
        claims_with(keys=[{k: v for k, v in retired(OLD, T0).items() if k != "kid"}]),
        "invalid_key",
    ),
    (
        "key-kid-not-thumbprint",
        claims_with(keys=[retired(OLD, T0) | {"kid": OTHER.kid}]),
        "invalid_key",
    ),
    ("key-twice", claims_with(keys=[retired(OLD, T0), retired(OLD, T0 + 1)]), "invalid_key"),
    (
        "key-reason-unknown",
        claims_with(keys=[retired(OLD, T0, revoked={"revoked_at": T0, "reason": "lost"})]),
        "invalid_key",
    ),
    (
        "key-revoked-without-time",
        claims_with(keys=[retired(OLD, T0, revoked={"reason": "superseded"})]),
        "invalid_key",
    ),
]


@pytest.mark.parametrize(
    ("claims", "code"),
    [case[1:] for case in BAD_DOCUMENTS],
    ids=[case[0] for case in BAD_DOCUMENTS],
)
def test_bad_documents_are_refused(claims: dict[str, Any], code: str) -> None:
    """FED-150: a document with a missing or mistyped member is a schema_violation; a listed key
    that breaks the key rules is invalid_key; reading and signing refuse alike."""
    token = _jws.sign(claims, NEW, "jwk-set+jwt")
    assert code_of(lambda: HistoricalKeys.decode(token)) == code


def test_signing_refuses_what_reading_refuses() -> None:
    """FED-150: the signer checks the document as a verifier would, before signing."""
    no_exp = OLD.public_key().to_jwk(with_validity=False)
    assert code_of(lambda: sign_historical_keys(ANCHOR, [no_exp], NEW, iat=T0)) == "invalid_key"
    assert code_of(lambda: sign_historical_keys("https://a.example/", [], NEW, iat=T0)) == (
        "schema_violation"
    )
    with pytest.raises(TypeError):
        sign_historical_keys(ANCHOR, ["not a key"], NEW, iat=T0)  # type: ignore[list-item]


def test_wrong_typ_is_refused() -> None:
    """FED-150: the header typ is exactly jwk-set+jwt."""
    token = _jws.sign(claims_with(), NEW, "entity-statement+jwt")
    assert code_of(lambda: HistoricalKeys.decode(token)) == "unsupported_typ"


def test_signature_is_checked_with_the_current_keys() -> None:
    """FED-151: a kid outside the issuer's current keys is unknown_key; a signature that does
    not belong to the payload is invalid_signature."""
    token = sign_historical_keys(ANCHOR, [retired(OLD, T0)], NEW, iat=T0)
    assert (
        code_of(lambda: HistoricalKeys.decode(token).verify_with(KeySet([OTHER.public_key()])))
        == "unknown_key"
    )
    other = sign_historical_keys(ANCHOR, [retired(OTHER, T0)], NEW, iat=T0)
    spliced = token.rsplit(".", 1)[0] + "." + other.rsplit(".", 1)[1]
    decoded = HistoricalKeys.decode(spliced)
    assert code_of(lambda: decoded.verify_with(KeySet([NEW.public_key()]))) == "invalid_signature"
    assert not decoded.verified


# --------------------------------------------------------------------------- admitted anchor keys


def test_h1_rotated_key_vouches_for_its_time() -> None:
    """H1, FED-154, FED-156: after the anchor rotated from OLD to NEW, statements OLD signed
    while in use are verified with OLD from the historical keys; the pinned NEW stays."""
    history = document(
        retired(OLD, T0 + 30 * DAY, revoked={"revoked_at": T0 + 20 * DAY, "reason": "superseded"})
    )
    chain = [statement(OTHER, T0, iss=LEAF, sub=LEAF), statement(OLD, T0), statement(OLD, T0 + DAY)]
    keys = anchor_keys_at(chain, ANCHOR, KeySet([NEW.public_key()]), history)
    assert sorted(key.kid for key in keys) == sorted([OLD.kid, NEW.kid])


def test_h2_compromised_key_vouches_for_nothing() -> None:
    """H2, FED-155: a key revoked as compromised refuses even a statement issued long before
    revoked_at (a thief can backdate)."""
    history = document(
        retired(OLD, T0 + 30 * DAY, revoked={"revoked_at": T0 + 20 * DAY, "reason": "compromised"})
    )
    chain = [statement(OLD, T0 - 100 * DAY)]
    assert (
        code_of(lambda: anchor_keys_at(chain, ANCHOR, KeySet([NEW.public_key()]), history))
        == "key_not_valid"
    )


def test_h3_statement_after_exp_is_refused() -> None:
    """H3, FED-156: a statement issued at or after the key's exp is refused; one second before
    is accepted."""
    history = document(retired(OLD, T0 + 10 * DAY))
    pinned = KeySet([NEW.public_key()])
    assert (
        code_of(lambda: anchor_keys_at([statement(OLD, T0 + 10 * DAY)], ANCHOR, pinned, history))
        == "key_not_valid"
    )
    assert OLD.kid in {
        k.kid for k in anchor_keys_at([statement(OLD, T0 + 10 * DAY - 1)], ANCHOR, pinned, history)
    }


@pytest.mark.parametrize("reason", ["superseded", "unspecified", None])
def test_revoked_key_vouches_before_revoked_at_only(reason: str | None) -> None:
    """FED-156: superseded, unspecified or no reason: statements before revoked_at only."""
    revoked: dict[str, Any] = {"revoked_at": T0 + 5 * DAY}
    if reason is not None:
        revoked["reason"] = reason
    history = document(retired(OLD, T0 + 30 * DAY, revoked=revoked))
    pinned = KeySet([NEW.public_key()])
    anchor_keys_at([statement(OLD, T0 + 5 * DAY - 1)], ANCHOR, pinned, history)
    assert (
        code_of(lambda: anchor_keys_at([statement(OLD, T0 + 5 * DAY)], ANCHOR, pinned, history))
        == "key_not_valid"
    )


def test_nbf_bounds_a_historical_key() -> None:
    """FED-156: a statement issued before the key's nbf is refused."""
    history = document(retired(OLD, T0 + 30 * DAY, nbf=T0))
    pinned = KeySet([NEW.public_key()])
    assert (
        code_of(lambda: anchor_keys_at([statement(OLD, T0 - 1)], ANCHOR, pinned, history))
        == "key_not_valid"
    )


def test_listing_governs_a_key_that_is_still_pinned() -> None:
    """FED-154: a kid listed as compromised is refused even if the verifier still pins it."""
    history = document(
        retired(OLD, T0 + 30 * DAY, revoked={"revoked_at": T0 + 20 * DAY, "reason": "compromised"})
    )
    pinned = KeySet([OLD.public_key(), NEW.public_key()])
    assert (
        code_of(lambda: anchor_keys_at([statement(OLD, T0)], ANCHOR, pinned, history))
        == "key_not_valid"
    )
    assert [k.kid for k in anchor_keys_at([statement(NEW, T0)], ANCHOR, pinned, history)] == [
        NEW.kid
    ]


def test_pinned_key_window_applies() -> None:
    """FED-154: a pinned key with its own window vouches only inside it."""
    from tokenfed.keys import KeyValidity

    pinned = KeySet([NEW.public_key(KeyValidity(nbf=T0))])
    assert (
        code_of(lambda: anchor_keys_at([statement(NEW, T0 - 1)], ANCHOR, pinned, None))
        == "key_not_valid"
    )
    assert len(anchor_keys_at([statement(NEW, T0)], ANCHOR, pinned, None)) == 1


def test_only_the_anchors_statements_are_judged() -> None:
    """FED-154: statements of other issuers are verified by the chain rules, not here."""
    history = document(retired(OLD, T0, revoked={"revoked_at": T0, "reason": "compromised"}))
    chain = [statement(OLD, T0, iss=LEAF, sub=LEAF), "not a jws"]
    assert [k.kid for k in anchor_keys_at(chain, ANCHOR, KeySet([NEW.public_key()]), history)] == [
        NEW.kid
    ]


def test_historical_keys_must_be_verified_and_the_anchors() -> None:
    """FED-151: an unverified document, or one of another entity, is a programming error."""
    token = sign_historical_keys(ANCHOR, [retired(OLD, T0)], NEW, iat=T0)
    with pytest.raises(ValueError, match="verify"):
        anchor_keys_at([], ANCHOR, KeySet([NEW.public_key()]), HistoricalKeys.decode(token))
    with pytest.raises(ValueError, match="not of the anchor"):
        anchor_keys_at([], ANCHOR, KeySet([NEW.public_key()]), document(retired(OLD, T0), iss=LEAF))


def test_no_key_left_is_unknown_key() -> None:
    """FED-154: when the only pinned key is listed and unused, no key is left."""
    history = document(retired(NEW, T0 + DAY), signer=NEW)
    assert (
        code_of(lambda: anchor_keys_at([], ANCHOR, KeySet([NEW.public_key()]), history))
        == "unknown_key"
    )


# --------------------------------------------------------------------------- archived chains


def test_archived_chain_is_read_strictly() -> None:
    """FED-153: application/trust-chain+json is a non-empty array of compact statements, read
    with the strict parser (str or bytes)."""
    chain = [statement(OTHER, T0, iss=LEAF, sub=LEAF), statement(NEW, T0)]
    text = '["' + '","'.join(chain) + '"]'
    assert read_archived_chain(text) == chain
    assert read_archived_chain(text.encode()) == chain


@pytest.mark.parametrize(
    "text",
    ["[]", '{"chain": []}', '["a", 1]', '"a.b.c"', '["a", "a"', "[1e3]", b"\xff"],
    ids=["empty", "object", "not-string", "string", "truncated", "exponent", "not-utf8"],
)
def test_archived_chain_that_is_not_an_array_of_statements_is_malformed(text: str | bytes) -> None:
    """FED-153: anything else is malformed."""
    assert code_of(lambda: read_archived_chain(text)) == "malformed"


# --------------------------------------------------------------------------- verify archived chains
# The chain was validated at fed.NOW under anchor key "ta"; months later the anchor signs with
# "ta-new" only and lists "ta" in its historical keys.


LATER = fed.NOW + 90 * DAY
ROTATED = fed.anchor("ta", "ta-new")


def archived(statements: list[str] | None = None) -> str:
    return json.dumps(statements if statements is not None else fed.leaf_chain())


def anchor_history(**members: Any) -> HistoricalKeys:
    """The anchor's historical keys, listing "ta" (retired a week after NOW by default)."""
    listed = {**fed.key("ta").public_key().to_jwk(with_validity=False), "exp": fed.NOW + 7 * DAY}
    listed.update(members)
    token = sign_historical_keys(fed.IDS["ta"], [listed], fed.key("ta-new"), iat=LATER)
    return HistoricalKeys.decode(token).verify_with(ROTATED.jwks)


def test_h1_archived_chain_verifies_after_rotation() -> None:
    """H1, FED-153, FED-157: the archived chain, verified at its time with the rotated anchor's
    pinned key plus its historical keys, gives the result it gave then: anchor, path, expiry,
    resolved metadata."""
    then = validate_chain(fed.leaf_chain(), [fed.anchor("ta")], now=fed.NOW)
    again = verify_archived_chain(
        archived(), ROTATED, anchor_history(), at=fed.NOW, entity_type="tokenfed_provider"
    )
    assert isinstance(again, TrustChain)
    assert (again.trust_anchor, again.path, again.exp) == (then.trust_anchor, then.path, then.exp)
    assert again.metadata == then.metadata
    assert again.to_json() == fed.leaf_chain()


def test_h1_with_an_intermediate() -> None:
    """H1, FED-157: leaf <- org <- anchor; only the anchor's statements need historical keys,
    the intermediate's are verified with the keys the archived chain attests."""
    again = verify_archived_chain(archived(fed.org_chain()), ROTATED, anchor_history(), at=fed.NOW)
    assert again.path == (fed.IDS["leaf"], fed.IDS["org"], fed.IDS["ta"])


def test_without_historical_keys_the_old_key_is_unknown() -> None:
    """FED-154, FED-157: the rotated-out key is not pinned any more; without the historical
    keys document the archived chain does not verify."""
    assert code_of(lambda: verify_archived_chain(archived(), ROTATED, None, at=fed.NOW)) == (
        "unknown_key"
    )


def test_h2_archived_chain_with_a_compromised_key() -> None:
    """H2, FED-155: the key was revoked as compromised after the chain was archived; the
    archived chain no longer proves anything."""
    history = anchor_history(revoked={"revoked_at": fed.NOW + DAY, "reason": "compromised"})
    assert code_of(lambda: verify_archived_chain(archived(), ROTATED, history, at=fed.NOW)) == (
        "key_not_valid"
    )


def test_superseded_key_vouches_until_revoked_at() -> None:
    """FED-156: superseded after the statements were issued: the chain verifies; superseded
    before: key_not_valid."""
    after = anchor_history(revoked={"revoked_at": fed.NOW, "reason": "superseded"})
    assert (
        verify_archived_chain(archived(), ROTATED, after, at=fed.NOW).trust_anchor
        == (fed.IDS["ta"])
    )
    before = anchor_history(revoked={"revoked_at": fed.NOW - 60, "reason": "superseded"})
    assert code_of(lambda: verify_archived_chain(archived(), ROTATED, before, at=fed.NOW)) == (
        "key_not_valid"
    )


def test_h3_statements_after_the_keys_exp() -> None:
    """H3, FED-156: statements issued at or after the retired key's exp are refused."""
    history = anchor_history(exp=fed.NOW - 60)
    assert code_of(lambda: verify_archived_chain(archived(), ROTATED, history, at=fed.NOW)) == (
        "key_not_valid"
    )


def test_archived_chain_is_judged_at_its_time() -> None:
    """FED-157: the chain rules run with now = at: at a time after the statements expired the
    chain is statement_expired, before they were issued statement_not_yet_valid."""
    history = anchor_history()
    assert code_of(lambda: verify_archived_chain(archived(), ROTATED, history, at=LATER)) == (
        "statement_expired"
    )
    assert code_of(
        lambda: verify_archived_chain(archived(), ROTATED, history, at=fed.NOW - 3600)
    ) == ("statement_not_yet_valid")


def test_archived_chain_checks_signatures() -> None:
    """FED-157: the anchor's statement re-signed by another key under the old key's kid does not
    verify (the admitted key still checks every byte)."""
    statements = fed.leaf_chain()
    forged = fed.ss("ta", "leaf", signer="attacker")
    header = statements[1].split(".")[0]
    statements[1] = header + "." + forged.split(".", 1)[1]
    assert code_of(
        lambda: verify_archived_chain(archived(statements), ROTATED, anchor_history(), at=fed.NOW)
    ) == ("invalid_signature")


def test_archived_chain_that_is_not_json_is_malformed() -> None:
    """FED-153: the archived form is parsed strictly before anything else."""
    assert code_of(
        lambda: verify_archived_chain("not json", ROTATED, anchor_history(), at=fed.NOW)
    ) == ("malformed")


def test_verify_archived_chain_misuse() -> None:
    """Programming errors are TypeError / ValueError, not wire codes."""
    with pytest.raises(TypeError):
        verify_archived_chain(archived(), "ta", None, at=fed.NOW)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        verify_archived_chain(archived(), ROTATED, None, at="now")  # type: ignore[arg-type]
    listed = {**fed.key("ta").public_key().to_jwk(with_validity=False), "exp": fed.NOW}
    token = sign_historical_keys(fed.IDS["ta"], [listed], fed.key("ta-new"), iat=LATER)
    with pytest.raises(ValueError, match="verify"):
        verify_archived_chain(archived(), ROTATED, HistoricalKeys.decode(token), at=fed.NOW)


# --------------------------------------------------------------------------- the history vectors

ROOT = Path(__file__).resolve().parent.parent
VECTORS = list(load_vectors("history"))


def run_vector(given: dict[str, Any]) -> dict[str, Any]:
    """One history vector through the public API."""
    if given["op"] == "historical-keys":
        read = HistoricalKeys.decode(given["document"]).verify_with(
            KeySet.from_jwks(given["issuer_keys"])
        )
        keys = [{"kid": k.kid, "exp": k.exp, "reason": k.reason} for k in read.keys]
        return {"iss": read.iss, "iat": read.iat, "keys": keys}
    anchor = TrustAnchor.from_jwks(given["anchor"]["entity_id"], given["anchor"]["jwks"])
    historical = None
    if given["historical"] is not None:
        historical = HistoricalKeys.decode(given["historical"]).verify_with(anchor.jwks)
    chain = verify_archived_chain(
        given["chain"], anchor, historical, at=given["at"], entity_type=given["entity_type"]
    )
    return {"trust_anchor": chain.trust_anchor, "path": list(chain.path), "exp": chain.exp}


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v.id)
def test_history_vector(vector: Vector) -> None:
    """FED-150..FED-157: the SDK gives the vector's result or its one error code."""
    if vector.error:
        assert code_of(lambda: run_vector(vector.input)) == vector.error
    else:
        assert run_vector(vector.input) == vector.expected


def test_history_generator_is_current() -> None:
    """spec/vectors/history.json is what spec/tools/make_history_vectors.py writes."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "spec" / "tools" / "make_history_vectors.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_history_checker_can_fail(tmp_path: Path) -> None:
    """The independent history checker compares exactly: a compromised key said to verify
    (FED-155) and a valid chain given another path (FED-157) are each a FAIL."""
    spec = tmp_path / "spec"
    shutil.copytree(ROOT / "spec" / "vectors", spec / "vectors")
    shutil.copytree(ROOT / "spec" / "schemas", spec / "schemas")
    path = spec / "vectors" / "history.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    by_id = {vector["id"]: vector for vector in data["vectors"]}
    by_id["archived-compromised"]["expected"] = dict(by_id["archived-after-rotation"]["expected"])
    by_id["archived-after-rotation"]["expected"]["path"] = list(
        reversed(by_id["archived-after-rotation"]["expected"]["path"])
    )
    path.write_text(json.dumps(data), encoding="utf-8")
    failed, _ = fed.checker_failures("history", spec)
    assert failed == {"archived-compromised", "archived-after-rotation"}


def test_documents_match_the_schema() -> None:
    """FED-150: spec/schemas/historical-keys.schema.json accepts the claims of every document
    the history vectors read successfully, and refuses those refused for a schema reason or a
    listed key without exp, a private key or an unknown reason."""
    from jsonschema import Draft202012Validator

    schema = json.loads(
        (ROOT / "spec" / "schemas" / "historical-keys.schema.json").read_text(encoding="utf-8")
    )
    validator = Draft202012Validator(schema)
    checked = 0
    for vector in VECTORS:
        if vector.input["op"] != "historical-keys" or vector.error in (
            "malformed",
            "unsupported_typ",
        ):
            continue
        claims = _jws.decode(vector.input["document"], "jwk-set+jwt").claims
        valid = validator.is_valid(claims)
        if not vector.error or vector.error in ("unknown_key", "invalid_signature"):
            assert valid, vector.id
        elif vector.error == "schema_violation" or vector.id in (
            "document-key-without-exp",
            "document-key-private",
            "document-key-reason-unknown",
            "document-key-revoked-without-time",
            "document-key-nbf-string",
            "document-key-without-kid",
        ):
            assert not valid, vector.id
        checked += 1
    assert checked >= 15
