"""Tables, as SQLAlchemy 2 typed mappings.

Why these shapes: the feed's hot path reads one `feeds` row by its unique token hash (joined to the user
and connection); everything upstream is cached per user so many feeds of one person share one Trakt
budget; secrets are stored only encrypted (upstream tokens, feed token copy) or hashed (feed token).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Integer, MetaData, String, Text, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite has no time zone type and hands back naive values; normalising here means no caller ever
    compares naive with aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        date: Date(),
    }


SLUG_LENGTH = 200  # users.trakt_slug
# Ids are INTEGER columns (int4 on PostgreSQL): no row has a larger one, and asking for one is an
# error on both databases, not a miss. Ids from outside (URLs, CLI arguments) are checked against it.
MAX_ROW_ID = 2**31 - 1


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trakt_slug: Mapped[str] = mapped_column(String(SLUG_LENGTH), unique=True)
    trakt_username: Mapped[str] = mapped_column(String(200))
    trakt_uuid: Mapped[str | None] = mapped_column(String(200), unique=True)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Bumped whenever cached upstream data of this user changes, so a rendered feed can be reused
    # after one indexed read instead of re-checking every cache row.
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    connection: Mapped[TraktConnection | None] = relationship(back_populates="user", lazy="raise")
    feeds: Mapped[list[Feed]] = relationship(back_populates="user", lazy="raise")


class ConnectionStatus(StrEnum):
    """Where a person's Trakt connection stands; `MISSING` is never stored: it is the absent row."""

    OK = "ok"
    NEEDS_RECONNECT = "needs_reconnect"  # Trakt refused the grant: nothing calls Trakt until sign-in
    MISSING = "missing"


class TraktConnection(Base):
    __tablename__ = "trakt_connections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    access_token: Mapped[str] = mapped_column(Text)  # encrypted
    refresh_token: Mapped[str] = mapped_column(Text)  # encrypted
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(32), default=ConnectionStatus.OK)  # OK | NEEDS_RECONNECT
    last_error: Mapped[str | None] = mapped_column(Text)
    # Optimistic lock + lease: Trakt refresh tokens are single-use, so exactly one process may
    # spend one; the others wait for the new pair.
    version: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    # When the dashboard last asked Trakt whether the grant works (app/grant_check.py).
    checked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="connection", lazy="raise")


class Feed(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_encrypted: Mapped[str] = mapped_column(Text)
    name: Mapped[str] = mapped_column(String(200))
    options: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    last_polled_at: Mapped[datetime | None]
    poll_count: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(back_populates="feeds", lazy="raise")


class CalendarChunk(Base):
    """One Trakt calendar request's answer: (user, source, start date, days) -> upstream JSON."""

    __tablename__ = "calendar_cache"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32), primary_key=True)
    start_date: Mapped[date] = mapped_column(primary_key=True)
    days: Mapped[int] = mapped_column(Integer, primary_key=True)
    payload: Mapped[list[Any] | None] = mapped_column(JSON)  # None until a first good answer
    content_hash: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    failed_at: Mapped[datetime | None]
    retry_after: Mapped[datetime | None]  # no upstream call before this (429, outage backoff)
    lease_until: Mapped[datetime | None]  # one process refreshes a chunk at a time


class TraktLimit(Base):
    """When Airdate may next call Trakt for one user: a 429's "not before" and the GET budget.

    One row per user, shared by every instance and worker, so a Retry-After heard by one process
    holds in all of them and N processes never spend N budgets (see app.store.ratelimits).
    """

    __tablename__ = "trakt_limits"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    not_before: Mapped[datetime | None]  # no call for this user before this (429 Retry-After or backoff)
    window_start: Mapped[datetime]  # the current budget window began at its first call
    window_calls: Mapped[int] = mapped_column(Integer, default=0)
    previous_calls: Mapped[int] = mapped_column(Integer, default=0)  # calls in the window before


class MediaItem(Base):
    """A poster lookup: (type, id source, id) -> TMDB poster path, or a remembered miss."""

    __tablename__ = "media_cache"

    media_type: Mapped[str] = mapped_column(String(8), primary_key=True)  # tv | movie
    id_source: Mapped[str] = mapped_column(String(8), primary_key=True)  # tmdb | imdb | tvdb
    external_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    tmdb_id: Mapped[int | None] = mapped_column(Integer)
    poster_path: Mapped[str | None] = mapped_column(String(200))  # None with fetched_at = known miss
    fetched_at: Mapped[datetime]
    lease_until: Mapped[datetime | None]  # one process asks TMDB about a title at a time


class FeedEvent(Base):
    """What a feed last published for one event, so SEQUENCE and LAST-MODIFIED only move on change.

    `variant` is "" for the feed's stored options and a hash of the options for a URL that overrides
    them: each variant is its own subscription, and sharing one record would bump SEQUENCE every time
    two variants were rendered in turn.
    """

    __tablename__ = "feed_events"

    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), primary_key=True)
    variant: Mapped[str] = mapped_column(String(16), primary_key=True, default="")
    uid: Mapped[str] = mapped_column(String(200), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    modified_at: Mapped[datetime]
