"""Bulk users and feeds for the scale benchmark, written straight through the models.

Why not the device flow: ten thousand sign-ins would take minutes and measure the sandbox. The rows
are what sign-ins would leave (encrypted Trakt tokens, hashed and encrypted feed tokens), copied from
one user who did sign in for real; the users whose feeds get polled also get that user's calendar
chunks, as if Trakt had answered them the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, insert, select

from app.services.container import Services
from app.store.accounts import FeedInfo
from app.store.secrets import hash_feed_token, new_feed_token
from app.store.tables import CalendarChunk, ConnectionStatus, Feed, TraktConnection, User
from bench.lab import USER_TZ
from bench.procs import BenchError

BATCH = 2000


class Seeder:
    def __init__(self, services: Services, template: FeedInfo) -> None:
        self._services = services
        self._template = template
        self.sampled_tokens: list[str] = [template.token]

    @classmethod
    async def of_rendered(cls, services: Services, template: FeedInfo) -> Seeder:
        """A seeder for `template` after rendering it once, which fills the calendar chunks it copies."""
        context = await services.feeds.lookup(template.token)
        if context is None:
            raise BenchError("the template feed does not resolve")
        await services.feeds.render(context, services.feeds.options(context, {}))
        return cls(services, template)

    async def grow_to(self, total: int, sample: int, feeds_per_user: int = 1) -> None:
        """Add users with (up to) `feeds_per_user` feeds each until there are `total` feeds; the
        first ones added (up to `sample` polled feeds in all) join `sampled_tokens`, and their users
        get calendar data."""
        services = self._services
        async with services.sessions() as session:
            existing = await session.scalar(select(func.count(Feed.id))) or 0
            next_user = (await session.scalar(select(func.max(User.id))) or 0) + 1
            next_feed = (await session.scalar(select(func.max(Feed.id))) or 0) + 1
            connection = await session.scalar(
                select(TraktConnection).where(TraktConnection.user_id == self._template.user_id)
            )
            chunks = (
                await session.scalars(
                    select(CalendarChunk).where(
                        CalendarChunk.user_id == self._template.user_id, CalendarChunk.payload.is_not(None)
                    )
                )
            ).all()
        if connection is None or not chunks:
            raise BenchError("the template user has no connection or no calendar data to copy")
        access_token = services.vault.decrypt(connection.access_token)
        now = services.clock()
        users: list[dict[str, Any]] = []
        connections: list[dict[str, Any]] = []
        feeds: list[dict[str, Any]] = []
        copies: list[dict[str, Any]] = []
        wanted = max(0, total - existing)
        for offset in range(-(-wanted // feeds_per_user)):
            user_id = next_user + offset
            users.append(
                {
                    "id": user_id,
                    "trakt_slug": f"seed-{user_id}",
                    "trakt_username": f"Seed {user_id}",
                    "trakt_uuid": f"seed-uuid-{user_id}",
                    "timezone": USER_TZ,
                    "data_version": 0,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            connections.append(
                {
                    "user_id": user_id,
                    "access_token": services.vault.encrypt(access_token),
                    # Never spent: the copied access token is valid for days, far past the run.
                    "refresh_token": services.vault.encrypt(f"seeded-{user_id}"),
                    "expires_at": connection.expires_at,
                    "status": ConnectionStatus.OK,
                    "version": 0,
                    "updated_at": now,
                }
            )
            sampled = len(self.sampled_tokens) < sample
            for _ in range(min(feeds_per_user, wanted - len(feeds))):
                token = new_feed_token()
                feeds.append(
                    {
                        "id": next_feed + len(feeds),
                        "user_id": user_id,
                        "token_hash": hash_feed_token(token),
                        "token_encrypted": services.vault.encrypt(token),
                        "name": "Seeded",
                        "options": self._template.options.to_json(),
                        "created_at": now,
                        "poll_count": 0,
                    }
                )
                if len(self.sampled_tokens) < sample:
                    self.sampled_tokens.append(token)
            if sampled:
                copies.extend(_copy(chunk, user_id) for chunk in chunks)
        async with services.sessions.begin() as session:
            for model, rows in (
                (User, users),
                (TraktConnection, connections),
                (Feed, feeds),
                (CalendarChunk, copies),
            ):
                for start in range(0, len(rows), BATCH):
                    await session.execute(insert(model), rows[start : start + BATCH])


def _copy(chunk: CalendarChunk, user_id: int) -> dict[str, Any]:
    columns: Sequence[str] = (
        "source",
        "start_date",
        "days",
        "payload",
        "content_hash",
        "fetched_at",
        "expires_at",
    )
    return {"user_id": user_id, **{name: getattr(chunk, name) for name in columns}}
