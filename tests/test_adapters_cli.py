"""``tokenfed usage adapt`` and ``tokenfed price --from`` (UNIT-080, UNIT-019, UNIT-100,
CONV-050): vendor reports on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tokenfed.cli import main
from tokenfed.keys import generate_key
from tokenfed.units import RateCard

CARD = {
    "iss": "https://p.example",
    "rate_card_id": "c",
    "ver": "1.0",
    "iat": 0,
    "nbf": 0,
    "exp": 4102444800,
    "unit": "UTU",
    "models": {
        "deepseek-chat": {
            "weights": {"input": "0.00000028", "cache_read": "0.000000028", "output": "0.00000042"}
        },
        "claude-haiku-4-5": {
            "weights": {"input": "0.000001", "output": "0.000005"},
            "service_tiers": {"batch": {"weights": {"input": "0.0000005", "output": "0.0000025"}}},
        },
    },
}
DEEPSEEK = {
    "prompt_tokens": 1000,
    "completion_tokens": 300,
    "prompt_cache_hit_tokens": 800,
    "prompt_cache_miss_tokens": 200,
}


def _write(tmp_path: Path, name: str, value: object) -> str:
    path = tmp_path / name
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, object, object]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, json.loads(out) if out else None, json.loads(err) if err else None


def test_usage_adapt_prints_the_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """UNIT-084 through the CLI: DeepSeek's cache hits become cache_read."""
    report = _write(tmp_path, "r.json", DEEPSEEK)
    status, out, _ = _run(
        capsys, "usage", "adapt", "--from", "deepseek", "--model", "deepseek-chat", report
    )
    assert status == 0
    assert out == {
        "model": "deepseek-chat",
        "meters": {"input": 200, "cache_read": 800, "output": 300},
    }


def test_strict_refusal_and_lenient(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """UNIT-019: the OpenAI adapter refuses DeepSeek's own member (exit 1, invalid_usage naming
    it); --lenient ignores it."""
    report = _write(tmp_path, "r.json", DEEPSEEK)
    status, out, err = _run(capsys, "usage", "adapt", "--from", "openai", "--model", "m", report)
    assert status == 1
    assert out is None
    assert isinstance(err, dict)
    assert err["error"] == "invalid_usage"
    assert "prompt_cache_hit_tokens" in err["message"]
    status, out, _ = _run(
        capsys, "usage", "adapt", "--from", "openai", "--model", "m", "--lenient", report
    )
    assert status == 0
    assert out == {"model": "m", "meters": {"input": 1000, "output": 300}}


def test_stream_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """UNIT-100, UNIT-101: an SSE capture; a cut one is incomplete_stream."""
    whole = (
        'data: {"model":"m","choices":[{"index":0,"delta":{},"finish_reason":null}]}\n\n'
        'data: {"model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":1}}\n\n'
        "data: [DONE]\n"
    )
    status, out, _ = _run(
        capsys, "usage", "adapt", "--from", "openai", "--stream", _write(tmp_path, "s.sse", whole)
    )
    assert status == 0
    assert out == {"model": "m", "meters": {"input": 5, "output": 1}}
    cut = whole.split("\n\n")[0] + "\n"
    status, out, err = _run(
        capsys, "usage", "adapt", "--from", "openai", "--stream", _write(tmp_path, "c.sse", cut)
    )
    assert status == 1
    assert isinstance(err, dict)
    assert err["error"] == "incomplete_stream"


def test_price_from_vendor_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """UNIT-051, UNIT-063 through ``price --from``: an Anthropic batch report priced with the
    batch rates: 1000 x 0.0000005 + 200 x 0.0000025 = 0.001."""
    key = generate_key()
    card = tmp_path / "card.jwt"
    card.write_text(RateCard.sign(CARD, key))
    pub = tmp_path / "pub.jwk"
    pub.write_text(json.dumps(key.public_key().to_jwk()))
    report = _write(
        tmp_path,
        "msg.json",
        {
            "model": "claude-haiku-4-5",
            "usage": {"input_tokens": 1000, "output_tokens": 200, "service_tier": "batch"},
        },
    )
    status, out, _ = _run(
        capsys, "price", "--rate-card", str(card), "--key", str(pub), "--usage", report,
        "--from", "anthropic", "--at", "1",
    )  # fmt: skip
    assert status == 0
    assert isinstance(out, dict)
    assert out["amount"] == "0.001"
    assert out["service_tier"] == "batch"


def test_bad_service_tier_argument(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """UNIT-070: a malformed --service-tier is a bad command line (exit 2)."""
    report = _write(tmp_path, "r.json", DEEPSEEK)
    status, _, err = _run(
        capsys, "usage", "adapt", "--from", "deepseek", "--service-tier", "Batch", report
    )
    assert status == 2
    assert isinstance(err, dict)
    assert err["error"] == "invalid_arguments"


def test_stream_file_that_is_not_utf8_is_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """CONV-010: a stream capture that is not UTF-8 is malformed, as any text that is not."""
    capture = tmp_path / "binary.sse"
    capture.write_bytes(b"\xff\xfe data: {}\n")
    status, _, err = _run(capsys, "usage", "adapt", "--from", "openai", "--stream", str(capture))
    assert status == 1
    assert isinstance(err, dict)
    assert err["error"] == "malformed"
