"""Conformance certificates in the shape of an OpenID Federation trust mark.

A certificate is a JWS (``typ`` ``trust-mark+jwt``) signed by the certifying body: ``iss`` the
body, ``sub`` the certified entity, ``trust_mark_type`` a tokenfed URL naming the profile,
``iat`` and ``exp``, and the claims ``profile``, ``spec_version``, ``suite_version``,
``implementation`` and ``report_digest`` (the SHA-256 of the run's ``report.json``).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from ._about import SPEC_VERSION, SUITE_VERSION
from ._codec import StrictJSONError, b64d, jcs, loads_strict
from ._crypto import SuiteKey, compact, thumbprint, verify_jws

__all__ = [
    "TRUST_MARK_TYP",
    "CertificateError",
    "certify",
    "load_json_file",
    "trust_mark_type",
    "verify_certificate",
]

TRUST_MARK_TYP = "trust-mark+jwt"
"""The JWS ``typ`` of a certificate (an OpenID Federation trust mark)."""
_TYPE_BASE = "https://tokenfed.org/trust-marks/conformance/"


class CertificateError(Exception):
    """A certificate cannot be issued, or does not verify. ``code`` is a registry-style code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def trust_mark_type(profile: str) -> str:
    """The trust-mark type URL of a profile."""
    return f"{_TYPE_BASE}{profile}/{SPEC_VERSION}"


def _load_report(path: Path) -> tuple[dict[str, Any], str]:
    try:
        data = path.read_bytes()
        report = loads_strict(data)
    except (OSError, StrictJSONError) as exc:
        raise CertificateError("malformed", f"cannot read the report {path}: {exc}") from exc
    if not isinstance(report, dict):
        raise CertificateError("malformed", f"{path} is not a conformance report")
    return report, "sha256:" + hashlib.sha256(data).hexdigest()


def certify(
    report_path: Path,
    key_jwk: dict[str, Any],
    *,
    iss: str,
    sub: str,
    profile: str,
    now: int,
    lifetime: int,
) -> str:
    """Sign a certificate for ``profile`` if the report shows every required test passed."""
    report, report_digest = _load_report(report_path)
    if report.get("suite", {}).get("version") != SUITE_VERSION:
        raise CertificateError(
            "not_certifiable",
            f"the report was made by suite {report.get('suite', {}).get('version')!r}; this is "
            f"{SUITE_VERSION}: run the suite again",
        )
    live = report.get("live")
    if isinstance(live, dict) and live.get("loopback"):
        raise CertificateError(
            "not_certifiable", "the report was made in the loopback test mode, which is for tests"
        )
    if report.get("selection"):
        raise CertificateError(
            "not_certifiable", "the report covers a selection (-k); certify a full run"
        )
    counts = report.get("summary", {}).get(profile)
    if counts is None:
        raise CertificateError("not_certifiable", f"the report does not cover profile {profile}")
    if (
        counts["required_failed"]
        or counts["failed"]
        or counts["xpassed"]
        or report.get("xfail_errors")
    ):
        raise CertificateError(
            "not_certifiable",
            f"profile {profile}: {counts['failed']} tests failed ({counts['required_failed']} "
            f"required), {len(report.get('xfail_errors', []))} expected-failure errors",
        )
    if counts["total"] == 0:
        raise CertificateError("not_certifiable", f"profile {profile} ran no test")
    try:
        key = SuiteKey.from_jwk(key_jwk)
    except (KeyError, ValueError) as exc:
        raise CertificateError(
            "invalid_key", f"the certifying key is not a private JWK: {exc}"
        ) from exc
    iut = report.get("iut", {})
    claims = {
        "iss": iss,
        "sub": sub,
        "trust_mark_type": trust_mark_type(profile),
        "iat": now,
        "exp": now + lifetime,
        "profile": profile,
        "spec_version": report.get("spec_version"),
        "suite_version": SUITE_VERSION,
        "implementation": {"name": iut.get("name"), "version": iut.get("version")},
        "report_digest": report_digest,
    }
    return compact(key, jcs(claims), TRUST_MARK_TYP)


def _public_keys(trust: dict[str, Any], iss: str) -> list[dict[str, Any]]:
    if "kty" in trust:
        return [trust]
    if "keys" in trust:
        return list(trust["keys"])
    entry = trust.get("issuers", {}).get(iss)
    return list(entry["jwks"]["keys"]) if entry else []


def verify_certificate(
    token: str, trust: dict[str, Any], *, now: int, report_path: Path | None = None
) -> dict[str, Any]:
    """Verify a certificate against a public JWK, a JWKS or a trust store; return its claims."""
    parts = token.strip().split(".")
    if len(parts) != 3:
        raise CertificateError("malformed", "a certificate is a JWS compact serialization")
    try:
        header = loads_strict(b64d(parts[0]))
        claims = loads_strict(b64d(parts[1]))
    except (ValueError, StrictJSONError) as exc:
        raise CertificateError("malformed", f"the certificate does not decode: {exc}") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise CertificateError("malformed", "header and claims must be JSON objects")
    if str(header.get("typ", "")).lower() != TRUST_MARK_TYP:
        raise CertificateError(
            "unsupported_typ", f"typ is {header.get('typ')!r}, not {TRUST_MARK_TYP}"
        )
    if "crit" in header:
        raise CertificateError("unsupported_crit", "crit is not supported")
    keys = [
        jwk
        for jwk in _public_keys(trust, str(claims.get("iss")))
        if jwk.get("kid", thumbprint(jwk)) == header.get("kid")
    ]
    if not keys:
        raise CertificateError(
            "unknown_key", f"no trusted key {header.get('kid')!r} for {claims.get('iss')!r}"
        )
    expected_alg = "EdDSA" if keys[0]["kty"] == "OKP" else "ES256"
    if header.get("alg") != expected_alg:
        raise CertificateError(
            "unsupported_alg", f"alg {header.get('alg')!r} is not the key's {expected_alg}"
        )
    if not verify_jws(keys[0], token.strip()):
        raise CertificateError("invalid_signature", "the certificate's signature does not verify")
    for name in ("iss", "sub", "trust_mark_type", "iat", "exp", "profile", "report_digest"):
        if name not in claims:
            raise CertificateError("schema_violation", f"the certificate lacks {name}")
    if not claims["iat"] <= now < claims["exp"]:
        raise CertificateError(
            "expired",
            f"the certificate is valid from {claims['iat']} to {claims['exp']}, not at {now}",
        )
    if claims["trust_mark_type"] != trust_mark_type(str(claims["profile"])):
        raise CertificateError("schema_violation", "trust_mark_type does not name the profile")
    if report_path is not None:
        _report, found = _load_report(report_path)
        if found != claims["report_digest"]:
            raise CertificateError(
                "digest_mismatch",
                f"the report's digest is {found}, the certificate names {claims['report_digest']}",
            )
    return claims


def load_json_file(path: Path) -> Any:
    """Read a JSON file strictly."""
    try:
        return loads_strict(path.read_bytes())
    except (OSError, StrictJSONError) as exc:
        raise CertificateError("malformed", f"cannot read {path}: {exc}") from exc
