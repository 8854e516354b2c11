"""People and their feeds: create, list, rotate, revoke, rename, and delete a person with all their data.

Why separate from the feed hot path: management is rare and writes; serving is constant and reads. The
CLI today and the dashboard later call this one module, so a rotated or revoked token stops working the
same way whoever asked.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.errors import UpstreamError, UserOrFeedNotFound
from app.domain.options import FeedOptions
from app.store.secrets import DecryptError, Vault, hash_feed_token, new_feed_token
from app.store.tables import SLUG_LENGTH, CalendarChunk, Feed, FeedEvent, TraktConnection, User

log = logging.getLogger(__name__)

DEFAULT_FEED_NAME = "Shows and movies"


@dataclass(frozen=True, slots=True)
class FeedInfo:
    id: int
    user_id: int
    name: str
    options: FeedOptions
    token: str
    created_at: datetime
    last_polled_at: datetime | None
    poll_count: int
    revoked: bool

    def __repr__(self) -> str:  # the token is a secret: keep it out of logs and tracebacks
        return f"FeedInfo(id={self.id}, user_id={self.user_id}, name={self.name!r}, revoked={self.revoked})"


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a Trakt account is, as `GET /users/settings` tells it."""

    slug: str
    username: str
    uuid: str | None
    timezone: str


@dataclass(frozen=True, slots=True)
class Deletion:
    """What deleting a person did: how many feeds went, and whether Trakt confirmed the revocation."""

    feeds: int
    revoked_at_trakt: bool  # False: no grant was stored, or Trakt could not be reached (data deleted anyway)


Revoke = Callable[[str], Awaitable[None]]  # TraktClient.revoke: ends the grant an access token belongs to


class Accounts:
    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        vault: Vault,
        clock: Callable[[], datetime],
        public_url: str,
    ) -> None:
        self._sessions = session_factory
        self._vault = vault
        self._clock = clock
        self._public_url = public_url.rstrip("/")

    def feed_url(self, token: str) -> str:
        return f"{self._public_url}/feeds/{token}.ics"

    async def upsert_user(self, identity: Identity) -> int:
        """Create or update the user a Trakt sign-in names; the uuid is the identity, the slug a name.

        Why the slug is only a fallback: Trakt frees a slug when its account is renamed or deleted, and
        another account may take it, so a row found by slug is this account's only when one side has no
        uuid (rows from before uuids were stored, an answer without one). Otherwise the sign-in is a new
        person: matching it would hand them the earlier account's feeds and their secret URLs. Slugs are
        unique here as on Trakt, so a row still holding the one this sign-in brings gives it up first
        (`_released_slug`) and gets its new one back when that account signs in again.
        """
        now = self._clock()
        async with self._sessions.begin() as session:
            user = await _signed_in_user(session, identity)
            await _release_slug(session, identity.slug, None if user is None else user.id)
            if user is None:
                user = User(created_at=now, data_version=0)
                session.add(user)
            user.trakt_slug = identity.slug
            user.trakt_username = identity.username
            user.trakt_uuid = identity.uuid or user.trakt_uuid
            user.timezone = identity.timezone or "UTC"
            user.updated_at = now
            await session.flush()
            return user.id

    async def user_id(self, slug: str) -> int:
        async with self._sessions() as session:
            user_id = await session.scalar(select(User.id).where(User.trakt_slug == slug))
        if user_id is None:
            raise UserOrFeedNotFound(f"no user {slug!r}; connect one with `airdate connect`")
        return user_id

    async def get_user(self, user_id: int) -> Identity:
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise UserOrFeedNotFound(f"no user #{user_id}")
        return Identity(user.trakt_slug, user.trakt_username, user.trakt_uuid, user.timezone)

    async def account_stamp(self, user_id: int) -> str:
        """What tells this account apart from every other that had or will have its id.

        A web session carries it and is honoured only while the account still has it: SQLite gives a
        deleted user's id to the next sign-up, so a session naming only the id would open the next
        person's account. The Trakt identity tells people apart, the creation time tells apart the
        same person's account before and after deleting it.
        """
        async with self._sessions() as session:
            user = await session.get(User, user_id)
        if user is None:
            raise UserOrFeedNotFound(f"no user #{user_id}")
        return f"{user.trakt_uuid or user.trakt_slug}@{user.created_at.isoformat()}"

    async def create_feed(
        self, user_id: int, name: str = DEFAULT_FEED_NAME, options: FeedOptions = FeedOptions()
    ) -> FeedInfo:
        token = new_feed_token()
        async with self._sessions.begin() as session:
            feed = Feed(
                user_id=user_id,
                token_hash=hash_feed_token(token),
                token_encrypted=self._vault.encrypt(token),
                name=name,
                options=options.to_json(),
                created_at=self._clock(),
                poll_count=0,
            )
            session.add(feed)
            await session.flush()
            return self._info(feed, token)

    async def ensure_default_feed(self, user_id: int) -> FeedInfo:
        """The user's first live feed, created with the default options when there is none."""
        feeds = await self.list_feeds(user_id)
        return feeds[0] if feeds else await self.create_feed(user_id)

    async def list_feeds(self, user_id: int, *, include_revoked: bool = False) -> list[FeedInfo]:
        query = select(Feed).where(Feed.user_id == user_id).order_by(Feed.id)
        if not include_revoked:
            query = query.where(Feed.revoked_at.is_(None))
        async with self._sessions() as session:
            feeds = (await session.scalars(query)).all()
        return [self._info(feed, self._vault.decrypt(feed.token_encrypted)) for feed in feeds]

    async def get_feed(self, feed_id: int) -> FeedInfo:
        async with self._sessions() as session:
            feed = await session.get(Feed, feed_id)
        if feed is None:
            raise UserOrFeedNotFound(f"no feed #{feed_id}")
        return self._info(feed, self._vault.decrypt(feed.token_encrypted))

    async def rotate_feed(self, feed_id: int) -> FeedInfo:
        """A new secret URL for the same feed; the old one answers 404 from now on."""
        token = new_feed_token()
        async with self._sessions.begin() as session:
            feed = await self._live_feed(session, feed_id)
            feed.token_hash = hash_feed_token(token)
            feed.token_encrypted = self._vault.encrypt(token)
            await session.flush()
            return self._info(feed, token)

    async def revoke_feed(self, feed_id: int) -> None:
        async with self._sessions.begin() as session:
            feed = await self._live_feed(session, feed_id)
            feed.revoked_at = self._clock()

    async def update_feed(
        self, feed_id: int, *, name: str | None = None, options: FeedOptions | None = None
    ) -> FeedInfo:
        async with self._sessions.begin() as session:
            feed = await self._live_feed(session, feed_id)
            if name is not None:
                feed.name = name
            if options is not None:
                feed.options = options.to_json()
            await session.flush()
            return self._info(feed, self._vault.decrypt(feed.token_encrypted))

    async def delete_user(self, user_id: int, revoke: Revoke) -> Deletion:
        """Revoke the person's grant at Trakt, then delete their tokens, caches, feeds and themselves.

        The one place both `airdate users delete` and the dashboard's "delete my data" call, so they
        cannot drift apart. Revocation comes first (it needs the stored token) but does not gate the
        deletion: a person who asks for their data to go gets that even while Trakt is down, and is
        told to revoke the app on Trakt's side. Rows are deleted explicitly, children first, rather than
        trusting ON DELETE CASCADE, which SQLite only honours with its foreign_keys pragma on.
        """
        async with self._sessions() as session:
            if await session.get(User, user_id) is None:
                raise UserOrFeedNotFound(f"no user #{user_id}")
            sealed = await session.scalar(
                select(TraktConnection.access_token).where(TraktConnection.user_id == user_id)
            )
        revoked = False
        if sealed is not None:
            try:
                await revoke(self._vault.decrypt(sealed))
                revoked = True
            except (UpstreamError, DecryptError) as exc:
                log.warning("user %s: Trakt revocation failed (%s); deleting the data anyway", user_id, exc)
        feed_ids = select(Feed.id).where(Feed.user_id == user_id).scalar_subquery()
        async with self._sessions.begin() as session:
            await session.execute(delete(FeedEvent).where(FeedEvent.feed_id.in_(feed_ids)))
            deleted = await session.scalars(delete(Feed).where(Feed.user_id == user_id).returning(Feed.id))
            feeds = len(deleted.all())
            await session.execute(delete(CalendarChunk).where(CalendarChunk.user_id == user_id))
            await session.execute(delete(TraktConnection).where(TraktConnection.user_id == user_id))
            await session.execute(delete(User).where(User.id == user_id))
        log.info("user %s deleted with %s feeds", user_id, feeds)
        return Deletion(feeds=feeds, revoked_at_trakt=revoked)

    async def record_polls(self, polls: dict[int, tuple[int, datetime]]) -> None:
        """Add batched poll counts; the feed route counts in memory so serving a feed writes nothing."""
        if not polls:
            return
        async with self._sessions.begin() as session:
            for feed_id, (count, last) in polls.items():
                await session.execute(
                    update(Feed)
                    .where(Feed.id == feed_id)
                    .values(poll_count=Feed.poll_count + count, last_polled_at=last)
                )

    @staticmethod
    async def _live_feed(session: AsyncSession, feed_id: int) -> Feed:
        feed = await session.get(Feed, feed_id)
        if feed is None or feed.revoked_at is not None:
            raise UserOrFeedNotFound(f"no live feed #{feed_id}")
        return feed

    @staticmethod
    def _info(feed: Feed, token: str) -> FeedInfo:
        return FeedInfo(
            id=feed.id,
            user_id=feed.user_id,
            name=feed.name,
            options=FeedOptions.from_json(feed.options),
            token=token,
            created_at=feed.created_at,
            last_polled_at=feed.last_polled_at,
            poll_count=feed.poll_count,
            revoked=feed.revoked_at is not None,
        )


async def _signed_in_user(session: AsyncSession, identity: Identity) -> User | None:
    """The row of the account `identity` is: by uuid, else by slug when one side has no uuid."""
    if identity.uuid:
        user = await session.scalar(select(User).where(User.trakt_uuid == identity.uuid))
        if user is not None:
            return user
    user = await session.scalar(select(User).where(User.trakt_slug == identity.slug))
    if user is not None and identity.uuid and user.trakt_uuid:
        return None  # another account held this slug before
    return user


async def _release_slug(session: AsyncSession, slug: str, keeper: int | None) -> None:
    """Take `slug` from any user but `keeper`: Trakt says it now names someone else."""
    query = select(User).where(User.trakt_slug == slug)
    if keeper is not None:
        query = query.where(User.id != keeper)
    holder = await session.scalar(query)
    if holder is not None:
        holder.trakt_slug = _released_slug(slug, holder.id)
        await session.flush()  # before the new holder's row is written: the constraint checks each statement


def _released_slug(slug: str, user_id: int) -> str:
    """A name no Trakt slug can be (slugs are URL-safe: no spaces) and no other user holds (the id)."""
    suffix = f" (released, user #{user_id})"
    return slug[: SLUG_LENGTH - len(suffix)] + suffix
