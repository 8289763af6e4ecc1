"""The carrier sandbox: a simulated world's tracking served over HTTP in real wire formats.

:class:`SandboxWorld` loads ``<world>/tracking/{scans,etas}.csv`` into compact sorted arrays
and builds a :class:`carriers.models.TrackingResult` per request, as of any moment.
:class:`SandboxServer` serves it on 127.0.0.1: OAuth token endpoints and tracking requests
of every registered carrier that has a ``sandbox`` codec, each answered in that carrier's
format (an ``/asof/<time>/`` URL prefix picks the moment). :func:`main` is ``oasis sandbox``.
Used by the demo, the end-to-end tests and the benchmarks; never talks to a real carrier.
"""

from carriers.sandbox.cli import main
from carriers.sandbox.server import SandboxServer
from carriers.sandbox.world import SandboxWorld

__all__ = ["SandboxServer", "SandboxWorld", "main"]
