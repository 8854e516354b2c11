"""One poster key: the service that finds posters and every reader that shows them agree on it."""

from __future__ import annotations

from app.domain.entries import Entry
from app.domain.posterkey import poster_key
from app.feeds.ics import build_events
from tests.support.ics import POSTER, episode, options, release, show


def test_every_episode_of_a_show_shares_the_shows_poster() -> None:
    severance = show(trakt_id=3)
    assert poster_key(severance) == ("show", 3)
    assert poster_key(episode(100, of=severance)) == poster_key(episode(101, of=severance)) == ("show", 3)


def test_a_release_shows_its_movies_poster() -> None:
    heat = release(trakt_id=5, kind="digital")
    assert poster_key(heat) == poster_key(heat.movie) == ("movie", 5)


def test_a_show_and_a_movie_with_one_trakt_id_are_different_posters() -> None:
    assert poster_key(show(trakt_id=7)) != poster_key(release(trakt_id=7))


def test_the_renderer_finds_a_poster_filed_under_the_key() -> None:
    """The key the poster service files a URL under is the one the events look it up by."""
    entries: list[Entry] = [episode(of=show(trakt_id=3)), release(trakt_id=5)]
    urls = [POSTER.replace("abc", "severance"), POSTER.replace("abc", "heat")]
    posters = {poster_key(entry): url for entry, url in zip(entries, urls, strict=True)}
    assert [event.content.image for event in build_events(entries, posters, options())] == urls
