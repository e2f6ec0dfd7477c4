"""Nodes working together over loopback: an anchor, an operator and a provider of one alliance.

The operator issues an entitlement; the provider verifies it through the federation and meters
usage under it; the receipts name the entitlement; the limit holds with 50 requests at once.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from _node_support import ADMIN_TOKEN, NOW, Alliance, alliance, running_alliance
from tokenfed import jws

ADMIN = {"authorization": f"Bearer {ADMIN_TOKEN}"}
MODEL = "qwen-max"
# 1000 input tokens and 500 output tokens: 0.002 + 0.003 = 0.005 UTU under the test rate card.
USAGE = {"model": MODEL, "meters": {"input": 1000, "output": 500}}


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alliance]:
    with running_alliance(alliance(tmp_path_factory.mktemp("alliance"))) as running:
        yield running


def entitlement(nodes: Alliance, limit: str = "0.02", scope: tuple[str, ...] = (MODEL,)) -> str:
    response = httpx.post(
        nodes.operator.base_url + "/entitlements",
        headers=ADMIN,
        json={
            "subscriber": "alice",
            "provider": nodes.provider.entity_id,
            "scope": list(scope),
            "limit": limit,
        },
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["entitlement"]
    return token


def meter(nodes: Alliance, token: str, request_id: str, **members: Any) -> httpx.Response:
    body = {"entitlement": token, "model": MODEL, "request_id": request_id, "usage": USAGE}
    return httpx.post(nodes.provider.base_url + "/metering", json={**body, **members}, timeout=30)


def test_metering_returns_a_receipt_under_the_entitlement(nodes: Alliance) -> None:
    """API-031, API-032, API-034: the provider verifies the entitlement through the federation,
    prices the usage with its rate card and answers the signed receipt naming the entitlement."""
    token = entitlement(nodes)
    response = meter(nodes, token, "req-1")
    assert response.status_code == 200, response.text
    body = response.json()
    claims = jws.verify(
        body["receipt"], "tokenfed-receipt+jwt", nodes.provider.role_key.public_key()
    ).claims
    ent = jws.verify(token, "tokenfed-entitlement+jwt", nodes.operator.role_key.public_key()).claims
    assert claims["entitlement"] == ent["jti"] == body["entitlement"]
    assert (claims["iss"], claims["aud"], claims["sub"]) == (
        nodes.provider.entity_id,
        nodes.operator.entity_id,
        ent["sub"],
    )
    assert claims["jti"] == body["jti"] == "req-1"
    assert claims["iat"] == NOW
    assert (body["amount"], body["consumed"], body["remaining"]) == ("0.005", "0.005", "0.015")
    assert claims["amount"] == "0.005"


def test_metering_vendor_response(nodes: Alliance) -> None:
    """API-031: usage may be given as a vendor's response, read with tokenfed.units.adapt."""
    token = entitlement(nodes)
    response = meter(
        nodes,
        token,
        "req-vendor",
        usage=None,
        vendor="openai",
        response={"model": MODEL, "usage": {"prompt_tokens": 1000, "completion_tokens": 500}},
    )
    assert response.status_code == 400, response.text  # usage and vendor both present
    body = {
        "entitlement": token,
        "model": MODEL,
        "request_id": "req-vendor",
        "vendor": "openai",
        "response": {"model": MODEL, "usage": {"prompt_tokens": 1000, "completion_tokens": 500}},
    }
    response = httpx.post(nodes.provider.base_url + "/metering", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == "0.005"


def test_retry_with_the_same_request_id_gets_the_same_receipt(nodes: Alliance) -> None:
    """API-033: the same request again answers the same receipt without consuming twice; the
    request id reused for another request is replay (409)."""
    token = entitlement(nodes)
    first = meter(nodes, token, "req-retry").json()
    assert meter(nodes, token, "req-retry").json() == first
    other = meter(nodes, token, "req-retry", usage={"model": MODEL, "meters": {"input": 1}})
    assert other.status_code == 409
    assert other.json()["error"] == "replay"
    assert meter(nodes, token, "req-retry-2").json()["consumed"] == "0.01"


def test_retries_sent_together_get_the_same_receipt(nodes: Alliance) -> None:
    """API-033: the same request sent many times at once (a client's retries racing) gets the
    same receipt every time, consumed once: a repeat waits for the first answer."""
    token = entitlement(nodes)
    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: meter(nodes, token, "req-race"), range(12)))
    assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers]
    assert len({a.json()["receipt"] for a in answers}) == 1
    assert meter(nodes, token, "req-race-after").json()["consumed"] == "0.01"


@pytest.mark.parametrize(
    "members",
    [{"usage": "x"}, {"usage": None}, {"usage": []}, {"model": ""}, {"model": "m" * 257}],
    ids=["usage-string", "usage-null", "usage-array", "model-empty", "model-too-long"],
)
def test_metering_members_of_the_wrong_shape_are_invalid_request(
    nodes: Alliance, members: dict[str, Any]
) -> None:
    """API-015, OpenAPI: a member of the wrong type or length is invalid_request (400), before
    the entitlement's scope or the usage's schema is looked at."""
    token = entitlement(nodes)
    response = meter(nodes, token, "req-shape", **members)
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_entitlement_lifetime_null_is_invalid_request(nodes: Alliance) -> None:
    """API-015, OpenAPI: lifetime, when given, is an integer; null is not the default."""
    response = httpx.post(
        nodes.operator.base_url + "/entitlements",
        headers=ADMIN,
        json={"subscriber": "alice", "provider": nodes.provider.entity_id, "scope": [MODEL],
              "limit": "1", "lifetime": None},
    )  # fmt: skip
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


def test_out_of_scope_model_is_refused(nodes: Alliance) -> None:
    """API-032: a model outside the entitlement's scope is out_of_scope (403)."""
    token = entitlement(nodes, scope=("other-model",))
    response = meter(nodes, token, "req-scope")
    assert response.status_code == 403
    assert response.json()["error"] == "out_of_scope"


def test_entitlement_for_another_provider_is_refused(nodes: Alliance) -> None:
    """API-032: an entitlement whose aud is another provider is wrong_audience (403)."""
    response = httpx.post(
        nodes.operator.base_url + "/entitlements",
        headers=ADMIN,
        json={
            "subscriber": "alice",
            "provider": "https://tokens.elsewhere.example",
            "scope": [MODEL],
            "limit": "1",
        },
    )
    response = meter(nodes, response.json()["entitlement"], "req-aud")
    assert response.status_code == 403
    assert response.json()["error"] == "wrong_audience"


def test_forged_entitlement_is_refused(nodes: Alliance) -> None:
    """API-032: an entitlement whose signature does not verify with the operator's published
    entitlement key is invalid_signature (403)."""
    token = entitlement(nodes)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload}.{'A' * len(signature)}"
    response = meter(nodes, forged, "req-forged")
    assert response.status_code == 403
    assert response.json()["error"] == "invalid_signature"


def test_fifty_concurrent_requests_never_pass_the_limit(nodes: Alliance) -> None:
    """API-033 (ENT-032): 50 requests at once under a limit of 0.1 UTU (20 requests of 0.005)
    give exactly 20 receipts and 30 limit_exceeded; consumption ends at the limit."""
    token = entitlement(nodes, limit="0.1")
    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(lambda i: meter(nodes, token, f"burst-{i}"), range(50)))
    codes = [r.json().get("error", "ok") for r in responses]
    assert codes.count("ok") == 20, codes
    assert codes.count("limit_exceeded") == 30, codes
    assert {r.status_code for r in responses if r.status_code != 200} == {409}
    consumed = max(Decimal(r.json()["consumed"]) for r in responses if r.status_code == 200)
    assert consumed == Decimal("0.1")


# --------------------------------------------------------------------------- receipt intake


def post_receipts(nodes: Alliance, receipts: list[str], *, jsonl: bool = False) -> httpx.Response:
    if jsonl:
        return httpx.post(
            nodes.operator.base_url + "/receipts",
            content="\n".join(f'"{receipt}"' for receipt in receipts) + "\n",
            headers={"content-type": "application/jsonl"},
            timeout=30,
        )
    return httpx.post(nodes.operator.base_url + "/receipts", json=receipts, timeout=30)


def totals(nodes: Alliance) -> dict[str, Any]:
    response = httpx.get(
        nodes.operator.base_url + "/totals",
        params={"provider": nodes.provider.entity_id},
        headers=ADMIN,
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Alliance]:
    """A fresh alliance, so that totals count only this part's receipts."""
    with running_alliance(alliance(tmp_path_factory.mktemp("intake"), "c")) as running:
        yield running


def test_intake_verifies_records_and_totals(intake: Alliance) -> None:
    """API-042, API-043: the operator verifies receipts through the federation (key and rate
    card of the provider), records them, answers one result per receipt, and totals them in
    UTU and, with the clearing house's rates, in CNY."""
    token = entitlement(intake, limit="1")
    receipts = [meter(intake, token, f"in-{i}").json()["receipt"] for i in range(3)]
    response = post_receipts(intake, receipts[:2])
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicate"], body["rejected"]) == (2, 0, 0)
    first = body["results"][0]
    assert first["status"] == "accepted"
    assert first["trust_anchor"] == intake.anchor.entity_id
    assert first["trust_path"] == [intake.provider.entity_id, intake.anchor.entity_id]
    again = post_receipts(intake, receipts, jsonl=True).json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "accepted"]
    _assert_chains_archived(intake, receipts)
    assert totals(intake) == {
        "provider": intake.provider.entity_id,
        "count": 3,
        "amount_utu": "0.015",
        "amount_cny": "0.11",
        "rates_id": "rates-1",
    }


def _assert_chains_archived(nodes: Alliance, receipts: list[str]) -> None:
    """FED-153: the operator archived, with every receipt it accepted, the chain it verified it
    through; each archived chain validates again at the receipt's time under the anchor."""
    import sqlite3

    from tokenfed.federation import TrustAnchor, verify_archived_chain

    anchor = TrustAnchor.from_jwks(nodes.anchor.entity_id, nodes.anchor.federation_jwks())
    with sqlite3.connect(nodes.operator.root / "data" / "operator.sqlite") as raw:
        for receipt in receipts:
            payload = json.loads(base64.urlsafe_b64decode(receipt.split(".")[1] + "=="))
            row = raw.execute(
                "SELECT chain FROM archived_chains JOIN receipt_chains"
                " ON digest = chain_digest WHERE iss = ? AND jti = ?",
                (payload["iss"], payload["jti"]),
            ).fetchone()
            assert row is not None, payload["jti"]
            chain = verify_archived_chain(
                row[0], anchor, None, at=payload["iat"], entity_type="tokenfed_provider"
            )
            assert chain.path == (nodes.provider.entity_id, nodes.anchor.entity_id)


def test_intake_rejects_each_bad_receipt_with_its_code(intake: Alliance) -> None:
    """API-042: a receipt that does not verify is rejected with its own code, the others of
    the same request are still taken."""
    token = entitlement(intake, limit="1")
    good = meter(intake, token, "bad-batch-1").json()["receipt"]
    header, payload, signature = good.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    results = post_receipts(intake, [tampered, "not a jws", good]).json()["results"]
    assert results[0]["status"] == "rejected"
    assert results[0]["error"]["error"] == "invalid_signature"
    assert results[1]["error"]["error"] == "malformed"
    assert results[2]["status"] == "accepted"


def test_intake_takes_each_string_as_a_jws_exactly(intake: Alliance) -> None:
    """API-042, REC-040 step 1: each string is a JWS as it is. The same receipt with a space or
    a line end around it, or a batched receipt's JSON text, is malformed, and does not stop
    the valid receipt after it."""
    token = entitlement(intake, limit="1")
    good = meter(intake, token, "exact-1").json()["receipt"]
    batched = json.dumps({"batch": good, "claims": good.split(".")[1], "index": 0, "proof": []})
    sent = [" " + good, good + "\n", "\t" + good, batched, good]
    results = post_receipts(intake, sent).json()["results"]
    assert [r["status"] for r in results] == ["rejected"] * 4 + ["accepted"]
    assert [r["error"]["error"] for r in results[:4]] == ["malformed"] * 4


def test_intake_survives_any_value_in_an_unverified_receipt(intake: Alliance) -> None:
    """API-011, API-042: claims are read before the receipt is verified (to fetch its issuer's
    rate card); a rate card digest that is a list or an object rejects that receipt alone."""
    token = entitlement(intake, limit="1")
    good = meter(intake, token, "any-value-1").json()["receipt"]
    header = _b64(b'{"alg":"EdDSA","typ":"tokenfed-receipt+jwt","kid":"k"}')
    odd = [
        f"{header}.{_b64(json.dumps(claims).encode())}.{_b64(bytes(64))}"
        for claims in (
            {"iss": intake.provider.entity_id, "rate_card": {"digest": ["x"]}},
            {"iss": intake.provider.entity_id, "rate_card": {"digest": {}}},
        )
    ]
    for jsonl in (False, True):
        response = post_receipts(intake, [*odd, good], jsonl=jsonl)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        assert [r["status"] for r in results[:2]] == ["rejected", "rejected"]
        assert results[2]["status"] == ("accepted" if not jsonl else "duplicate")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@pytest.mark.parametrize(
    ("body", "code"),
    [(b"{}", "invalid_request"), (b'["a",]', "malformed"), (b"[1]", "accepted-as-result")],
    ids=["not-array", "not-json", "not-string"],
)
def test_intake_body(intake: Alliance, body: bytes, code: str) -> None:
    """API-015, API-042: the body is a JSON array (or JSON Lines) of receipts; an element that
    is not a string is rejected in its own result as invalid_request."""
    response = httpx.post(
        intake.operator.base_url + "/receipts",
        content=body,
        headers={"content-type": "application/json"},
    )
    if code == "accepted-as-result":
        assert response.json()["results"][0]["error"]["error"] == "invalid_request"
    else:
        assert response.status_code == 400
        assert response.json()["error"] == code


def test_totals_need_the_admin_token(intake: Alliance) -> None:
    """API-040, API-043: totals are an admin operation."""
    response = httpx.get(
        intake.operator.base_url + "/totals", params={"provider": intake.provider.entity_id}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
