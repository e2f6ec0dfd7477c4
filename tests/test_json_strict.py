"""Strict I-JSON parsing (``tokenfed._json.loads``) against hostile inputs, and JCS digests.

Requirements: CONV-010 (UTF-8 I-JSON, no BOM, no NaN/Infinity), CONV-011 (duplicate member
names at any depth), CONV-012 (integers within +-(2^53 - 1)), CONV-013 (no fraction or exponent),
CONV-014 (no lone surrogate), CONV-015 (nesting at most 32), CONV-016 (no noncharacter, raw
or escaped, in names or values; also in ``copy_json``), CONV-030 (JCS, RFC 8785),
CONV-031 (``sha256:`` + lowercase hex digests). Every rejection is ``malformed`` and no foreign
exception (``ValueError``, ``RecursionError``, ``UnicodeError``) escapes.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tokenfed import jws
from tokenfed._json import MAX_DEPTH, MAX_SAFE_INTEGER, canonical_bytes, check_text, digest, loads
from tokenfed._signed import copy_json
from tokenfed.errors import MalformedError
from tokenfed.keys import generate_key


def _malformed(data: str | bytes) -> MalformedError:
    """Parse ``data`` expecting ``malformed``; return the error for further checks."""
    with pytest.raises(MalformedError) as info:
        loads(data)
    assert info.value.code == "malformed"
    assert info.value.message
    return info.value


# --------------------------------------------------------------------------- duplicates


@pytest.mark.parametrize(
    "text",
    [
        '{"amount":"1","amount":"999"}',
        '{"a":{"b":1,"b":2}}',
        '{"a":[{"x":1},{"y":1,"y":1}]}',
        '[[[[{"k":1,"k":1}]]]]',
        '{"amount":"1","\\u0061mount":"999"}',
        '{"\\u00e9":1,"\u00e9":2}',
        '{"a":1,"b":2,"a":1}',
        '{"":1,"":1}',
    ],
)
def test_duplicate_member_names(text: str) -> None:
    """CONV-011: duplicate member names at any depth, however escaped, are malformed."""
    assert "CONV-011" in _malformed(text).message
    _malformed(text.encode("utf-8"))


def test_similar_names_are_not_duplicates() -> None:
    """CONV-011: names that differ (case, normalization form) are distinct members."""
    assert loads('{"a":1,"A":2}') == {"a": 1, "A": 2}
    assert loads('{"\u00e9":1,"e\u0301":2}') == {"\u00e9": 1, "e\u0301": 2}
    assert loads('{"a":{"a":{"a":1}}}') == {"a": {"a": {"a": 1}}}


# --------------------------------------------------------------------------- numbers


def test_integer_limits() -> None:
    """CONV-012: +-(2^53 - 1) are accepted; +-2^53 are malformed."""
    assert MAX_SAFE_INTEGER == 2**53 - 1
    assert loads(f"[{2**53 - 1},{-(2**53 - 1)}]") == [2**53 - 1, -(2**53 - 1)]
    for value in (2**53, -(2**53), 2**64, -(2**63)):
        assert "CONV-012" in _malformed(f'{{"n":{value}}}').message


@pytest.mark.parametrize("digits", [17, 400, 4300, 4301, 100_000])
def test_huge_integer_strings(digits: int) -> None:
    """CONV-012: integers of thousands of digits (beyond Python's int-conversion limit of 4300
    digits) are malformed, not a ValueError."""
    _malformed('{"n":' + "9" * digits + "}")
    _malformed(b"[-" + b"1" * digits + b"]")


def test_minus_zero() -> None:
    """CONV-012/CONV-013: -0 is a JSON integer; it reads as the integer 0 (never a float -0.0),
    and JCS writes it as 0."""
    value = loads('{"n":-0}')
    assert value == {"n": 0}
    assert type(value["n"]) is int
    assert canonical_bytes(value) == b'{"n":0}'


@pytest.mark.parametrize(
    "number",
    [
        "1.5",
        "1.0",
        "0.0",
        "-0.0",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        "0e0",
        "-1.5e-7",
        "1" + "0" * 400 + ".5",
    ],
)
def test_fraction_and_exponent(number: str) -> None:
    """CONV-013: a number with a fraction or exponent part is malformed (decimals are strings)."""
    assert "CONV-013" in _malformed(f'{{"rate":{number}}}').message


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "nan", "inf"])
def test_nan_and_infinity(constant: str) -> None:
    """CONV-010: NaN, Infinity and -Infinity are not JSON."""
    _malformed(f'{{"rate":{constant}}}')
    _malformed(f"[{constant}]".encode())


@pytest.mark.parametrize(
    "text", ["[01]", "[+1]", "[.5]", "[1.]", "[0x10]", "[1_000]", "[\u0661]", "[\uff11]", "[- 1]"]
)
def test_non_json_numbers(text: str) -> None:
    """CONV-010: leading zeros, '+', bare points, hex, separators, non-ASCII digits are not
    JSON numbers."""
    _malformed(text)


# --------------------------------------------------------------------------- strings


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',
        '"\\udc00"',
        '"\\uDBFF"',
        '"a\\ud800b"',
        '"\\ud800\\u0041"',
        '"\\ude00\\ud83d"',
        '"\\ud800\\ud800"',
        '{"\\ud800":1}',
        '[["x",{"k":"\\udfff"}]]',
    ],
)
def test_lone_surrogate_escapes(text: str) -> None:
    """CONV-014: an escaped lone surrogate (in a value or a member name) is malformed."""
    assert "CONV-014" in _malformed(text).message
    _malformed(text.encode("ascii"))


def test_surrogate_pairs_are_fine() -> None:
    """CONV-014: an escaped surrogate pair is one character and is accepted."""
    assert loads('["\\ud83d\\ude00","\\uD800\\uDC00"]') == ["\U0001f600", "\U00010000"]


# --------------------------------------------------------------------------- noncharacters

NONCHARACTERS = [*range(0xFDD0, 0xFDF0)] + [
    plane << 16 | last for plane in range(17) for last in (0xFFFE, 0xFFFF)
]
"""The 66 noncharacters of Unicode (CONV-016)."""


def _escaped(code_point: int, upper: bool = False) -> str:
    """The JSON escape of a code point: one \\uXXXX, or a surrogate pair above U+FFFF."""
    if code_point < 0x10000:
        units = [code_point]
    else:
        offset = code_point - 0x10000
        units = [0xD800 + (offset >> 10), 0xDC00 + (offset & 0x3FF)]
    text = "".join(f"\\u{unit:04x}" for unit in units)
    return text.upper().replace("\\U", "\\u") if upper else text


def test_there_are_66_noncharacters() -> None:
    """CONV-016: 32 in U+FDD0..U+FDEF and two at the end of each of the 17 planes."""
    assert len(set(NONCHARACTERS)) == 66


@pytest.mark.parametrize("code_point", NONCHARACTERS, ids=lambda cp: f"U+{cp:04X}")
def test_noncharacters_are_malformed(code_point: int) -> None:
    """CONV-016: every noncharacter is malformed raw (UTF-8) or escaped (either letter case,
    a surrogate pair above U+FFFF), in a value or in a member name, at any depth."""
    raw = chr(code_point)
    escapes = (_escaped(code_point), _escaped(code_point, upper=True))
    texts = [
        f'{{"a":"x{raw}y"}}',
        f'{{"{raw}":1}}',
        *(f'{{"a":["ok",{{"b":"{escape}"}}]}}' for escape in escapes),
        *(f'{{"{escape}":1}}' for escape in escapes),
    ]
    for text in texts:
        assert "CONV-016" in _malformed(text.encode("utf-8")).message, text
        _malformed(text)


def test_the_utf8_screen_is_exact() -> None:
    """CONV-016: the byte search for raw noncharacters finds each of the 66 and nothing else
    among all 1,112,064 scalar values (in one text, so one parse of a large string)."""
    skipped = {*NONCHARACTERS, *range(0xD800, 0xE000), ord('"'), ord("\\")}
    allowed = "".join(chr(cp) for cp in range(0x20, 0x110000) if cp not in skipped)
    assert loads(f'"{allowed}"'.encode()) == allowed
    for code_point in NONCHARACTERS:
        _malformed(f'"{allowed[:5000]}{chr(code_point)}{allowed[-5000:]}"'.encode())


@pytest.mark.parametrize(
    "text",
    [
        '"\ufdcf\ufdf0\ufffd\U0001fffd\U0010fffd"',
        '"\\ufdcf\\ufdf0\\uFFFD\\ud83f\\udffd\\uDBFF\\uDFFD"',
        '"\\\\ufdd0"',
        '"\\\\uFFFF"',
    ],
)
def test_neighbours_of_noncharacters_are_fine(text: str) -> None:
    """CONV-016: U+FDCF, U+FDF0, U+FFFD, U+1FFFD and U+10FFFD are characters; an escaped
    backslash followed by ``ufdd0`` is six ordinary characters."""
    value = loads(text.encode("utf-8"))
    assert isinstance(value, str)
    assert not any(ord(char) in NONCHARACTERS for char in value)


@pytest.mark.parametrize("code_point", [0xFDD0, 0xFDEF, 0xFFFE, 0x1FFFF, 0x10FFFE])
def test_copy_json_refuses_noncharacters(code_point: int) -> None:
    """CONV-016: claims given as a Python value (SignedDocument.from_claims) are refused with
    malformed when a value or a member name holds a noncharacter, as their text would be."""
    char = chr(code_point)
    for value in ({"a": ["x", {"b": f"x{char}"}]}, {"a": {char: 1}}):
        with pytest.raises(MalformedError) as info:
            copy_json(value, what="claims")
        assert "CONV-016" in info.value.message
    with pytest.raises(MalformedError) as info:
        check_text(char)
    assert "CONV-016" in info.value.message


@pytest.mark.parametrize("code_point", [0xFDD0, 0xFFFF, 0x3FFFE, 0x10FFFF])
def test_nothing_with_a_noncharacter_is_canonicalized(code_point: int) -> None:
    """CONV-016: JCS bytes (what is signed and hashed) never hold a noncharacter, so a signer
    cannot produce a document every receiver must refuse: canonical_bytes, digest and
    jws.sign raise malformed."""
    value = {"model": f"m{chr(code_point)}", "meters": {}}
    for produce in (canonical_bytes, digest):
        with pytest.raises(MalformedError) as info:
            produce(value)
        assert "CONV-016" in info.value.message
    with pytest.raises(MalformedError):
        jws.sign(value, generate_key("EdDSA"), jws.TYP_RATE_CARD)
    assert (
        canonical_bytes({"model": "m\ufffd\U0010fffd"}) == '{"model":"m\ufffd\U0010fffd"}'.encode()
    )


def test_copy_json_refuses_lone_surrogates() -> None:
    """CONV-014: a Python string with a lone surrogate cannot be written as UTF-8 I-JSON."""
    for value in ({"a": "\ud800"}, {"\udfff": 1}):
        with pytest.raises(MalformedError) as info:
            copy_json(value, what="claims")
        assert "CONV-014" in info.value.message


def test_copy_json_keeps_ordinary_text() -> None:
    """CONV-016: non-ASCII text that holds no noncharacter is copied unchanged."""
    value = {"t\u00edtulo": ["\u6807\u51c6\U0001f600\ufffd", {"k": "\U0010fffd"}]}
    assert copy_json(value, what="claims") == value


def test_raw_lone_surrogate_in_text() -> None:
    """CONV-014: a Python str holding an unescaped lone surrogate cannot be UTF-8 either;
    loads() of such text must be malformed, as it is for the escaped form."""
    _malformed('{"title":"\ud800"}')
    _malformed('{"\udc00":1}')


@pytest.mark.parametrize(
    "text",
    ['"\x00"', '"\x1f"', '"a\nb"', '"\\x41"', '"\\U0041"', '"\\u00g0"', '"\\u12"', "'single'"],
)
def test_invalid_strings(text: str) -> None:
    """CONV-010: control characters, unknown or short escapes and single quotes are not JSON."""
    _malformed(text)


def test_escapes_decode() -> None:
    """CONV-010: the JSON escapes decode to their characters."""
    assert loads('"\\"\\\\\\/\\b\\f\\n\\r\\t\\u00e9\\u20ac"') == '"\\/\b\f\n\r\t\u00e9\u20ac'


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    "data",
    [
        b"\xff",
        b'{"a":"\xff"}',
        b'{"a":"\xc0\xaf"}',
        b'{"a":"\xe0\x80\xaf"}',
        b'{"a":"\xed\xa0\x80"}',
        b'{"a":"\xed\xbf\xbf"}',
        b'{"a":"\xf4\x90\x80\x80"}',
        b'{"a":"\xf8\x88\x80\x80\x80"}',
        b'{"a":"\xc3"}',
        b'{"a":"\x80"}',
        b"\xfe\xff\x00{\x00}",
        b"{\x00}",
    ],
)
def test_invalid_utf8(data: bytes) -> None:
    """CONV-010: bytes that are not UTF-8 (stray, overlong, surrogate, beyond U+10FFFF,
    truncated, UTF-16) are malformed."""
    _malformed(data)


def test_byte_order_mark() -> None:
    """CONV-010: a UTF-8 byte order mark before the text is malformed, in bytes and in str."""
    assert "CONV-010" in _malformed(b'\xef\xbb\xbf{"a":1}').message
    _malformed('\ufeff{"a":1}')
    _malformed(b'{"a":1}\xef\xbb\xbf')
    assert loads('{"a":"\ufeff"}') == {"a": "\ufeff"}, "U+FEFF inside a string is a character"


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "{",
        "}",
        '{"a":1,}',
        "[1,]",
        '{"a" 1}',
        "{a:1}",
        '{"a":1} {}',
        '{"a":1}x',
        "[1] // c",
        "/* c */ [1]",
        "True",
        "undefined",
    ],
)
def test_invalid_json(text: str) -> None:
    """CONV-010: anything that is not exactly one JSON value is malformed."""
    _malformed(text)


# --------------------------------------------------------------------------- nesting


def test_depth_limit() -> None:
    """CONV-015: 32 levels are accepted, 33 are malformed, for arrays, objects and mixtures."""
    assert MAX_DEPTH == 32
    assert loads("[" * 32 + "]" * 32) is not None
    assert "CONV-015" in _malformed("[" * 33 + "]" * 33).message
    assert loads('{"a":' * 31 + "[]" + "}" * 31) is not None
    _malformed('{"a":' * 32 + "[]" + "}" * 32)
    mixed = "".join('{"k":[' for _ in range(16))
    assert loads(mixed + "1" + "]}" * 16) is not None
    _malformed(mixed + "[1]" + "]}" * 16)


def test_brackets_in_strings_do_not_count() -> None:
    """CONV-015: brackets inside strings (and after escaped quotes) are not nesting."""
    text = '["' + "[{" * 100 + '\\"' + "[" * 100 + '"]'
    assert loads(text) == ["[{" * 100 + '"' + "[" * 100]


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        "[" * 100_000,
        '[{"a":' * 50_000,
        "[" * 100_000 + "1" + "]" * 99_999,
    ],
    ids=["arrays", "objects", "unclosed", "mixed-unclosed", "unbalanced"],
)
def test_deep_nesting_never_recurses(text: str) -> None:
    """CONV-015: 10^5 levels of nesting are malformed; no RecursionError escapes."""
    _malformed(text)
    _malformed(text.encode("ascii"))


# --------------------------------------------------------------------------- accepted texts


def test_ordinary_document() -> None:
    """CONV-010: an ordinary document with whitespace, literals and Unicode parses exactly."""
    text = ' {\n\t"ver": "1.0", "ok": true, "no": false, "none": null,\r\n "n": [0, -1, 42],'
    text += ' "name": "\u4e2d\u56fd\u79fb\u52a8 \U0001f600" } '
    assert loads(text) == {
        "ver": "1.0",
        "ok": True,
        "no": False,
        "none": None,
        "n": [0, -1, 42],
        "name": "\u4e2d\u56fd\u79fb\u52a8 \U0001f600",
    }
    assert loads(text.encode("utf-8")) == loads(text)


# I-JSON text: no lone surrogates (CONV-014) and no noncharacters (CONV-016), which no conforming
# document holds and which canonical_bytes refuses.
_NONCHARACTERS = [chr(c) for c in range(0xFDD0, 0xFDF0)] + [
    chr(plane * 0x10000 + low) for plane in range(17) for low in (0xFFFE, 0xFFFF)
]


def _profile_text(size: int) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters=_NONCHARACTERS),
        max_size=size,
    )


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | _profile_text(8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(_profile_text(6), children, max_size=4)
    ),
    max_leaves=16,
)


@given(_JSON)
def test_canonical_round_trip(value: Any) -> None:
    """CONV-030: any value within the profile survives JCS serialization and strict parsing,
    and serializing again gives the same bytes."""
    data = canonical_bytes(value)
    assert loads(data) == value
    assert canonical_bytes(loads(data)) == data


# --------------------------------------------------------------------------- JCS and digests


def test_jcs_rfc8785_key_sorting() -> None:
    """CONV-030: RFC 8785 section 3.2.3: members sort by UTF-16 code units, so U+1F600 (a
    surrogate pair starting D83D) sorts before U+FB33, unlike a sort by code point."""
    text = (
        '{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With '
        'Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control",'
        '"\\u00f6":"Latin Small Letter O With Diaeresis"}'
    )
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O '
        'With Diaeresis","\u20ac":"Euro Sign","\U0001f600":"Emoji: Grinning Face","\ufb33":'
        '"Hebrew Letter Dalet With Dagesh"}'
    ).encode("utf-8")
    assert canonical_bytes(loads(text)) == expected


def test_jcs_rfc8785_strings_and_literals() -> None:
    """CONV-030: RFC 8785 section 3.2.2 (without its binary floating-point numbers): string
    escaping and literals."""
    text = (
        r"""{"string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/", """
        r""""literals": [null, true, false]}"""
    )
    expected = r"""{"literals":[null,true,false],"string":"€$\u000f\nA'B\"\\\\\"/"}"""
    assert canonical_bytes(loads(text)) == expected.encode("utf-8")


def test_jcs_nested_sorting_and_no_whitespace() -> None:
    """CONV-030: members sorted at every level, arrays kept in order, no whitespace."""
    value = loads('{ "b": [3, {"z": 1, "a": 2}], "a": {"y": null, "x": true} }')
    assert canonical_bytes(value) == b'{"a":{"x":true,"y":null},"b":[3,{"a":2,"z":1}]}'


def test_digest_format_and_value() -> None:
    """CONV-031: sha256: followed by the 64 lowercase hex digits of SHA-256 over the JCS bytes,
    independent of member order."""
    assert digest({}) == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
    value = {"b": 1, "a": "\u20ac"}
    expected = "sha256:" + hashlib.sha256('{"a":"\u20ac","b":1}'.encode()).hexdigest()
    assert digest(value) == expected == digest({"a": "\u20ac", "b": 1})
    assert digest(value).removeprefix("sha256:").islower()
    assert len(digest(value)) == len("sha256:") + 64
    assert digest({"a": "1"}) != digest({"a": 1})


@pytest.mark.parametrize("value", [{"n": 2**53}, {"n": -(2**60)}, {1, 2}, b"bytes", object()])
def test_canonical_refuses_non_json(value: Any) -> None:
    """CONV-030/CONV-012: values with no I-JSON serialization are refused with malformed."""
    with pytest.raises(MalformedError):
        canonical_bytes(value)
