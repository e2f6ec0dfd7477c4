"""The per-receipt work of batched and JWS receipts, in one module that mypyc compiles
(ADR 0010).

Every function here answers either "certainly valid" (a value) or ``None`` ("not certain"): it
never raises on hostile input and never names an error. On ``None`` the verifier runs its
reference path (the strict parser, REC-040 or REC-062 step by step, the full schema), which
gives the exact error code and message, or the same result. The one other answer is
``BatchedClaims.verify_compact``'s ``False``: every step of REC-040 but the signature's
certainly passes and the signature does not verify, where the reference path would stop at
step 6. So this module can only make verification faster, never more lenient; tests run it
both compiled and as pure Python, and compare every answer with the reference path.

The module imports nothing of the SDK, and values from the wire are typed ``object`` or
``Any`` and checked with ``type(x) is ...`` before they reach a typed name: a compiled
function raises ``TypeError`` where a value does not match its declared type.

``make`` builds a compiled copy, ``tokenfed._hotc`` (``sdk/build_hot.py``); the verifier uses
it when its ``SOURCE_DIGEST`` is the digest of this file, and this file otherwise.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from typing import Any, Final

import orjson

__all__ = [
    "BatchedClaims",
    "CachedInclusion",
    "Price",
    "Statement",
    "batched_item",
    "content_digest",
    "decode_b64url",
    "parse_batched",
    "track_in_memory",
]

MAX_SAFE_INTEGER: Final = 9007199254740991
"""2^53 - 1 (CONV-012)."""

_SQLITE_INT_MAX: Final = 2**63 - 1
"""The largest integer SQLite stores (a ledger row's amount in 10^-6 UTU beyond it is NULL)."""

HASH_SIZE: Final = 32

_LEAF = hashlib.sha256(b"\x00")
_NODE = hashlib.sha256(b"\x01")
_CONTENT = hashlib.sha256()
# Copying a hash state is cheaper than hashlib.sha256(data), which looks the algorithm up in
# OpenSSL on every call.

# base64url (CONV-041): one translation to the standard alphabet that also turns '+', '/' and
# '=' into '!', which strict decoding refuses; padding is added from the length.
_TO_STANDARD: Final = bytes.maketrans(b"-_+/=", b"+/!!!")
_PADDING: Final = (b"", b"", b"==", b"=")
# A final group of 2 (3) characters leaves 4 (2) unused low bits in its last character, which
# must be zero (RFC 4648 section 3.5): one of 4 (16) characters.
_CANONICAL_LAST_2: Final = frozenset(b"AQgw")
_CANONICAL_LAST_3: Final = frozenset(b"AEIMQUYcgkosw048")

# The patterns of the receipt schema (tokenfed.receipts._claims; a test checks they agree).
_TOKEN_ID: Final = re.compile(r"[A-Za-z0-9._~-]{1,128}")
_DIGEST: Final = re.compile(r"sha256:[0-9a-f]{64}")
_AMOUNT: Final = re.compile(r"(0|[1-9][0-9]{0,40})(\.[0-9]{0,5}[1-9])?")
_CLAIMS_MEMBERS: Final = frozenset(
    (
        "iss",
        "sub",
        "aud",
        "jti",
        "iat",
        "ver",
        "usage",
        "amount",
        "unit",
        "rate_card",
        "entitlement",
        "seq",
        "prev",
    )
)
_STABLE_LIMIT: Final = 4096
_STATEMENT_LIMIT: Final = 1024


def decode_b64url(text: Any) -> bytes | None:
    """The bytes of canonical unpadded base64url ``text`` (CONV-041), else ``None``."""
    if type(text) is not str or not text.isascii():
        return None
    raw = text.encode("ascii")
    size = len(raw) & 3
    if size == 1:
        return None
    if size == 2:
        if raw[-1] not in _CANONICAL_LAST_2:
            return None
    elif size == 3 and raw[-1] not in _CANONICAL_LAST_3:
        return None
    try:
        # Lax decoding skips the '!' the translation made of foreign characters; every skipped
        # character shortens the output, so the length check refuses them.
        data = binascii.a2b_base64(raw.translate(_TO_STANDARD) + _PADDING[size])
    except (binascii.Error, ValueError):
        return None
    return data if len(data) == len(raw) * 3 // 4 else None


def batched_item(text: Any) -> dict[str, Any] | None:
    """A batched receipt's JSON text parsed by orjson, when that is certainly the object the
    strict parser gives and it certainly passes REC-062 step 1; else ``None`` (the strict path
    then decides).

    An ASCII text without a backslash has no escape, no noncharacter and no lone surrogate:
    each string's text is its characters between two quotes. Once the five members are typed
    (``ver`` 1.0, three strings, an integer index in range, an array of strings), the compact
    form of this object (the form batched receipts are written in) has a length computed from
    them here, and every other JSON text that orjson reads as this object is longer: whitespace,
    an integer written ``-0``, or a member named twice (orjson keeps one value, the strict
    parser refuses the text) each add characters. So a text of exactly that length has no
    duplicate or further member, and the strict parser gives this same object. (Counting the
    quotes proves the same for any spacing, but reads the whole text again: about 3.4 us of a
    batched receipt's 24 us.)
    """
    if type(text) is str:
        if not text.isascii() or "\\" in text:
            return None
        data = text.encode("ascii")
    elif type(text) is bytes:
        if not text.isascii() or b"\\" in text:
            return None
        data = text
    else:
        return None
    try:
        item: Any = orjson.loads(data)
    except orjson.JSONDecodeError:
        return None
    # Five members, each of the five present with its type: exactly those five.
    if type(item) is not dict or len(item) != 5:
        return None
    index = item.get("leaf_index")
    path = item.get("audit_path")
    if not (
        item.get("ver") == "1.0"
        and type(item.get("claims")) is str
        and type(item.get("batch")) is str
        and type(index) is int
        and 0 <= index <= MAX_SAFE_INTEGER
        and type(path) is list
    ):
        return None
    # {"ver":"1.0","claims":"C","leaf_index":I,"audit_path":["P",...],"batch":"B"}: the braces
    # and four commas (6), five names with their quotes and colons (49), "1.0" with its quotes
    # (5), the quotes of C and B (4), the brackets (2), and per entry of the path its quotes
    # and, between entries, a comma.
    size = 65 + len(item["claims"]) + len(item["batch"]) + _digits(index) + max(len(path), 1)
    for entry in path:
        if type(entry) is not str:
            return None
        size += len(entry) + 2
    if len(data) != size:
        return None
    found: dict[str, Any] = item
    return found


def _digits(value: int) -> int:
    """How many decimal digits ``value`` (>= 0) has: the length of its shortest JSON text."""
    count = 1
    while value >= 10:
        value //= 10
        count += 1
    return count


def parse_batched(text: Any) -> tuple[bytes, str, int, list[str], str] | None:
    """REC-062 step 1 on a batched receipt's JSON text: (claims bytes, claims as base64url,
    leaf index, audit path, batch statement) when :func:`batched_item` takes the text and its
    claims are canonical base64url, else ``None``."""
    item = batched_item(text)
    if item is None:
        return None
    claims: str = item["claims"]
    leaf = decode_b64url(claims)
    if leaf is None:
        return None
    return leaf, claims, item["leaf_index"], item["audit_path"], item["batch"]


def content_digest(data: bytes) -> str:
    """``sha256:`` + lowercase hex SHA-256 of ``data`` (CONV-031, REC-010)."""
    h = _CONTENT.copy()
    h.update(data)
    return "sha256:" + h.hexdigest()


def track_in_memory(
    tx_seen: dict[Any, Any],
    seen: dict[Any, Any],
    tx_heads: dict[Any, Any],
    heads: dict[Any, Any],
    iss: Any,
    jti: Any,
    aud: Any,
    seq: Any,
    prev: Any,
    digest: Any,
) -> int:
    """Steps 12 and 13 of REC-040 against a tracker's state in memory (a transaction's
    ``tx_seen`` and ``tx_heads`` over its tracker's ``seen`` and ``heads``): 0 for a new
    receipt (the transaction's state is then updated), 1 for an identical resubmission, 2 when
    the receipt is a replay or breaks its chain (nothing is changed: the tracker's reference
    steps then raise the exact error)."""
    key = (iss, jti)
    found = tx_seen.get(key)
    if found is None:
        found = seen.get(key)
    if found is not None:
        return 1 if found == digest else 2
    stream = (iss, aud)
    head = tx_heads.get(stream)
    if head is None:
        head = heads.get(stream)
    expected_seq: Any = 1
    expected_prev: Any = None
    if head is not None:
        expected_seq = head[0] + 1
        expected_prev = head[1]
    if seq != expected_seq or prev != expected_prev:
        return 2
    tx_seen[key] = digest
    tx_heads[stream] = (seq, digest)
    return 0


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 || data)`` (RFC 9162 section 2.1.1)."""
    h = _LEAF.copy()
    h.update(data)
    return h.digest()


def _same_rest(proof: list[str], start: int, other: list[str], other_start: int) -> bool:
    """Whether ``proof[start:] == other[other_start:]``, without copying either."""
    if len(proof) - start != len(other) - other_start:
        return False
    shift = other_start - start
    return all(proof[i] == other[i + shift] for i in range(start, len(proof)))


class CachedInclusion:
    """Inclusion proofs of one tree (size, root), verified with a memory of proven nodes.

    Every node on a verified audit path is a genuine node of the tree, and every leaf below a
    node shares the rest of its audit path. So once a leaf's path has reached a node proven
    before, the leaf is included exactly when the hash computed so far equals that node and the
    rest of its proof equals the proven rest: the same answer ``_merkle.verify_inclusion``
    gives, with no further hashing. Receipts of a batch verified in order need about two node
    hashes each instead of one per tree level (REC-062 step 3).

    Proofs are given as 64-digit lowercase hex strings, the wire form of batched receipts; an
    entry is decoded only if it is hashed, and compared as text otherwise.
    """

    def __init__(self, size: int, root: bytes, *, limit: int = 1 << 16) -> None:
        self._size = size
        self._root = root
        self._limit = limit
        # Proven nodes by level and position: their hashes, a proof through each, and where the
        # rest of that proof above the node begins. Only ints, bytes and the proofs' lists are
        # kept: no container per node for the garbage collector to walk.
        self._nodes: dict[int, bytes] = {}
        self._proofs: dict[int, list[str]] = {}
        self._rests: dict[int, int] = {}

    def verify(self, leaf_hash: Any, index: Any, proof: Any) -> bool:
        """:meth:`verify_hex` for a proof of raw 32-byte hashes."""
        entries: list[str] = []
        try:
            for p in proof:
                if not isinstance(p, bytes | bytearray | memoryview):
                    return False
                entries.append(p.hex())
        except Exception:  # hostile input: not a proof
            return False
        return self.verify_hex(leaf_hash, index, entries)

    def verify_hex(self, leaf_hash: Any, index: Any, proof: Any) -> bool:
        """Whether ``proof`` shows ``leaf_hash`` at ``index``: the result of
        ``_merkle.verify_inclusion`` for this tree (every entry must be 64 lowercase hex
        digits), never an exception."""
        if type(index) is not int or not isinstance(leaf_hash, bytes | bytearray | memoryview):
            return False
        entries: list[str] = []
        try:
            for entry in proof:
                if type(entry) is not str:
                    return False
                entries.append(entry)
            leaf = bytes(leaf_hash)
        except Exception:  # hostile input: not a proof
            return False
        if len(leaf) != HASH_SIZE:
            return False
        return self._verify(leaf, index, entries)

    def _verify(self, leaf_hash: bytes, index: int, proof: list[str]) -> bool:
        size = self._size
        if not 0 <= index < size:
            return False
        inner = (index ^ (size - 1)).bit_length()
        if len(proof) != inner + (index >> inner).bit_count():
            return False
        nodes = self._nodes
        r = leaf_hash
        level = 0
        # Nodes hashed on the way up: their keys, hashes, and where the rest of proof begins.
        keys: list[int] = []
        hashes: list[bytes] = []
        rests: list[int] = []
        for step, entry in enumerate(proof):
            # 64 lowercase hex digits exactly: fromhex also reads upper case and spaces, which
            # then do not come back from hex().
            if len(entry) != 64:
                return False
            try:
                p = bytes.fromhex(entry)
            except ValueError:
                return False
            if p.hex() != entry:
                return False
            h = _NODE.copy()
            if step < inner:
                if (index >> level) & 1:
                    h.update(p)
                    h.update(r)
                else:
                    h.update(r)
                    h.update(p)
                level += 1
            else:
                # Above the split with the right edge only left siblings remain, one per set bit
                # of the index; levels of zero bits have no sibling.
                while not (index >> level) & 1:
                    level += 1
                h.update(p)
                h.update(r)
                level += 1
            r = h.digest()
            key = (index >> level) * 64 + level  # the node's level and position (level < 64)
            proven = nodes.get(key)
            if proven is not None:
                # A proven node: the leaf is included exactly when the rest of its proof is the
                # proven rest (compared as text, not hashed).
                if proven != r or not _same_rest(
                    proof, step + 1, self._proofs[key], self._rests[key]
                ):
                    return False
                if keys:
                    self._remember(keys, hashes, rests, proof)
                return True
            keys.append(key)
            hashes.append(r)
            rests.append(step + 1)
        if r != self._root:
            return False
        self._remember(keys, hashes, rests, proof)
        return True

    def _remember(
        self, keys: list[int], hashes: list[bytes], rests: list[int], proof: list[str]
    ) -> None:
        nodes = self._nodes
        if len(nodes) + len(keys) > self._limit:
            nodes.clear()
            self._proofs.clear()
            self._rests.clear()
        for i, key in enumerate(keys):
            nodes[key] = hashes[i]
            self._proofs[key] = proof
            self._rests[key] = rests[i]


class Price:
    """One model's rates of one rate card in its standard tier, as scaled integers
    (``weight * 10**9``, ``_pricing.compile_model``), and the card's validity window."""

    def __init__(
        self,
        nbf: int,
        exp: int,
        base: dict[str, int],
        tiers: list[tuple[int, dict[str, int]]],
        minimum: int,
        extension_meters: tuple[str, ...],
    ) -> None:
        self.nbf = nbf
        self.exp = exp
        self.base = base
        self.tiers = tiers  # highest threshold first
        self.minimum = minimum
        self.extension_meters = extension_meters

    def micro_amount(self, meters: dict[str, int]) -> int:
        """The amount in 10^-6 UTU (UNIT-044..UNIT-048), or -1 when a counted meter has no
        weight (the reference path then raises ``unpriced_meter``)."""
        total_input = meters.get("input", 0) + meters.get("cache_read", 0)
        total_input += meters.get("cache_write", 0)
        if self.tiers:
            for name in self.extension_meters:
                total_input += meters.get(name, 0)
        weights = self.base
        for above_input, table in self.tiers:
            if total_input > above_input:
                weights = table
                break
        total = 0
        for meter, count in meters.items():
            if count:
                weight = weights.get(meter)
                if weight is None:
                    return -1
                total += count * weight
        # Round once, half to even, from scale 10^9 to 10^6 (UNIT-048).
        amount, remainder = divmod(total, 1000)
        if remainder > 500 or (remainder == 500 and amount & 1):
            amount += 1
        return amount if amount >= self.minimum else self.minimum


_FRACTION_SCALE: Final = (1000000, 100000, 10000, 1000, 100, 10, 1)


def _micro_amount(text: str) -> int:
    """A decimal string matched by ``_AMOUNT`` (at most 6 fractional digits) times 10^6."""
    point = text.find(".")
    if point < 0:
        return int(text) * 1000000
    fraction = text[point + 1 :]
    return int(text[:point]) * 1000000 + int(fraction) * _FRACTION_SCALE[len(fraction)]


class Statement:
    """What the per-receipt checks need of a batch statement that verified."""

    def __init__(
        self, iss: str, iat: int, kid: str, batch_id: str, inclusion: CachedInclusion
    ) -> None:
        self.iss = iss
        self.iat = iat
        self.kid = kid
        self.batch_id = batch_id
        self.inclusion = inclusion


class BatchedClaims:
    """REC-062 steps 4 and 5 (with REC-040 steps 7 to 11) for claims that are certainly
    valid: the fast schema, ``iss`` and ``iat`` against the batch statement, time, rate card
    and amount, in one pass; and the whole of REC-040 for JWS receipts whose header and key
    are remembered (:meth:`verify_compact`).

    It accepts only ASCII claims without a backslash, with the common shape (version 1.0,
    registered meters, usage of exactly a model and meters) and no member named twice (a count
    of quotes), whose issuer, audience, subject, rate card and model a full check accepted
    before (:meth:`remember`), and whose rate card and model have a :class:`Price`.
    """

    def __init__(self, meters: frozenset[str], make: Any) -> None:
        self.meters = meters
        self.prices: dict[tuple[str, str, str], Price] = {}
        self._stable: set[tuple[str, str, str, str, str, str]] = set()
        self._last: tuple[str, str, str, str, str, str] = ("", "", "", "", "", "")
        self._last_price: Price | None = None  # the price of _last's card and model
        # Batch statements that verified, by their exact text (REC-063), and the last one used.
        self._make = make
        self._statements: dict[str, Statement] = {}
        self._last_batch = ""
        self._last_statement: Statement | None = None
        # JWS receipts: by (header segment, issuer), the key of a receipt that verified with
        # them (``add_key``): its kid, its signature check, its validity check, and how to ask
        # a key source that may change for it again (None: a trust store's key).
        self._keys: dict[tuple[str, str], tuple[str, Any, Any, Any]] = {}

    def add_statement(self, batch: str, statement: Statement) -> None:
        """Remember a batch statement that verified, whose key needs no check per receipt (a
        trust store's, not a federation's)."""
        if len(self._statements) >= _STATEMENT_LIMIT:
            self._statements.clear()
            self._last_batch = ""
            self._last_statement = None
        self._statements[batch] = statement

    def verify_text(self, text: Any, not_after: int) -> Any:
        """REC-062 for a batched receipt's JSON text whose batch statement is remembered
        (:meth:`add_statement`): the verified receipt (``make(claims, kid, claims bytes, claims
        as base64url, batch_id)``) if it is certainly valid, else ``None``."""
        parsed = parse_batched(text)
        if parsed is None:
            return None
        leaf, encoded, index, path, batch = parsed
        statement = self._last_statement
        if statement is None or batch != self._last_batch:  # compared, not hashed, most times
            statement = self._statements.get(batch)
            if statement is None:
                return None
            self._last_batch = batch
            self._last_statement = statement
        h = _LEAF.copy()
        h.update(leaf)
        if not statement.inclusion._verify(h.digest(), index, path):
            return None
        claims = self.check(leaf, statement.iss, statement.iat, not_after)
        if claims is None:
            return None
        receipt = self._make(claims, statement.kid, leaf, encoded, statement.batch_id)
        # A receipt verified one by one is tracked next (steps 12 and 13), which needs its
        # content digest: computed here rather than by the interpreted property.
        receipt._content_digest = content_digest(leaf)
        return receipt

    def add_key(
        self, header: str, iss: str, kid: str, verify: Any, valid_at: Any, resolve: Any = None
    ) -> None:
        """Remember the key a JWS receipt with this header segment and issuer verified with:
        ``verify(signature, signing input)`` is its signature check (CONV-049) and
        ``valid_at(iat)`` its validity window (REC-030).

        A trust store never changes, so its key is used as it is (``resolve`` None). Any other
        key source is asked again for every receipt: ``resolve(iss, kid)`` gives the signature
        check, the validity check and the key's origin while it still answers with the same
        key, else ``None`` (and the reference path decides)."""
        if len(self._keys) >= _STATEMENT_LIMIT:
            self._keys.clear()
        self._keys[(header, iss)] = (kid, verify, valid_at, resolve)

    def verify_compact(self, token: Any, max_bytes: int, not_after: int) -> Any:
        """REC-040 steps 1 to 11 for a JWS receipt (stripped of surrounding whitespace) whose
        header segment and issuer are remembered (:meth:`add_key`): the verified receipt
        (``make(claims, kid, payload, token)``, with ``origin=`` the key's origin from a key
        source other than a trust store) if it is certainly valid; ``False`` if every
        step but the signature's (step 6) certainly passes and the signature does not verify;
        else ``None``.

        The signature is checked last, once everything else is certain: on ``None`` the
        reference path runs without a signature having been checked, and on ``False`` its
        first failing step would be step 6.
        """
        found = self._compact(token, max_bytes, not_after, True)
        if found is None or found is False:
            return found
        claims, kid, payload, text, origin, payload_hash = found
        if origin is None:
            receipt = self._make(claims, kid, payload, text)
        else:
            receipt = self._make(claims, kid, payload, text, origin=origin)
        # Tracked next (steps 12 and 13), which needs the content digest.
        receipt._content_digest = "sha256:" + payload_hash.hexdigest()
        return receipt

    def compact_row(self, token: Any, max_bytes: int, not_after: int) -> Any:
        """:meth:`verify_compact` for a line of a receipt file, in trust-store mode: where the
        receipt is certainly valid, the compact result the file's workers send their parent,
        ``(True, ledger row, prev, result row members, amount in 10^-6 UTU)``, equal to what
        the reference path builds from the verified receipt (``receipts._files``); ``False``
        where only the signature fails; else ``None``, also for a key with an origin (a
        federation's), whose result row names it.

        The ledger row is ``(iss, jti, aud, sub, seq, iat, amount, rate card id, content
        digest, receipt digest, receipt, None, model, rate card digest, amount in 10^-6 UTU or
        None beyond SQLite's integers, Merkle leaf hash)``. The members' strings are written
        between quotes as they are: the claims are ASCII without a backslash, so no string
        holds a quote or a control character that JSON would escape.
        """
        found = self._compact(token, max_bytes, not_after, False)
        if found is None or found is False:
            return found
        claims, _kid, _payload, text, _origin, payload_hash = found
        iss: str = claims["iss"]
        jti: str = claims["jti"]
        aud: str = claims["aud"]
        seq: int = claims["seq"]
        amount: str = claims["amount"]
        card: dict[str, Any] = claims["rate_card"]
        usage: dict[str, Any] = claims["usage"]
        digest = "sha256:" + payload_hash.hexdigest()
        leaf = _LEAF.copy()
        leaf.update(payload_hash.digest())
        token_hash = _CONTENT.copy()
        token_hash.update(text.encode("ascii"))
        micro = _micro_amount(amount)
        row = (
            iss,
            jti,
            aud,
            claims["sub"],
            seq,
            claims["iat"],
            amount,
            card["id"],
            digest,
            "sha256:" + token_hash.hexdigest(),
            text,
            None,
            usage["model"],
            card["digest"],
            micro if micro <= _SQLITE_INT_MAX else None,
            leaf.digest(),
        )
        members = (
            f'"iss": "{iss}", "aud": "{aud}", "jti": "{jti}", "seq": {seq}, '
            f'"amount": "{amount}", "content_digest": "{digest}"'
        )
        return (True, row, claims.get("prev"), members, micro)

    def _compact(self, token: Any, max_bytes: int, not_after: int, origins: bool) -> Any:
        """The work of :meth:`verify_compact`: ``(claims, kid, payload, token text, origin,
        SHA-256 state of the payload)`` for a certainly valid receipt, ``False`` or ``None``;
        without ``origins``, ``None`` for a key with an origin, before its signature is
        checked."""
        if type(token) is bytes:
            if not token.isascii():
                return None
            text = token.decode("ascii")
        elif type(token) is str:
            if not token.isascii():
                return None
            text = token
        else:
            return None
        if len(text) > max_bytes:
            return None
        parts = text.split(".")
        if len(parts) != 3:
            return None
        header = parts[0]
        encoded = parts[1]
        payload = decode_b64url(encoded)
        if payload is None:
            return None
        claims = self.check(payload, None, not_after, not_after)
        if claims is None:
            return None
        iss: str = claims["iss"]
        entry = self._keys.get((header, iss))
        if entry is None:
            return None
        kid, verify, valid_at, resolve = entry
        origin: Any = None
        if resolve is not None:
            current = resolve(iss, kid)
            if current is None:
                return None
            verify, valid_at, origin = current
            if origin is not None and not origins:
                return None
        if not valid_at(claims["iat"]):
            return None
        signature = decode_b64url(parts[2])
        if signature is None:
            return None
        signing_input = text[: len(header) + 1 + len(encoded)].encode("ascii")
        if not verify(signature, signing_input):
            return False
        payload_hash = _CONTENT.copy()
        payload_hash.update(payload)
        return (claims, kid, payload, text, origin, payload_hash)

    def add_price(self, card_id: str, digest: str, model: str, price: Price) -> None:
        self.prices[(card_id, digest, model)] = price
        self._last = ("", "", "", "", "", "")
        self._last_price = None

    def remember(self, claims: Any) -> None:
        """Remember the (``iss``, ``aud``, ``sub``, rate card id and digest, model) of claims
        the full fast schema accepted."""
        if type(claims) is not dict:
            return
        usage = claims.get("usage")
        card = claims.get("rate_card")
        if type(usage) is not dict or type(card) is not dict:
            return
        iss, aud, sub = claims.get("iss"), claims.get("aud"), claims.get("sub")
        card_id, digest, model = card.get("id"), card.get("digest"), usage.get("model")
        if not (
            type(iss) is str
            and type(aud) is str
            and type(sub) is str
            and type(card_id) is str
            and type(digest) is str
            and type(model) is str
        ):
            return
        if len(self._stable) >= _STABLE_LIMIT:
            self._stable.clear()
            self._last = ("", "", "", "", "", "")
        self._stable.add((iss, aud, sub, card_id, digest, model))

    def check_batch(
        self,
        leaves: Any,
        iss: str,
        latest_iat: int,
        clock: Any,
        skew: int,
        kid: str,
        batch_id: str,
        origin: Any,
        fallback: Any,
    ) -> list[Any]:
        """:meth:`check` for each leaf of a whole batch (REC-064) in order, the clock read for
        each: per leaf the verified receipt (``make(claims, kid, leaf, None, batch_id,
        origin=origin)``), or where the check is not certain, what ``fallback(leaf)`` (the
        reference path) gives."""
        results: list[Any] = []
        make = self._make
        for item in leaves:
            leaf = item if type(item) is bytes else bytes(item)  # bytes() makes a bound method
            claims = self.check(leaf, iss, latest_iat, clock() + skew)
            if claims is None:
                results.append(fallback(leaf))
            else:
                results.append(make(claims, kid, leaf, None, batch_id, origin=origin))
        return results

    def check_included(
        self,
        leaf: bytes,
        index: int,
        path: list[str],
        inclusion: CachedInclusion,
        iss: str,
        latest_iat: int,
        not_after: int,
    ) -> dict[str, Any] | None:
        """:meth:`check` after the inclusion proof of ``leaf`` (REC-062 step 3)."""
        h = _LEAF.copy()
        h.update(leaf)
        if not inclusion._verify(h.digest(), index, path):
            return None
        return self.check(leaf, iss, latest_iat, not_after)

    def check(
        self, leaf: bytes, iss: str | None, latest_iat: int, not_after: int
    ) -> dict[str, Any] | None:
        """The claims in ``leaf`` if they are certainly valid claims of a batch of issuer
        ``iss`` signed at ``latest_iat``, ``iat`` at most ``not_after`` (now plus the skew),
        priced by a known rate card; else ``None``. A JWS receipt's claims are checked with
        ``iss`` ``None`` (any issuer) and ``latest_iat`` equal to ``not_after``."""
        # ASCII without a backslash: no escape, so no noncharacter, no lone surrogate, and
        # every '"' delimits a member name or a string value (counted below).
        if not leaf.isascii() or b"\\" in leaf:
            return None
        try:
            value: Any = orjson.loads(leaf)
        except orjson.JSONDecodeError:
            return None
        if type(value) is not dict:
            return None
        claims: dict[str, Any] = value
        if not _CLAIMS_MEMBERS.issuperset(claims):
            return None
        ver = claims.get("ver")
        unit = claims.get("unit")
        jti = claims.get("jti")
        iat = claims.get("iat")
        amount = claims.get("amount")
        card = claims.get("rate_card")
        seq = claims.get("seq")
        usage = claims.get("usage")
        if not (
            ver == "1.0"
            and unit == "UTU"
            and type(jti) is str
            and type(iat) is int
            and type(amount) is str
            and type(seq) is int
            and type(card) is dict
            and type(usage) is dict
        ):
            return None
        if not (
            0 <= iat <= latest_iat
            and iat <= not_after
            and 1 <= seq <= MAX_SAFE_INTEGER
            and len(usage) == 2
            and len(card) == 2
        ):
            return None
        stable = (
            claims.get("iss"),
            claims.get("aud"),
            claims.get("sub"),
            card.get("id"),
            card.get("digest"),
            usage.get("model"),
        )
        # Only tuples of six strings are in the set; a hostile value may be unhashable.
        for part in stable:
            if type(part) is not str:
                return None
        if iss is not None and stable[0] != iss:
            return None
        if stable != self._last:  # a stream repeats them: compared, not hashed, most times
            if stable not in self._stable:
                return None
            self._last = stable
            self._last_price = self.prices.get((stable[3], stable[4], stable[5]))
        meters = usage.get("meters")
        if type(meters) is not dict:
            return None
        known = self.meters
        for name, count in meters.items():
            if type(count) is not int or name not in known or not 0 <= count <= MAX_SAFE_INTEGER:
                return None
        if "prev" in claims:  # present: a digest, and only after seq 1 (REC-006)
            prev = claims["prev"]
            if seq == 1 or type(prev) is not str or _DIGEST.fullmatch(prev) is None:
                return None
        elif seq != 1:
            return None
        if "entitlement" in claims:
            entitlement = claims["entitlement"]
            if type(entitlement) is not str or _TOKEN_ID.fullmatch(entitlement) is None:
                return None
        # Every value is typed now: the member names, the 7 to 9 string members, the meters'
        # names, and the four names and three string values of usage and rate_card account for
        # exactly this many quotes. A text with more names a member twice (the strict parser
        # refuses it; orjson keeps one); with exactly these, the strict parser gives this same
        # object, whatever the text's order and whitespace (REC-010 accepts any serialization).
        # (The length of the compact form would prove it too, for compact text only; computed
        # over these nested values it measured slower than this count over a few hundred bytes.)
        strings = len(claims) + 7 + len(meters)
        if "prev" in claims:
            strings += 1
        if "entitlement" in claims:
            strings += 1
        if leaf.count(b'"') != 2 * strings + 14:
            return None
        # An ASCII letters-and-digits jti of 1 to 128 characters is a token id without the
        # regular expression's call.
        if (
            not (0 < len(jti) <= 128 and jti.isascii() and jti.isalnum())
            and _TOKEN_ID.fullmatch(jti) is None
        ):
            return None
        if _AMOUNT.fullmatch(amount) is None:
            return None
        price = self._last_price
        if price is None or not price.nbf <= iat < price.exp:
            return None
        if price.micro_amount(meters) != _micro_amount(amount):
            return None
        return claims
