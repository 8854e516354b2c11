"""Secrets at rest: encrypted upstream tokens and hashed feed tokens.

Why two mechanisms: Trakt tokens must be read back (to call Trakt), so they are encrypted with
rotatable Fernet keys; a feed token only has to be recognised, so the table keeps its SHA-256 and a
leaked database cannot be turned into working feed URLs. (A copy encrypted with the Vault lets the
dashboard show the URL again.) Messages here never include a token or ciphertext, so nothing secret
reaches a log or an error page through an exception.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# secrets.token_urlsafe(32): 32 bytes -> 43 characters of unpadded base64url.
FEED_TOKEN_BYTES = 32
FEED_TOKEN_LENGTH = 43
_FEED_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{FEED_TOKEN_LENGTH}}}")


class DecryptError(Exception):
    """No configured key decrypts the value: it was made with a key since removed, or was altered."""


class Vault:
    """Encrypts with the first key and decrypts with any, so keys can be rotated without downtime.

    Rotation: put the new key first and keep the old ones, run `airdate rekey` (which calls
    `rotate` on every stored value), then drop the old keys.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one secret key is required")
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        with _undecryptable_as_decrypt_error():
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the first key; raises DecryptError if no key can read it."""
        with _undecryptable_as_decrypt_error():
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")


@contextmanager
def _undecryptable_as_decrypt_error() -> Iterator[None]:
    # `from None`: the chained InvalidToken adds nothing and callers should see one error type.
    try:
        yield
    except (InvalidToken, UnicodeError):
        raise DecryptError("no configured secret key can decrypt this value") from None


def generate_key() -> str:
    """A new Fernet key for AIRDATE_SECRET_KEYS."""
    return Fernet.generate_key().decode("ascii")


def new_feed_token() -> str:
    """256 random bits as URL-safe text: unguessable, and usable in a URL path without escaping."""
    return secrets.token_urlsafe(FEED_TOKEN_BYTES)


def hash_feed_token(token: str) -> str:
    """The SHA-256 hex digest stored in `feeds.token_hash`.

    A plain (unsalted, fast) hash is enough: the token already carries 256 bits of entropy, and the
    lookup needs a deterministic value to index.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def is_well_formed_feed_token(token: str) -> bool:
    """Whether `token` could be one of ours, so junk URLs are turned away before any hashing or I/O."""
    return _FEED_TOKEN_SHAPE.fullmatch(token) is not None
