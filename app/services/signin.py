"""Finishing a Trakt sign-in, however it started: the terminal's device code or the browser's PKCE.

Why the order: the tokens are stored before the default feed is made, so a failure after Trakt said
yes never leaves a feed that cannot be served, and a repeated sign-in updates the same user (Trakt's
uuid is the identity) instead of creating a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from app.services.container import Services
from app.store.accounts import FeedInfo, Identity
from app.store.ratelimits import UNIDENTIFIED
from app.upstream.trakt_auth import DeviceCode, TokenSet


@dataclass(frozen=True, slots=True)
class SignedIn:
    user_id: int
    slug: str
    feed: FeedInfo


async def complete_sign_in(services: Services, tokens: TokenSet) -> SignedIn:
    """Who the tokens belong to -> user (created or updated) -> stored tokens -> their first feed."""
    # Whose tokens these are is what this call finds out, so no user's limits can apply to it yet.
    who = await services.trakt.user_settings(tokens.access_token, gate=UNIDENTIFIED)
    user_id = await services.accounts.upsert_user(
        Identity(slug=who.slug, username=who.username, uuid=who.uuid, timezone=who.timezone)
    )
    await services.connections.save(user_id, tokens)
    feed = await services.accounts.ensure_default_feed(user_id)
    return SignedIn(user_id=user_id, slug=who.slug, feed=feed)


async def device_sign_in(
    services: Services, *, show_code: Callable[[DeviceCode], None], feed_name: str | None = None
) -> SignedIn:
    """Run the device flow to the end; `show_code` tells the person where to approve it."""
    code = await services.trakt.device_code()
    show_code(code)
    signed_in = await complete_sign_in(services, await services.trakt.wait_for_device_token(code))
    if feed_name is not None and feed_name != signed_in.feed.name:
        feed = await services.accounts.update_feed(signed_in.feed.id, name=feed_name)
        return SignedIn(user_id=signed_in.user_id, slug=signed_in.slug, feed=feed)
    return signed_in
