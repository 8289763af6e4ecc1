"""Targeting scored against a simulated world's truth (small world; the CLI runs bigger ones)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notify.scoring import default_times, replay, warmup_times
from notify.simulate import generate_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("world")
    generate_world(root, orders=2000, seed=5)
    return root


def test_targeting_alone_is_exact_on_truths_episodes(world):
    scores = replay(world, default_times(world), oracle=True)
    assert sum(s.relevant for s in scores) > 0
    for s in scores:
        assert s.false_positives == 0, s.wrong
        assert s.true_positives == s.relevant, s.misses
        assert s.precision == 1.0 and s.recall == 1.0


def test_the_region_baseline_tells_people_whose_parcels_are_fine(world):
    scores = replay(world, default_times(world), oracle=True)
    sent = sum(s.baseline_targeted for s in scores)
    assert sent > sum(s.baseline_correct for s in scores)  # the mirage's false positives
    assert sum(s.baseline_true_positives for s in scores) < sum(s.relevant for s in scores)


def test_the_whole_chain_is_scored_with_reasons_for_every_miss(world):
    (score,) = replay(world, default_times(world, (0.0,)))
    assert score.targeted > 0
    assert sum(score.misses.values()) == score.relevant - score.true_positives
    assert sum(score.wrong.values()) == score.false_positives


def test_the_chain_is_warmed_up_by_polls_before_the_first_scored_time():
    first = datetime(2025, 11, 20, 1, tzinfo=UTC)
    polls = warmup_times(first, 6.0, 1.0)
    assert polls == [first - timedelta(hours=h) for h in (24, 18, 12, 6)]
    assert warmup_times(first, 6.0, 0.0) == [] and warmup_times(first, 0.0, 3.0) == []


def test_a_row_whose_outcome_falls_after_the_worlds_end_is_neither_right_nor_wrong(
    world, monkeypatch
):
    """Telling the customer of a parcel still on its way when the world ends, promise ahead,
    cannot be judged: it is counted apart (``undecided``), not as a false positive."""
    from collections import Counter
    from types import SimpleNamespace

    from notify import scoring

    truth = scoring.Truth.load(world)
    at = default_times(world, (0.0,))[0]
    undecided = sorted(truth.undecided())
    relevant, _, _ = truth.sets(at)
    on_time = truth.frame[truth.frame["outcome_known"] & ~truth.frame["delayed"]]
    fine = next(iter(scoring._pairs(on_time)))
    assert undecided and not set(undecided) & relevant
    chosen = {*undecided[:3], fine}
    monkeypatch.setattr(scoring, "targeted_pairs", lambda *a: chosen)
    monkeypatch.setattr(scoring, "_miss_reasons", lambda *a: Counter())
    result = SimpleNamespace(affected_customers=0)
    score = scoring._score(None, truth, world, 5, "r", at, result, 0.0)  # type: ignore[arg-type]
    assert score.undecided == 3
    assert score.targeted == 1 and score.false_positives == 1  # the on-time parcel only


def test_a_problem_told_is_founded_when_it_happened_and_a_causeless_one_when_anything_did(
    world,
):
    """An attention row (a problem, or a promise at risk) is right when what it names
    happened to the parcel: the carrier event itself, or, told without a cause ("the carrier
    has not told us the cause"), any carrier event. Nothing happened: wrong either way."""
    from notify import scoring

    truth = scoring.Truth.load(world)
    f = truth.frame
    weather = next(iter(scoring._pairs(f[f["carrier_event"] == "weather"])))
    quiet = next(iter(scoring._pairs(f[f["carrier_event"] == ""])))
    assert truth.founded(weather, "weather") and truth.founded(weather, "unknown")
    assert not truth.founded(weather, "address_issue")
    assert not truth.founded(quiet, "unknown") and not truth.founded(quiet, "weather")
    assert weather in truth.with_event() and quiet not in truth.with_event()
