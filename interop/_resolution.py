"""Independent checker of the ``resolution`` vectors (spec/federation.md FED-070..FED-074).

Written from the chapter's text, sharing nothing with the SDK. A vector describes the HTTP
servers of a small federation declaratively (each entity's configuration, the statements its
fetch endpoint serves by ``sub``, and hostile answers); this checker resolves over that
description instead of a network, one path at a time: the subject's configuration, then for
each authority hint the superior's configuration and its statement about the entity below,
stopping at the first pinned anchor, skipping a hint already on the path, counting fetches
against the budget. Each complete path is validated by the independent chain checker
(``_federation.validate``) and one is chosen by FED-071. ``check_vectors.py`` registers it with
``install(globals())``.
"""

from __future__ import annotations

from typing import Any

_host: dict[str, Any] = {}
_chains: Any = None

MAX_FETCHES = 32
MAX_BYTES = 65536
REQUEST_SECONDS = 5
MAX_INTERMEDIATES = 4
STATEMENT_MEDIA = "application/entity-statement+jwt"
WELL_KNOWN = "/.well-known/openid-federation"
DIAGNOSTICS = {"loop_detected", "not_found", "dead_end", "no_fetch_endpoint"}


def install(host: dict[str, Any]) -> None:
    """Take the host's helpers and register the ``resolution`` checker with it."""
    global _chains
    _host.update(host)
    _chains = host["_sibling"]("_federation")
    _chains._host.update(host)
    host["checker"]("resolution")(check_resolution)


class _PathDead(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class _Resolution:
    def __init__(self, given: dict[str, Any]) -> None:
        self.entities: dict[str, Any] = given["entities"]
        self.anchors: list[dict[str, Any]] = given["anchors"]
        self.anchor_ids = [anchor["entity_id"] for anchor in self.anchors]
        self.fetches = 0
        self.fetched: dict[tuple[str, ...], Any] = {}
        self.candidates: list[list[str]] = []
        self.reasons: list[tuple[list[str], str]] = []

    def _get(self, entity_id: str, path: str, sub: str | None = None) -> str:
        """One GET of ``entity_id + path`` (FED-072..FED-074), answered from the description."""
        if self.fetches >= MAX_FETCHES:
            raise _PathDead("resolution_limit", f"more than {MAX_FETCHES} fetches")
        self.fetches += 1
        served = self.entities.get(entity_id)
        if served is None:
            raise _PathDead("fetch_failed", f"nothing answers at {entity_id}")
        hostile = served.get("hostile", {}).get(path)
        if hostile is not None:
            if hostile.get("delay_s", 0) > REQUEST_SECONDS:
                raise _PathDead("fetch_timeout", f"{entity_id}{path} answers too late")
            if "redirect" in hostile:
                raise _PathDead("fetch_failed", f"{entity_id}{path} redirects")
            if "status" in hostile:
                raise _PathDead("fetch_failed", f"{entity_id}{path} answers {hostile['status']}")
            if hostile.get("body_bytes", 0) > MAX_BYTES:
                raise _PathDead("response_too_large", f"{entity_id}{path} is over the cap")
            media = hostile.get("content_type", STATEMENT_MEDIA)
            if media.split(";")[0].strip().lower() != STATEMENT_MEDIA:
                raise _PathDead("fetch_failed", f"{entity_id}{path} answers {media}")
        subordinates = served["subordinates"]
        token = served["configuration"] if path == WELL_KNOWN else subordinates.get(sub)
        if token is None:
            raise _PathDead("not_found", f"{entity_id}{path} answers 404")
        return str(token)

    def _statement(self, key: tuple[str, ...], entity_id: str, path: str, sub: str | None) -> Any:
        """A statement fetched at most once per resolution, decoded (FED-022)."""
        if key not in self.fetched:
            try:
                token = self._get(entity_id, path, sub)
                self.fetched[key] = (token, _chains._decode(token, 0))
            except _PathDead as dead:
                self.fetched[key] = dead
            except _host["_Rejected"] as rejected:
                self.fetched[key] = _PathDead(rejected.code, rejected.reason)
        found = self.fetched[key]
        if isinstance(found, _PathDead):
            raise found
        return found

    def configuration(self, entity_id: str) -> tuple[str, Any]:
        token, statement = self._statement(("ec", entity_id), entity_id, WELL_KNOWN, None)
        if not statement.is_configuration or statement.sub != entity_id:
            raise _PathDead("chain_not_well_formed", f"{entity_id} serves another statement")
        return token, statement

    def climb(self, tokens: list[str], current: Any, path: list[str]) -> None:
        hints = current.claims.get("authority_hints") or []
        if not hints:
            self.reasons.append((path, "dead_end"))
            return
        for hint in hints:
            here = [*path, hint]
            if hint in path:
                self.reasons.append((here, "loop_detected"))
                continue
            anchor = hint in self.anchor_ids
            if not anchor and len(path) >= MAX_INTERMEDIATES + 1:
                self.reasons.append((here, "path_too_long"))
                continue
            try:
                superior_token, superior = self.configuration(hint)
                federation = superior.claims.get("metadata", {}).get("federation_entity", {})
                if "federation_fetch_endpoint" not in federation:
                    raise _PathDead("no_fetch_endpoint", f"{hint} has no fetch endpoint")
                token, statement = self._statement(
                    ("ss", hint, current.sub), hint, "/fetch", current.sub
                )
            except _PathDead as dead:
                self.reasons.append((here, dead.code))
                continue
            if statement.iss != hint or statement.sub != current.sub:
                self.reasons.append((here, "chain_not_well_formed"))
                continue
            if anchor:
                self.candidates.append([*tokens, token, superior_token])
                continue
            self.climb([*tokens, token], superior, here)


def resolve(given: dict[str, Any]) -> dict[str, Any]:
    """FED-070 collection, FED-050 validation, FED-071 choice, and the error rules."""
    run = _Resolution(given)
    subject_id = given["subject"]
    try:
        token, subject = run.configuration(subject_id)
    except _PathDead as dead:
        raise _host["_Rejected"](dead.code, dead.reason) from None
    if subject_id in run.anchor_ids:
        run.reasons.append(([subject_id], "dead_end"))
    else:
        run.climb([token], subject, [subject_id])
    valid = []
    for tokens in run.candidates:
        try:
            result = _chains.validate(tokens, run.anchors, given["now"], given["entity_type"])
        except _host["_Rejected"] as rejected:
            run.reasons.append(([], rejected.code))
            continue
        key = (run.anchor_ids.index(result["trust_anchor"]), len(tokens), -result["exp"])
        valid.append(((*key, result["path"]), result))
    if valid:
        _, chosen = min(valid, key=lambda item: item[0])
        return {
            "trust_anchor": chosen["trust_anchor"],
            "path": chosen["path"],
            "exp": chosen["exp"],
            "alternatives": len(valid) - 1,
        }
    codes = {code for _, code in run.reasons}
    if "resolution_limit" in codes:
        raise _host["_Rejected"]("resolution_limit", "the fetch budget ran out")
    if len(codes) == 1 and not codes <= DIAGNOSTICS:
        code = codes.pop()
        raise _host["_Rejected"](code, f"every path failed with {code}")
    raise _host["_Rejected"]("no_trust_path", f"no path: {sorted(codes)}")


def check_resolution(vector: dict[str, Any], context: Any) -> Any:
    """A ``resolution`` vector: the described servers -> the chosen chain or ``{error}``."""
    try:
        result = resolve(vector["input"])
    except _host["_Rejected"] as rejected:
        return _host["_judge"](vector["expected"], rejected, None)
    return _host["_judge"](vector["expected"], None, result)
