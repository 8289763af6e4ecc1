"""The world simulator: orders, carrier tracking and ground truth for demos, tests, benchmarks.

``generate_world(out, orders=..., seed=...)`` writes a deterministic world (see
:mod:`notify.simulate.world` for the layout); ``load_truth``, ``load_incidents`` and
``load_meta`` read its ground truth and world.json back.
"""

from notify.simulate.truth import load_incidents, load_meta, load_truth
from notify.simulate.world import WorldSummary, generate_world

__all__ = ["WorldSummary", "generate_world", "load_incidents", "load_meta", "load_truth"]
