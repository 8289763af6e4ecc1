"""Carrier tracking feeds: one subpackage per carrier, all the same shape.

Each ``carriers/<name>/`` has ``codes.py`` (code tables onto our taxonomy), ``parse.py``
(pure: payload bytes in, :class:`carriers.models.TrackingResult` list out), ``client.py``
(HTTP only) and ``sandbox.py`` (our model back into the carrier's wire format, for the demo
sandbox and benchmarks). This package knows nothing of customers, messages or Airflow.
"""
