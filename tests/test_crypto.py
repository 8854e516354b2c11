"""Token encryption, key rotation and feed tokens, including what actually lands in a database file."""

from __future__ import annotations

import base64
import secrets
import string
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.store.engine import create_engine, create_session_factory
from app.store.migrate import upgrade_async
from app.store.secrets import (
    FEED_TOKEN_LENGTH,
    DecryptError,
    Vault,
    generate_key,
    hash_feed_token,
    is_well_formed_feed_token,
    new_feed_token,
)
from app.store.tables import Feed, TraktConnection, User

URL_SAFE = set(string.ascii_letters + string.digits + "-_")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@given(st.text())
def test_round_trip_any_text(plaintext: str) -> None:
    vault = Vault([generate_key()])
    assert vault.decrypt(vault.encrypt(plaintext)) == plaintext


def test_ciphertext_hides_plaintext_and_is_fresh_each_time() -> None:
    vault = Vault([generate_key()])
    first, second = vault.encrypt("trakt-access-token"), vault.encrypt("trakt-access-token")
    assert first != second
    assert "trakt-access-token" not in first


def test_key_rotation() -> None:
    old, new = generate_key(), generate_key()
    stored = Vault([old]).encrypt("refresh-me")
    both = Vault([new, old])
    assert both.decrypt(stored) == "refresh-me"
    rotated = both.rotate(stored)
    assert Vault([new]).decrypt(rotated) == "refresh-me"
    with pytest.raises(DecryptError):
        Vault([old]).decrypt(rotated)


def test_wrong_key_is_a_decrypt_error_that_leaks_nothing() -> None:
    ciphertext = Vault([generate_key()]).encrypt("secret-access-token")
    with pytest.raises(DecryptError) as caught:
        Vault([generate_key()]).decrypt(ciphertext)
    assert ciphertext not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_rotate_with_no_matching_key_is_a_decrypt_error() -> None:
    ciphertext = Vault([generate_key()]).encrypt("x")
    with pytest.raises(DecryptError):
        Vault([generate_key()]).rotate(ciphertext)


@pytest.mark.parametrize("position", [0, 20, -10, -1])
def test_tampering_is_a_decrypt_error(position: int) -> None:
    vault = Vault([generate_key()])
    raw = bytearray(base64.urlsafe_b64decode(vault.encrypt("do not touch")))
    raw[position] ^= 0x01
    with pytest.raises(DecryptError):
        vault.decrypt(base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("garbage", ["", "not base64 at all", "é-non-ascii"])
def test_garbage_is_a_decrypt_error(garbage: str) -> None:
    with pytest.raises(DecryptError):
        Vault([generate_key()]).decrypt(garbage)


def test_vault_needs_a_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Vault([])


def test_generated_keys_are_distinct_and_usable() -> None:
    keys = {generate_key() for _ in range(50)}
    assert len(keys) == 50
    assert all(Vault([key]).decrypt(Vault([key]).encrypt("k")) == "k" for key in keys)


def test_feed_tokens_are_43_url_safe_chars_of_256_random_bits() -> None:
    tokens = [new_feed_token() for _ in range(400)]
    assert len(set(tokens)) == len(tokens)
    assert all(len(token) == FEED_TOKEN_LENGTH == 43 and set(token) <= URL_SAFE for token in tokens)
    decoded = [int.from_bytes(base64.urlsafe_b64decode(token + "="), "big") for token in tokens]
    assert all(len(base64.urlsafe_b64decode(token + "=")) == 32 for token in tokens)
    # Every one of the 256 bit positions must take both values across the draws; a generator with
    # fewer random bits (or a fixed prefix) would leave some constant. Chance of a false alarm: ~2^-391.
    ones = [sum(value >> bit & 1 for value in decoded) for bit in range(256)]
    assert all(0 < count < len(tokens) for count in ones)


def test_hash_is_stable_sha256_hex() -> None:
    # The FIPS 180-2 test vector for "abc".
    assert hash_feed_token("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    token = new_feed_token()
    assert hash_feed_token(token) == hash_feed_token(token)
    assert len(hash_feed_token(token)) == 64 and set(hash_feed_token(token)) <= set(string.hexdigits.lower())
    assert hash_feed_token(token) != hash_feed_token(new_feed_token())


def test_shape_check_accepts_our_tokens() -> None:
    assert all(is_well_formed_feed_token(new_feed_token()) for _ in range(100))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a" * 42,
        "a" * 44,
        "a" * 42 + "=",
        "a" * 42 + "+",
        "a" * 42 + "/",
        "a" * 42 + ".",
        "a" * 42 + " ",
        "a" * 43 + "\n",
        "a" * 42 + "é",
        "../" + "a" * 40,
    ],
)
def test_shape_check_rejects_other_strings(token: str) -> None:
    assert not is_well_formed_feed_token(token)


@given(st.text(alphabet=st.characters(codec="utf-8"), min_size=40, max_size=46))
def test_shape_check_is_exactly_length_and_alphabet(token: str) -> None:
    assert is_well_formed_feed_token(token) == (len(token) == 43 and set(token) <= URL_SAFE)


async def test_no_token_is_stored_in_plain_text(tmp_path: Path) -> None:
    database = tmp_path / "airdate.db"
    url = f"sqlite+aiosqlite:///{database}"
    await upgrade_async(url)
    vault = Vault([generate_key()])
    access, refresh, feed_token = secrets.token_hex(32), secrets.token_hex(32), new_feed_token()
    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session:
            user = User(trakt_slug="sam", trakt_username="Sam", created_at=NOW, updated_at=NOW)
            session.add(user)
            await session.flush()
            session.add_all(
                [
                    TraktConnection(
                        user_id=user.id,
                        access_token=vault.encrypt(access),
                        refresh_token=vault.encrypt(refresh),
                        expires_at=NOW,
                        updated_at=NOW,
                    ),
                    Feed(
                        user_id=user.id,
                        token_hash=hash_feed_token(feed_token),
                        token_encrypted=vault.encrypt(feed_token),
                        name="All",
                        options={},
                        created_at=NOW,
                    ),
                ]
            )
            await session.commit()
        # While the engine is open the rows live in the write-ahead log; look there too.
        while_open = _database_bytes(database)
        assert database.with_name(database.name + "-wal").exists()
    finally:
        await engine.dispose()
    for raw in (while_open, _database_bytes(database)):
        assert hash_feed_token(feed_token).encode() in raw  # proves these bytes hold the rows
        for secret in (access, refresh, feed_token):
            assert secret.encode() not in raw


def _database_bytes(database: Path) -> bytes:
    """The main file plus its WAL (if any): everything a copied data directory would expose."""
    return b"".join(path.read_bytes() for path in sorted(database.parent.glob(database.name + "*")))
