"""The feed pipeline: calendar cache, posters, rendering to iCalendar (`ics`), and the feed service a poll
calls, with the parts it strings together: the rendered-feed memory, revisions, notices, poll counts."""
