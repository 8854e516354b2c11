"""The composition root (`open_services`) and the operations that need several services at once."""
