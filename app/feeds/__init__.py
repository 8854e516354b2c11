"""The feed pipeline: calendar cache, posters, rendering to iCalendar, and the feed service a poll calls."""
