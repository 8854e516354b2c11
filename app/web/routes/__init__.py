"""Thin HTTP handlers; each module exposes `routes` and reads its services from `app.state.services`."""
