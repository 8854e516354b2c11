"""Background work that keeps feeds warm between polls."""
