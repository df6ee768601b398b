"""Password and API-token hashing. Passwords: scrypt (salted, slow, memory-hard) from the standard library.
API tokens: 256 random bits, so a fast SHA-256 is enough to store them (nobody can guess one to match) and
lets a request find its account by the digest without running scrypt on every call.

A stored password hash carries its own parameters (`scrypt$<log2 n>$<r>$<p>$<salt>$<hash>`), so raising
the cost later leaves existing hashes valid.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

LOG2_N = 15  # n = 32768: ~50-100 ms and 32 MiB per hash on a laptop core
BLOCK_SIZE = 8
PARALLEL = 1
KEY_BYTES = 32
SALT_BYTES = 16
MAX_LOG2_N = 20  # a stored hash asking for more is refused rather than run (memory and time bound)
TOKEN_PREFIX = "ast_"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, length: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=length, maxmem=256 * n * r * p
    )


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = _scrypt(password, salt, LOG2_N, BLOCK_SIZE, PARALLEL, KEY_BYTES)
    return f"scrypt${LOG2_N}${BLOCK_SIZE}${PARALLEL}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches `stored`; a malformed hash never matches."""
    try:
        scheme, log2_n, r, p, salt, key = stored.split("$")
        log2_n_i, r_i, p_i = int(log2_n), int(r), int(p)
        expected = _unb64(key)
        if scheme != "scrypt" or not (1 <= log2_n_i <= MAX_LOG2_N and 1 <= r_i <= 32 and 1 <= p_i <= 16):
            return False
        actual = _scrypt(password, _unb64(salt), log2_n_i, r_i, p_i, len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@functools.cache
def decoy_hash() -> str:
    """What a sign-in for an unknown name is checked against, so it takes as long as one for a real name."""
    return hash_password(secrets.token_urlsafe(16))


def new_token() -> str:
    """A fresh API token: shown once, stored only as `token_digest(token)`."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
