"""Independent check of the ``history`` vectors: historical keys documents and archived trust
chains verified again at their time (spec/federation.md FED-150..FED-157).

Nothing here imports ``tokenfed``. ``check_vectors.py`` registers this module with
``install(globals())``; JWS documents are opened with the host's CONV-060 procedure
(``_open_jws``: strict base64url and JSON, typ, alg, crit, the trusted key, joserfc for the
signature), and the chain itself is validated by the independent chain checker
(``interop/_federation.py``) with the anchor keys that FED-154..FED-156 admit.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

__all__ = ["install"]

DOCUMENT_TYP = "jwk-set+jwt"
STATEMENT_TYP = "entity-statement+jwt"
REASONS = ("unspecified", "compromised", "superseded")
THUMBPRINT = {"OKP": ("crv", "kty", "x"), "EC": ("crv", "kty", "x", "y")}
CURVES = {("OKP", "Ed25519"): "EdDSA", ("EC", "P-256"): "ES256"}
MAX_DATE = 2**53 - 1

_host: dict[str, Any] = {}
_federation: Any = None


def install(host: dict[str, Any]) -> None:
    """Take the host's helpers, load the chain checker, register the ``history`` checker."""
    global _federation
    _host.update(host)
    _federation = host["_sibling"]("_federation")
    _federation.install(host)
    host["checker"]("history")(check_history)


def _reject(code: str, reason: str) -> Exception:
    rejected: Exception = _host["_Rejected"](code, reason)
    return rejected


def _date(value: Any) -> bool:
    return type(value) is int and 0 <= value <= MAX_DATE


def _thumbprint(jwk: dict[str, Any]) -> str:
    members = {name: jwk[name] for name in THUMBPRINT[jwk["kty"]]}
    digest = hashlib.sha256(
        json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    ).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


# --------------------------------------------------------------------------- the document


def _listed_key(jwk: Any, index: int) -> dict[str, Any]:
    """FED-150 for one listed key; returns its window."""
    if not isinstance(jwk, dict):
        raise _reject("schema_violation", f"keys[{index}] is not an object")
    if "d" in jwk:
        raise _reject("invalid_key", f"keys[{index}] is a private key")
    if (jwk.get("kty"), jwk.get("crv")) not in CURVES:
        raise _reject("invalid_key", f"keys[{index}]: unsupported key type")
    if "alg" in jwk and jwk["alg"] != CURVES[(jwk["kty"], jwk["crv"])]:
        raise _reject("invalid_key", f"keys[{index}]: alg does not fit the curve")
    if "use" in jwk and jwk["use"] != "sig":
        raise _reject("invalid_key", f"keys[{index}]: use is not sig")
    if not isinstance(jwk.get("kid"), str):
        raise _reject("invalid_key", f"keys[{index}] has no kid")
    if not _date(jwk.get("exp")):
        raise _reject("invalid_key", f"keys[{index}]: exp missing or not a NumericDate")
    for name in ("iat", "nbf"):
        if name in jwk and not _date(jwk[name]):
            raise _reject("invalid_key", f"keys[{index}]: {name} is not a NumericDate")
    revoked_at = reason = None
    if "revoked" in jwk:
        revoked = jwk["revoked"]
        if not isinstance(revoked, dict) or not _date(revoked.get("revoked_at")):
            raise _reject("invalid_key", f"keys[{index}]: revoked needs revoked_at")
        reason = revoked.get("reason", "unspecified")
        if reason not in REASONS:
            raise _reject("invalid_key", f"keys[{index}]: reason {reason!r}")
        revoked_at = revoked["revoked_at"]
    if "nbf" in jwk and jwk["exp"] <= jwk["nbf"]:
        raise _reject("invalid_key", f"keys[{index}]: exp is not after nbf")
    _host["_check_key_values"](jwk)
    if jwk["kid"] != _thumbprint(jwk):
        raise _reject("invalid_key", f"keys[{index}]: kid is not the thumbprint")
    return {
        "jwk": jwk,
        "kid": jwk["kid"],
        "exp": jwk["exp"],
        "nbf": jwk.get("nbf"),
        "revoked_at": revoked_at,
        "reason": reason,
    }


def read_document(token: Any, issuer_keys: dict[str, Any]) -> dict[str, Any]:
    """FED-150 and FED-151: open the JWS with the issuer's current keys, then read its claims."""
    by_kid = {jwk.get("kid"): jwk for jwk in issuer_keys.get("keys", [])}

    def find_key(header: dict[str, Any], claims: dict[str, Any]) -> dict[str, Any]:
        jwk = by_kid.get(header.get("kid"))
        if jwk is None:
            raise _reject("unknown_key", f"kid {header.get('kid')!r} is not a current key")
        return jwk

    signed = _host["_open_jws"](token, DOCUMENT_TYP, _host["MAX_TOKEN_BYTES"], find_key)
    claims = signed.claims
    iss = claims.get("iss")
    if not isinstance(iss, str) or not _host["_is_entity_id"](iss) or iss.endswith("/"):
        raise _reject("schema_violation", "iss is not a federation entity id")
    if not _date(claims.get("iat")):
        raise _reject("schema_violation", "iat is not a NumericDate")
    if not isinstance(claims.get("keys"), list):
        raise _reject("schema_violation", "keys is not an array")
    keys = [_listed_key(jwk, index) for index, jwk in enumerate(claims["keys"])]
    kids = [key["kid"] for key in keys]
    if len(set(kids)) != len(kids):
        raise _reject("invalid_key", "a kid is listed twice")
    return {"iss": iss, "iat": claims["iat"], "keys": keys}


# --------------------------------------------------------------------------- archived chains


def _peek(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Header and claims of a well-formed entity statement JWS, or None (left to the chain
    rules)."""
    try:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        header = _host["parse_strict_json"](_host["_b64url_strict"](parts[0], "header"))
        claims = _host["parse_strict_json"](_host["_b64url_strict"](parts[1], "payload"))
        _host["_b64url_strict"](parts[2], "signature")
    except ValueError:
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return None
    typ = header.get("typ")
    if not isinstance(typ, str) or _host["_normal_typ"](typ) != STATEMENT_TYP:
        return None
    if header.get("alg") not in ("EdDSA", "ES256") or "crit" in header:
        return None
    return header, claims


def _in_window(jwk: dict[str, Any], iat: int) -> bool:
    if "nbf" in jwk and iat < jwk["nbf"]:
        return False
    if "exp" in jwk and iat >= jwk["exp"]:
        return False
    revoked = jwk.get("revoked")
    return not (isinstance(revoked, dict) and iat >= revoked.get("revoked_at", MAX_DATE))


def _admitted(tokens: list[str], anchor: dict[str, Any], listed: dict[str, Any]) -> list[Any]:
    """FED-154..FED-156: the anchor keys that may verify this chain."""
    keys = {jwk["kid"]: jwk for jwk in anchor["jwks"]["keys"] if jwk["kid"] not in listed}
    for token in tokens:
        peeked = _peek(token)
        if peeked is None:
            continue
        header, claims = peeked
        kid, iat = header.get("kid"), claims.get("iat")
        if claims.get("iss") != anchor["entity_id"] or not isinstance(kid, str) or not _date(iat):
            continue
        if kid in listed:
            old = listed[kid]
            if old["reason"] == "compromised":
                raise _reject("key_not_valid", f"{kid} was revoked as compromised (FED-155)")
            if old["revoked_at"] is not None and iat >= old["revoked_at"]:
                raise _reject("key_not_valid", f"{kid} was revoked before iat {iat} (FED-156)")
            if iat >= old["exp"] or (old["nbf"] is not None and iat < old["nbf"]):
                raise _reject("key_not_valid", f"iat {iat} is outside {kid}'s window (FED-156)")
            bare = {
                k: v for k, v in old["jwk"].items() if k not in ("exp", "nbf", "iat", "revoked")
            }
            keys[kid] = bare
        elif kid in keys and not _in_window(keys[kid], iat):
            raise _reject("key_not_valid", f"pinned key {kid} was not valid at {iat} (FED-154)")
    if not keys:
        raise _reject("unknown_key", "no anchor key is left (FED-154)")
    return list(keys.values())


def verify_archived(given: dict[str, Any]) -> dict[str, Any]:
    """FED-153..FED-157."""
    anchor = given["anchor"]
    listed: dict[str, Any] = {}
    if given["historical"] is not None:
        document = read_document(given["historical"], anchor["jwks"])
        if document["iss"] != anchor["entity_id"]:
            raise ValueError("historical keys of another entity")
        listed = {key["kid"]: key for key in document["keys"]}
    try:
        tokens = _host["parse_strict_json"](given["chain"].encode("utf-8"))
    except ValueError as exc:
        raise _reject("malformed", f"the archived chain: {exc}") from None
    if not isinstance(tokens, list) or not tokens or not all(isinstance(t, str) for t in tokens):
        raise _reject("malformed", "the archived chain is not a non-empty array of strings")
    keys = _admitted(tokens, anchor, listed)
    then = [{"entity_id": anchor["entity_id"], "jwks": {"keys": keys}}]
    result = _federation.validate(tokens, then, given["at"], given["entity_type"])
    return {key: result[key] for key in ("trust_anchor", "path", "exp")}


def check_history(vector: dict[str, Any], context: Any) -> Any:
    """A ``history`` vector -> the document's content, the chain's result, or ``{error}``."""
    given, expected = vector["input"], vector["expected"]
    try:
        if given["op"] == "historical-keys":
            document = read_document(given["document"], given["issuer_keys"])
            result = {
                "iss": document["iss"],
                "iat": document["iat"],
                "keys": [
                    {"kid": key["kid"], "exp": key["exp"], "reason": key["reason"]}
                    for key in document["keys"]
                ],
            }
        elif given["op"] == "archived-chain":
            result = verify_archived(given)
        else:
            raise ValueError(f"unknown history op {given['op']!r}")
    except _host["_Rejected"] as rejected:
        return _host["_judge"](expected, rejected, None)
    return _host["_judge"](expected, None, result)
