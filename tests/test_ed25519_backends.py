"""Ed25519 equations run in libsodium; OpenSSL is the reference the tests compare it with.

Requirements: CONV-071 (one exact rule whatever the library), CONV-049. RFC 8032 section 7.1,
every Wycheproof Ed25519 case and the signature vectors run on both backends (the
``ed25519_backend`` fixture of tests/conftest.py); this file checks the selection itself and
the malleated forms the pre-checks refuse before either library runs.
"""

from __future__ import annotations

import pytest

from tokenfed import keys
from tokenfed.keys import generate_key

L = 2**252 + 27742317777372353535851937790883648493


def test_libsodium_is_the_default() -> None:
    """ADR 0010: the SDK verifies Ed25519 with libsodium unless a test selects OpenSSL."""
    assert keys._ed25519_backend == "libsodium"


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown Ed25519 backend"):
        keys._use_ed25519_backend("python")
    assert keys._ed25519_backend == "libsodium"


@pytest.mark.usefixtures("ed25519_backend")
def test_both_backends_refuse_malleated_and_small_order_signatures() -> None:
    """CONV-071: S + L (a malleated twin), an identity R and a wrong length are refused; the
    genuine signature verifies."""
    private = generate_key("EdDSA")
    public = private.public_key()
    message = b"header.payload"
    signature = private.sign(message)
    assert public.verify(signature, message)
    s = int.from_bytes(signature[32:], "little")
    assert not public.verify(signature[:32] + (s + L).to_bytes(32, "little"), message)
    identity = (1).to_bytes(32, "little")
    assert not public.verify(identity + signature[32:], message)
    assert not public.verify(signature[:63], message)
