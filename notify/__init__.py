"""Oasis: the notification pipeline (stages, store, channels, CLI)."""
