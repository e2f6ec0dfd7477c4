"""File handling for the command line: strict reads, atomic private writes."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import _json
from ..errors import InvalidKeyError, IoError, MalformedError, TokenfedError
from ..keys import PrivateKey, PublicKey, load_private_jwk, load_public_jwk

__all__ = [
    "OUTPUT_OPTIONS",
    "check_outputs",
    "emit",
    "read_bytes",
    "read_json",
    "read_private_key",
    "read_public_key",
    "read_text",
    "read_token",
    "write_atomic",
]


def read_bytes(path: str) -> bytes:
    """Read a file, or standard input for ``-``."""
    try:
        if path == "-":
            return sys.stdin.buffer.read()
        return Path(path).read_bytes()
    except OSError as exc:
        raise IoError(f"cannot read {path}: {exc.strerror or exc}") from exc


def read_token(path: str) -> str:
    """A JWS read from a file: ASCII text, surrounding white space removed (CONV-041)."""
    data = read_bytes(path).strip(b" \t\r\n")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedError(
            f"{path}: not a JWS compact serialization (not ASCII text) (CONV-041)"
        ) from None


def read_text(path: str) -> str:
    """Read a UTF-8 text file (or ``-``) with surrounding white space removed."""
    data = read_bytes(path)
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise IoError(f"{path} is not UTF-8 text") from None


def read_json(path: str) -> Any:
    """Read one strict I-JSON document (CONV-010..CONV-015)."""
    data = read_bytes(path)
    try:
        return _json.loads(data)  # JSON's own whitespace only (CONV-010)
    except TokenfedError as exc:
        exc.message = f"{path}: {exc.message}"
        raise


def _one_jwk(path: str) -> Any:
    """The JSON of a key file, refused with a hint when it is a JWK Set rather than one JWK."""
    value = read_json(path)
    if isinstance(value, dict) and "keys" in value and "kty" not in value:
        raise InvalidKeyError(
            f"{path} holds a JWK Set, not one JWK: give the one key's JWK here, or a trust "
            "store with --trust (or, for a federation, the anchor's JWK Set with --anchor-keys)"
        )
    return value


def read_private_key(path: str) -> PrivateKey:
    """Read a private JWK, as written by ``tokenfed keygen``."""
    return load_private_jwk(_one_jwk(path))


def read_public_key(path: str) -> PublicKey:
    """Read a JWK; a private JWK is reduced to its public half."""
    return load_public_jwk(_one_jwk(path))


def write_atomic(path: str, content: str, *, overwrite: bool, mode: int = 0o600) -> None:
    """Write ``content`` to ``path`` (mode 0600 unless told), atomically: all of it or nothing.

    The file is written and flushed to disk under a temporary name in the same folder, then
    linked into place (which fails if ``path`` exists) or, with ``overwrite``, renamed over it.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise IoError(f"cannot write in {folder}: {exc.strerror or exc}") from exc
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temp, target)
        else:
            try:
                os.link(temp, target)
            except FileExistsError:
                raise IoError(
                    f"{path} exists; refusing to overwrite it (use --force to replace it)"
                ) from None
            os.unlink(temp)
    except OSError as exc:
        raise IoError(f"cannot write {path}: {exc.strerror or exc}") from exc
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


OUTPUT_OPTIONS = ("out", "list_out", "results")
"""The options that name a file a command writes (``--out-dir`` is checked by its command)."""


_STATE_OPTIONS = ("ledger", "history", "state")


def _paths(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [path for item in value for path in _paths(item)]
    return []


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def check_outputs(args: argparse.Namespace) -> None:
    """Refuse an output path that names a file the same command reads, or another of its outputs.

    Every other text argument of the command that names an existing file (a file read, a trust
    store, a key), and its ledger or history even before they exist, is protected, by resolved
    path and, where the file exists, by device and inode: ``--force`` replaces an earlier
    output, never an input.

    Raises:
        IoError: an output would overwrite an input or another output of the command.
    """
    from ..receipts._files import check_output_path

    outputs = [
        (name, value)
        for name in OUTPUT_OPTIONS
        if isinstance(value := getattr(args, name, None), str) and value != "-"
    ]
    if not outputs:
        return
    others = [  # files that exist, and state files a command may create (a new ledger)
        (name, path)
        for name, value in vars(args).items()
        if name not in OUTPUT_OPTIONS
        for path in _paths(value)
        if path != "-" and (name in _STATE_OPTIONS or os.path.lexists(path))
    ]
    for index, (name, output) in enumerate(outputs):
        for other_name, other in [*others, *outputs[:index]]:
            try:
                check_output_path(output, [other])
            except IoError:
                raise IoError(
                    f"refusing to write {_flag(name)} {output}: it is the file given as "
                    f"{_flag(other_name)}, which would be overwritten; choose another path "
                    "(--force replaces an earlier output, never an input)",
                    detail={"path": output},
                ) from None


def emit(value: Any) -> None:
    """Print a JSON value on standard output, which no strict reader would refuse: a string
    with a noncharacter or a lone surrogate (CONV-014, CONV-016) is ``malformed`` and nothing
    is printed."""
    text = json.dumps(value, indent=2, ensure_ascii=False)
    _json.check_text(text)
    sys.stdout.write(text + "\n")
