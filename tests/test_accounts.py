"""`Accounts.upsert_user`: who a Trakt sign-in is, on SQLite and PostgreSQL.

Why these cases: Trakt's uuid is an account's identity and its slug only a name that Trakt frees when
the account is renamed or deleted, and that another account may then take. A sign-in must never hand
one account's user (and so its feeds and their secret URLs) to another that took the same slug.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.store.accounts import Accounts, Identity
from app.store.maintenance import user_slugs
from app.store.secrets import Vault, generate_key

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def accounts_on(session_factory: async_sessionmaker[AsyncSession]) -> Accounts:
    return Accounts(session_factory, Vault((generate_key(),)), lambda: NOW, "http://airdate.test")


async def test_another_account_that_took_a_freed_slug_gets_a_user_of_its_own(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    accounts = accounts_on(session_factory)
    first = await accounts.upsert_user(Identity("bob", "Bob", "uuid-first", "UTC"))
    feed = await accounts.create_feed(first)

    second = await accounts.upsert_user(Identity("bob", "Bob Two", "uuid-second", "Europe/Paris"))

    assert second != first
    assert await accounts.list_feeds(second) == []
    assert [f.token for f in await accounts.list_feeds(first)] == [feed.token]
    assert (await accounts.get_user(first)).uuid == "uuid-first"
    assert await accounts.user_id("bob") == second  # the slug names whoever Trakt says holds it now
    assert (await user_slugs(session_factory))[first] != "bob"
    # The first account signs in again under its new slug and finds its own user and feed.
    assert await accounts.upsert_user(Identity("robert", "Robert", "uuid-first", "UTC")) == first
    assert await user_slugs(session_factory) == {first: "robert", second: "bob"}


async def test_a_renamed_account_takes_its_new_slug_from_a_user_who_left_it(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    accounts = accounts_on(session_factory)
    carol = await accounts.upsert_user(Identity("carol", "Carol", "uuid-carol", "UTC"))
    dave = await accounts.upsert_user(Identity("dave", "Dave", "uuid-dave", "UTC"))
    # Carol renamed herself on Trakt (not signed in since); Dave then renamed himself to "carol".
    assert await accounts.upsert_user(Identity("carol", "Carol", "uuid-dave", "UTC")) == dave
    assert await accounts.user_id("carol") == dave
    assert (await accounts.get_user(carol)).uuid == "uuid-carol"


async def test_the_slug_still_finds_a_user_when_one_side_has_no_uuid(
    session_factory: async_sessionmaker[AsyncSession],
) -> None:
    accounts = accounts_on(session_factory)
    legacy = await accounts.upsert_user(Identity("erin", "Erin", None, "UTC"))
    assert await accounts.upsert_user(Identity("erin", "Erin", "uuid-erin", "UTC")) == legacy
    # An answer without a uuid matches by slug and keeps the uuid already known.
    assert await accounts.upsert_user(Identity("erin", "Erin E.", None, "UTC")) == legacy
    assert (await accounts.get_user(legacy)).uuid == "uuid-erin"
