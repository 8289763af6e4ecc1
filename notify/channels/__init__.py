"""Delivery channels, one file per provider, one interface (:class:`Channel`)."""
