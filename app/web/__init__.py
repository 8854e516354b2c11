"""The web face: the Starlette app, its routes, sessions, templates, static files, logs and metrics."""
