"""Every carrier sample parses to its reviewed golden output."""

from __future__ import annotations

import pytest

from tests.golden import golden_path, normalized_lines, sample_files


@pytest.mark.parametrize("sample", sample_files(), ids=lambda p: p.name)
def test_sample_matches_golden(sample):
    golden = golden_path(sample)
    assert golden.exists(), f"no golden file for {sample.name}: run `python -m tests.golden`"
    expected = golden.read_text("utf-8").splitlines()
    assert normalized_lines(sample) == expected
