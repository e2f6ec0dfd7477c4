"""``tokenfed serve`` as a process: startup refusals, structured logs, graceful shutdown.

These run the real command in a subprocess, as an operator of a node would.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from _node_support import ADMIN_TOKEN, NodeFiles, serve_process, write_jwks
from tokenfed.keys import generate_key


def run_serve(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tokenfed.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def refused(config: Path, code: str) -> str:
    """The node refuses to start: exit 1, one JSON error with ``code``, no traceback."""
    result = run_serve("--config", str(config))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == code, error
    message: str = error["message"]
    return message


@pytest.fixture
def provider(tmp_path: Path) -> NodeFiles:
    return NodeFiles(
        tmp_path,
        "https://tokens.b.example",
        ["provider"],
        authority_hints=["https://anchor.b.example"],
        extra_toml=(
            '\n[[trust_anchors]]\nentity_id = "https://anchor.b.example"\njwks = "anchor.jwks"\n'
        ),
    )


def with_anchor_keys(files: NodeFiles) -> Path:
    write_jwks(files.root / "anchor.jwks", generate_key().public_key().to_jwk(with_validity=False))
    return files.write()


def test_check_accepts_a_good_configuration(provider: NodeFiles) -> None:
    """API-050: --check loads the configuration and the keys and prints a summary."""
    result = run_serve("--config", str(with_anchor_keys(provider)), "--check")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["roles"] == ["provider"]


def test_missing_key_file_is_refused(provider: NodeFiles) -> None:
    """API-051: a missing private key file stops the node with io_error, naming the file."""
    config = with_anchor_keys(provider)
    (provider.root / "role.jwk").unlink()
    assert "role.jwk does not exist" in refused(config, "io_error")


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
def test_key_readable_by_others_is_refused(provider: NodeFiles, mode: int) -> None:
    """API-051: a private key readable or writable by group or others is refused."""
    config = with_anchor_keys(provider)
    (provider.root / "federation.jwk").chmod(mode)
    assert "chmod 600" in refused(config, "io_error")


def test_unreadable_key_is_refused(provider: NodeFiles) -> None:
    """API-051: a key file that cannot be read (a directory here) is refused."""
    config = with_anchor_keys(provider)
    (provider.root / "role.jwk").unlink()
    (provider.root / "role.jwk").mkdir(mode=0o700)
    assert "not a regular file" in refused(config, "io_error")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_key_owned_by_another_user_is_refused(provider: NodeFiles) -> None:
    """API-051: a private key owned by another user is refused."""
    config = with_anchor_keys(provider)
    os.chown(provider.root / "role.jwk", 4242, 4242)
    assert "belongs to uid 4242" in refused(config, "io_error")


def test_key_not_published_is_refused(provider: NodeFiles) -> None:
    """API-052: a signing key whose public part is not in the published key set is refused."""
    other = generate_key().public_key().to_jwk(with_validity=False)
    write_jwks(provider.root / "receipt.jwks", {**other, "nbf": 1})
    provider.extra_toml = provider.extra_toml.replace(
        "[[trust_anchors]]", "[keys]\nreceipt_jwks = 'receipt.jwks'\n[[trust_anchors]]"
    )
    config = with_anchor_keys(provider)
    text = config.read_text().replace(
        'receipt = "role.jwk"', 'receipt = "role.jwk"\nreceipt_jwks = "receipt.jwks"'
    )
    text = text.replace("[keys]\nreceipt_jwks = 'receipt.jwks'\n", "")
    config.write_text(text)
    assert "is not in the key set the node publishes" in refused(config, "invalid_key")


def test_a_bad_role_key_file_is_named(provider: NodeFiles) -> None:
    """API-050: a role key whose nbf is not a NumericDate is refused naming its key file."""
    config = with_anchor_keys(provider)
    jwk = json.loads((provider.root / "role.jwk").read_text())
    (provider.root / "role.jwk").write_text(json.dumps({**jwk, "nbf": "x"}))
    assert "role.jwk" in refused(config, "invalid_key")


def test_a_bad_anchor_key_set_file_is_named(provider: NodeFiles) -> None:
    """API-050: a trust anchor's key set file that is not JSON is refused naming the file."""
    config = with_anchor_keys(provider)
    (provider.root / "anchor.jwks").write_text("{")
    assert "anchor.jwks" in refused(config, "malformed")


def test_bad_configuration_names_the_member(provider: NodeFiles) -> None:
    """API-050: a configuration member out of range is schema_violation naming the member."""
    config = with_anchor_keys(provider)
    config.write_text(config.read_text() + "\nstatement_lifetime = 90000\n")
    config.write_text(
        config.read_text()
        .replace("\nstatement_lifetime = 90000\n", "")
        .replace('data_dir = "data"', 'data_dir = "data"\nstatement_lifetime = 90000')
    )
    assert "statement_lifetime" in refused(config, "schema_violation")


def test_a_listen_host_that_is_no_address_is_refused_by_check(provider: NodeFiles) -> None:
    """API-050: --check refuses a [listen] host that is neither an IP address nor a host name
    (999.999.1.1), naming the member; it used to pass, and serve then exited 3 silently."""
    config = with_anchor_keys(provider)
    text = config.read_text()
    assert 'host = "127.0.0.1"' in text
    config.write_text(text.replace('host = "127.0.0.1"', 'host = "999.999.1.1"'))
    result = run_serve("--config", str(config), "--check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert error["error"] == "schema_violation" and "host" in error["message"]


def test_a_subordinates_dir_that_is_no_directory_is_refused(provider: NodeFiles) -> None:
    """API-050: a subordinates_dir that does not exist is refused by --check, naming it."""
    config = with_anchor_keys(provider)
    text = config.read_text()
    config.write_text(
        text.replace('data_dir = "data"', 'data_dir = "data"\nsubordinates_dir = "nope"')
    )
    result = run_serve("--config", str(config), "--check")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert "subordinates_dir" in error["message"]


def test_a_port_in_use_is_one_error_object(provider: NodeFiles) -> None:
    """API-050: when the node cannot listen (the port is held), serve exits 1 with one error
    object naming [listen], not uvicorn's own exit status alone."""
    config = with_anchor_keys(provider)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as holder:
        holder.bind(("127.0.0.1", provider.port))
        holder.listen()
        result = run_serve("--config", str(config))
    assert result.returncode == 1, result.stderr
    error = json.loads(result.stderr.strip().splitlines()[-1])
    assert (error["error"], error["detail"]["member"]) == ("io_error", "listen")


def test_not_toml_is_malformed(tmp_path: Path) -> None:
    """API-050: a configuration that is not TOML is malformed."""
    config = tmp_path / "node.toml"
    config.write_text("entity_id = \n")
    refused(config, "malformed")


def test_serves_logs_and_stops_on_sigterm(provider: NodeFiles) -> None:
    """API-016, API-018: one JSON log line per request with id, method, path, status, duration
    and code; SIGTERM stops the node with exit 0 after it closed its state."""
    config = with_anchor_keys(provider)
    with serve_process(config, provider.port) as process:
        url = provider.base_url
        assert httpx.get(url + "/rate-card").status_code == 200
        missing = httpx.get(url + "/missing")
        assert missing.status_code == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert process.stderr is not None
        lines = [json.loads(line) for line in process.stderr.read().splitlines()]
    requests = [line for line in lines if line.get("event") == "request"]
    by_path = {line["path"]: line for line in requests}
    assert by_path["/missing"]["status"] == 404
    assert by_path["/missing"]["code"] == "not_found"
    assert by_path["/missing"]["request_id"] == missing.headers["x-request-id"]
    assert by_path["/rate-card"]["code"] is None
    assert {"ts", "level", "method", "duration_us"} <= set(by_path["/rate-card"])
    assert [line["event"] for line in lines if line.get("event") in ("started", "stopped")] == [
        "started",
        "stopped",
    ]


def test_request_in_flight_finishes_after_sigterm(tmp_path: Path) -> None:
    """API-018: a request whose body is still arriving when SIGTERM comes is answered in full
    before the node exits with status 0."""
    operator = NodeFiles(
        tmp_path,
        "https://op.a.example",
        ["operator"],
        authority_hints=["https://anchor.a.example"],
        extra_toml=(
            '\n[[trust_anchors]]\nentity_id = "https://anchor.a.example"\njwks = "anchor.jwks"\n'
        ),
    )
    config = with_anchor_keys(operator)
    body = json.dumps(
        {
            "subscriber": "alice",
            "provider": "https://tokens.b.example",
            "scope": ["m"],
            "limit": "1",
        }
    ).encode()
    head = (
        "POST /entitlements HTTP/1.1\r\nHost: op.a.example\r\n"
        f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with serve_process(config, operator.port) as process:
        with socket.create_connection(("127.0.0.1", operator.port), timeout=20) as connection:
            connection.sendall(head + body[:10])
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            connection.sendall(body[10:])
            answer = b""
            while chunk := connection.recv(65536):
                answer += chunk
        assert process.wait(timeout=30) == 0
    assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]
    assert b'"entitlement"' in answer


def test_missing_node_extra_is_a_clear_error(tmp_path: Path) -> None:
    """Without the node extra, ``tokenfed serve`` says which package is missing and how to
    install it (invalid_arguments, exit 2), with no traceback."""
    code = (
        "import sys\n"
        "sys.modules['uvicorn'] = None\n"
        "from tokenfed.cli import main\n"
        f"sys.exit(main(['serve', '--config', {str(tmp_path / 'node.toml')!r}]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2, result.stderr
    error = json.loads(result.stderr)
    assert error["error"] == "invalid_arguments"
    assert "pip install 'tokenfed[node]'" in error["message"]
    assert "uvicorn" in error["message"]
