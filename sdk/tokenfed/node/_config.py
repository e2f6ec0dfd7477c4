"""The node's configuration file (``NODE.toml``): parsing, checking, and loading its keys.

Relative paths in the file are relative to the directory of the file. A configuration that is
not valid, or names a key file that is missing, unreadable, readable by others or not owned by
the user, or a key whose public part is not in what the node publishes, is refused with a
:class:`~tokenfed.errors.TokenfedError` that says which member and what to do (API-050..API-052).
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from .. import _json
from .._model import is_entity_id
from ..errors import InvalidKeyError, IoError, MalformedError, SchemaViolationError, TokenfedError
from ..keys import KeySet, PrivateKey, load_private_jwk, load_public_jwk

__all__ = [
    "LoadedKeys",
    "NodeConfig",
    "Role",
    "load_config",
    "load_keys",
    "read_private_key_file",
    "token_sha256",
]

MAX_STATEMENT_LIFETIME = 86400
"""Longest lifetime of a statement the node signs (FED: ``exp - iat`` at most 24 hours)."""
DEFAULT_MAX_BODY_BYTES = 1048576
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
_HOST_LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


class Role(enum.StrEnum):
    """What a node is in the federation; one process serves one entity with one or more roles."""

    ANCHOR = "anchor"
    INTERMEDIATE = "intermediate"
    PROVIDER = "provider"
    OPERATOR = "operator"
    CLEARING_HOUSE = "clearing_house"


AUTHORITY_ROLES = frozenset({Role.ANCHOR, Role.INTERMEDIATE})
LEAF_ROLES = frozenset({Role.PROVIDER, Role.OPERATOR, Role.CLEARING_HOUSE})


def _entity_id(value: str) -> str:
    if not is_entity_id(value) or value.endswith("/"):
        raise ValueError(
            f"{value!r} is not a federation entity id (https, lowercase host, optional port "
            "and path, no query, fragment, userinfo or trailing '/')"
        )
    return value


FederationEntityId = Annotated[str, AfterValidator(_entity_id)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Listen(_Section):
    """``[listen]``: where uvicorn binds."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            # A host name: LDH labels, the last not all digits (999.999.1.1 is no address).
            labels = value.rstrip(".").split(".")
            if not all(_HOST_LABEL.fullmatch(label) for label in labels) or labels[-1].isdigit():
                raise ValueError(
                    "must be an IP address or a host name (letters, digits, '-', '.')"
                ) from None
        return value


class Keys(_Section):
    """``[keys]``: private JWK files (mode 0600) and the key sets the node publishes."""

    federation: Path
    federation_jwks: Path | None = None
    historical: Path | None = None
    receipt: Path | None = None
    receipt_jwks: Path | None = None
    entitlement: Path | None = None
    entitlement_jwks: Path | None = None
    statement: Path | None = None
    statement_jwks: Path | None = None


class Limits(_Section):
    """``[limits]``: request size limits."""

    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024, le=67108864)


class Admin(_Section):
    """``[admin]``: the admin bearer credential, stored as the hex SHA-256 of the token."""

    token_sha256: str

    @field_validator("token_sha256")
    @classmethod
    def _hex(cls, value: str) -> str:
        if not _HEX64.match(value):
            raise ValueError("must be 64 lowercase hex digits (the SHA-256 of the admin token)")
        return value


class TrustAnchorEntry(_Section):
    """``[[trust_anchors]]``: an anchor this node verifies under, with its pinned keys."""

    entity_id: FederationEntityId
    jwks: Path


class Subordinate(_Section):
    """``[[subordinates]]``: an entity an anchor or intermediate issues statements about."""

    entity_id: FederationEntityId
    jwks: Path | dict[str, Any]
    entity_types: list[str] = Field(default_factory=list)
    recognition: bool = False
    metadata: dict[str, Any] | None = None
    constraints: dict[str, Any] | None = None
    metadata_policy: dict[str, Any] | None = None


class Provider(_Section):
    """``[provider]``: the rate card the provider publishes and prices with."""

    rate_card: Path


class Operator(_Section):
    """``[operator]``: defaults of entitlements the operator issues, and where totals get their
    exchange rates (a clearing house resolved through the federation)."""

    entitlement_lifetime: int = Field(default=3600, ge=60, le=MAX_STATEMENT_LIFETIME)
    clearing_house: FederationEntityId | None = None
    currency: str = Field(default="CNY", pattern="^[A-Z]{3}$")
    max_receipts: int = Field(default=1000, ge=1, le=100000)


class ClearingHouse(_Section):
    """``[clearing_house]``: the exchange-rate claims the clearing house signs and publishes."""

    exchange_rates: Path


class NodeConfig(_Section):
    """The whole ``NODE.toml``. Paths are absolute once :func:`load_config` has read the file."""

    entity_id: FederationEntityId
    roles: list[Role] = Field(min_length=1)
    organization_name: str | None = None
    data_dir: Path
    statement_lifetime: int = Field(default=MAX_STATEMENT_LIFETIME, ge=60)
    authority_hints: list[FederationEntityId] = Field(default_factory=list)
    listen: Listen = Listen()
    keys: Keys
    limits: Limits = Limits()
    admin: Admin | None = None
    trust_anchors: list[TrustAnchorEntry] = Field(default_factory=list)
    origin_map: dict[str, str] = Field(default_factory=dict)
    subordinates: list[Subordinate] = Field(default_factory=list)
    subordinates_dir: Path | None = None
    provider: Provider | None = None
    operator: Operator | None = None
    clearing_house: ClearingHouse | None = None

    @field_validator("roles", mode="before")
    @classmethod
    def _roles(cls, value: Any) -> Any:
        # TOML gives a list; strict mode wants the enum values converted explicitly.
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            try:
                return [Role(item) for item in value]
            except ValueError:
                raise ValueError(
                    f"roles must be taken from {', '.join(r.value for r in Role)}"
                ) from None
        return value

    @field_validator("authority_hints")
    @classmethod
    def _hints(cls, value: list[str]) -> list[str]:
        if len(value) > 8:
            raise ValueError("at most 8 authority hints")
        if len(set(value)) != len(value):
            raise ValueError("an authority hint is listed twice")
        return value

    @field_validator("statement_lifetime")
    @classmethod
    def _lifetime(cls, value: int) -> int:
        if value > MAX_STATEMENT_LIFETIME:
            raise ValueError(f"statements live at most {MAX_STATEMENT_LIFETIME} s (24 hours)")
        return value

    @field_validator("origin_map")
    @classmethod
    def _origins(cls, value: dict[str, str]) -> dict[str, str]:
        for origin, target in value.items():
            parts = urlsplit(origin)
            if parts.scheme != "https" or not parts.hostname or parts.path not in ("", "/"):
                raise ValueError(f"origin_map key {origin!r} must be an https origin")
            goal = urlsplit(target)
            if goal.scheme != "http" or goal.hostname not in _LOOPBACK_HOSTS:
                raise ValueError(
                    f"origin_map target {target!r} must be http://127.0.0.1:PORT, "
                    "http://[::1]:PORT or http://localhost:PORT (loopback test mode only)"
                )
        return value

    @model_validator(mode="after")
    def _roles_fit(self) -> NodeConfig:
        roles = set(self.roles)
        if len(roles) != len(self.roles):
            raise ValueError("a role is listed twice")
        authority = roles & AUTHORITY_ROLES
        if len(authority) > 1:
            raise ValueError("a node is an anchor or an intermediate, not both")
        if authority and roles & LEAF_ROLES:
            raise ValueError(
                "an anchor or intermediate does not also act as provider, operator or clearing "
                "house: leaves must not publish fetch and list endpoints; run two nodes"
            )
        if Role.ANCHOR not in roles and not self.authority_hints:
            raise ValueError("authority_hints: every entity but an anchor names its superiors")
        if (self.subordinates or self.subordinates_dir) and not authority:
            raise ValueError("subordinates: only an anchor or an intermediate has subordinates")
        needs = {
            Role.PROVIDER: ("receipt", "provider"),
            Role.OPERATOR: ("entitlement", "operator"),
            Role.CLEARING_HOUSE: ("statement", "clearing_house"),
        }
        for role, (key, section) in needs.items():
            if role in roles:
                if getattr(self.keys, key) is None:
                    raise ValueError(f"keys.{key}: the {role.value} role signs with this key")
                if getattr(self, section) is None:
                    raise ValueError(f"[{section}]: the {role.value} role needs this section")
        if roles & {Role.PROVIDER, Role.OPERATOR} and not self.trust_anchors:
            raise ValueError(
                "trust_anchors: a provider or operator verifies its counterparties through the "
                "federation and needs at least one trust anchor"
            )
        if Role.OPERATOR in roles and self.admin is None:
            raise ValueError("[admin]: the operator's entitlement endpoint needs a credential")
        return self

    @property
    def base_path(self) -> str:
        """The path part of the entity id; every endpoint of the node lives below it."""
        return urlsplit(self.entity_id).path

    def has(self, role: Role) -> bool:
        """Whether the node has ``role``."""
        return role in self.roles

    @property
    def is_authority(self) -> bool:
        """Whether the node is an anchor or an intermediate."""
        return bool(set(self.roles) & AUTHORITY_ROLES)


def token_sha256(token: str) -> str:
    """The hex SHA-256 of an admin token, as written in ``[admin] token_sha256``."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _absolute(base: Path, value: Any) -> Any:
    """Resolve every path-valued member of the raw TOML against the config's directory."""
    return value if Path(value).is_absolute() else str(base / value)


_PATH_MEMBERS = {
    (): ("data_dir", "subordinates_dir"),
    ("keys",): tuple(Keys.model_fields),
    ("provider",): ("rate_card",),
    ("clearing_house",): ("exchange_rates",),
}


def _rebase(raw: dict[str, Any], base: Path) -> None:
    for section, names in _PATH_MEMBERS.items():
        table: Any = raw
        for part in section:
            table = table.get(part) if isinstance(table, dict) else None
        if not isinstance(table, dict):
            continue
        for name in names:
            if isinstance(table.get(name), str):
                table[name] = _absolute(base, table[name])
    for list_name in ("trust_anchors", "subordinates"):
        entries = raw.get(list_name)
        if isinstance(entries, list):
            for entry in entries:
                if isinstance(entry, dict) and isinstance(entry.get("jwks"), str):
                    entry["jwks"] = _absolute(base, entry["jwks"])


def _to_python_paths(raw: dict[str, Any]) -> dict[str, Any]:
    """Strict pydantic does not turn strings into ``Path``: do it for the known members."""

    def convert(table: Any, names: tuple[str, ...]) -> None:
        if isinstance(table, dict):
            for name in names:
                if isinstance(table.get(name), str):
                    table[name] = Path(table[name])

    for section, names in _PATH_MEMBERS.items():
        table: Any = raw
        for part in section:
            table = table.get(part) if isinstance(table, dict) else None
        convert(table, names)
    for list_name in ("trust_anchors", "subordinates"):
        for entry in raw.get(list_name) or []:
            convert(entry, ("jwks",))
    return raw


def _schema_error(where: str, exc: ValidationError) -> SchemaViolationError:
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in first["loc"]) or "(top level)"
    message = first["msg"].removeprefix("Value error, ")
    return SchemaViolationError(f"{where}: {location}: {message}", detail={"member": location})


def load_config(path: str | Path) -> NodeConfig:
    """Read and check ``NODE.toml`` (API-050). Keys are loaded separately by :func:`load_keys`.

    Raises:
        IoError: the file cannot be read.
        MalformedError: the file is not TOML.
        SchemaViolationError: a member is missing, unknown, of the wrong type or out of range,
            or the roles do not fit together; the message names the member.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IoError(f"cannot read the node configuration {path}: {exc.strerror}") from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise MalformedError(f"{path} is not a TOML file: {exc}") from None
    _rebase(raw, path.resolve().parent)
    try:
        config = NodeConfig.model_validate(_to_python_paths(raw))
    except ValidationError as exc:
        raise _schema_error(str(path), exc) from None
    return config


# --------------------------------------------------------------------------- key files


def read_private_key_file(path: Path, what: str) -> PrivateKey:
    """Read a private JWK file that only its owner can read (API-051).

    The file is opened once and checked through its descriptor, so the checked file and the
    read file are the same.

    Raises:
        IoError: missing, unreadable, not a regular file, not owned by the user running the
            node, or readable or writable by group or others.
        InvalidKeyError: not a private JWK.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        raise IoError(f"{what} key file {path} does not exist") from None
    except OSError as exc:
        raise IoError(f"cannot open the {what} key file {path}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise IoError(f"{what} key file {path} is not a regular file")
        if info.st_uid != os.geteuid():
            raise IoError(
                f"{what} key file {path} belongs to uid {info.st_uid}, not to the user running "
                f"the node (uid {os.geteuid()}); chown it"
            )
        if info.st_mode & 0o077:
            raise IoError(
                f"{what} key file {path} has mode {stat.S_IMODE(info.st_mode):04o}: a private key "
                f"must be readable by its owner only; run chmod 600 {path}"
            )
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(65536)
    except OSError as exc:
        raise IoError(f"cannot read the {what} key file {path}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return load_private_jwk(_json.loads(data))
    except TokenfedError as exc:
        raise InvalidKeyError(f"{what} key file {path}: {exc.message}") from None


def _read_json_file(path: Path, what: str) -> Any:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IoError(f"cannot read the {what} file {path}: {exc.strerror}") from None
    try:
        return _json.loads(data)
    except TokenfedError as exc:
        exc.message = f"{what} file {path}: {exc.message}"
        raise


def _key_set(value: Path | Mapping[str, Any], what: str) -> KeySet:
    raw = _read_json_file(value, what) if isinstance(value, Path) else value
    try:
        return KeySet.from_jwks(raw)
    except TokenfedError as exc:
        raise InvalidKeyError(f"{what}: {exc.message}") from None


@dataclass(frozen=True)
class SigningKey:
    """A private key and the published set its public part must be in."""

    private: PrivateKey
    published: KeySet


@dataclass(frozen=True)
class LoadedKeys:
    """The node's keys after the startup checks."""

    federation: SigningKey
    historical: tuple[dict[str, Any], ...] = ()
    receipt: SigningKey | None = None
    entitlement: SigningKey | None = None
    statement: SigningKey | None = None
    anchors: dict[str, KeySet] = field(default_factory=dict)


def _signing_key(
    key_file: Path, jwks_file: Path | None, what: str, *, validity_required: bool
) -> SigningKey:
    private = read_private_key_file(key_file, what)
    if jwks_file is None:
        # Publish the key alone; an application key needs nbf (FED-6): the JWK's own nbf if it
        # has one, else the time the key file was last written.
        jwk = private.public_key().to_jwk(with_validity=False)
        if validity_required:
            with key_file.open("rb") as handle:
                jwk_members = _json.loads(handle.read(65536))
            jwk["nbf"] = jwk_members.get("nbf", int(key_file.stat().st_mtime))
        try:
            published = KeySet([load_public_jwk(jwk)])
        except TokenfedError as exc:
            raise InvalidKeyError(f"{what} key file {key_file}: {exc.message}") from None
    else:
        published = _key_set(jwks_file, f"{what} published key set")
        if validity_required:
            for key in published:
                if key.validity.nbf is None:
                    raise InvalidKeyError(
                        f"{what} published key set {jwks_file}: key {key.kid} has no nbf; every "
                        "key of a tokenfed *_jwks member carries nbf"
                    )
    if published.get(private.kid) is None:
        raise InvalidKeyError(
            f"the public part of the {what} key {key_file} (kid {private.kid}) is not in the key "
            f"set the node publishes ({jwks_file}); add it there, or sign with a published key"
        )
    return SigningKey(private, published)


def load_keys(config: NodeConfig) -> LoadedKeys:
    """Load and check every key the configuration names (API-051, API-052)."""
    keys = config.keys
    federation = _signing_key(
        keys.federation, keys.federation_jwks, "federation", validity_required=False
    )
    historical: tuple[dict[str, Any], ...] = ()
    if keys.historical is not None:
        raw = _read_json_file(keys.historical, "historical keys")
        entries = raw.get("keys") if isinstance(raw, dict) else None
        if not isinstance(entries, list) or not all(isinstance(k, dict) for k in entries):
            raise SchemaViolationError(
                f'historical keys file {keys.historical}: must be {{"keys": [JWK, ...]}}'
            )
        for jwk in entries:
            if "d" in jwk:
                raise InvalidKeyError(f"historical keys file {keys.historical}: a private key")
            if not isinstance(jwk.get("exp"), int):
                raise SchemaViolationError(
                    f"historical keys file {keys.historical}: every retired key has exp"
                )
            try:
                load_public_jwk(jwk)
            except TokenfedError as exc:
                exc.message = f"historical keys file {keys.historical}: {exc.message}"
                raise
        historical = tuple(entries)
    roles: dict[str, SigningKey | None] = {}
    for name in ("receipt", "entitlement", "statement"):
        key_file = getattr(keys, name)
        roles[name] = (
            None
            if key_file is None
            else _signing_key(key_file, getattr(keys, f"{name}_jwks"), name, validity_required=True)
        )
        signing = roles[name]
        if signing is not None:
            shared = {k.kid for k in signing.published} & {k.kid for k in federation.published}
            if shared:
                raise InvalidKeyError(
                    f"the {name} key set shares keys with the federation key set "
                    f"({', '.join(sorted(shared))}); application keys must be separate keys"
                )
    anchors = {
        anchor.entity_id: _key_set(anchor.jwks, f"trust anchor {anchor.entity_id} keys")
        for anchor in config.trust_anchors
    }
    return LoadedKeys(
        federation=federation,
        historical=historical,
        receipt=roles["receipt"],
        entitlement=roles["entitlement"],
        statement=roles["statement"],
        anchors=anchors,
    )
