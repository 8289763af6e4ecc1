"""Golden files: expected normalized output for every carrier sample.

``python -m tests.golden`` rewrites every golden file from the current parsers, after an
intended change; review the diff before committing it. The golden test compares the
parsers' output with these files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from carriers import registry
from carriers.models import PayloadError

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLES = FIXTURES / "carrier_samples"
GOLDEN = FIXTURES / "golden"
SAMPLE_SUFFIXES = (".json", ".xml")


def sample_files() -> list[Path]:
    return sorted(p for p in SAMPLES.iterdir() if p.suffix in SAMPLE_SUFFIXES)


def golden_path(sample: Path) -> Path:
    return GOLDEN / f"{sample.name}.jsonl"


def normalized_lines(sample: Path) -> list[str]:
    """What `oasis carriers parse FILE` prints for a sample (or the payload error)."""
    payload = sample.read_bytes()
    try:
        spec = registry.detect(payload)
        results = spec.parse(payload)
    except PayloadError as exc:
        return [json.dumps({"payload_error": str(exc)}, ensure_ascii=False)]
    return [json.dumps(r.to_dict(), ensure_ascii=False, sort_keys=True) for r in results]


def regenerate() -> int:
    GOLDEN.mkdir(parents=True, exist_ok=True)
    for sample in sample_files():
        golden_path(sample).write_text("\n".join(normalized_lines(sample)) + "\n", "utf-8")
        print(f"wrote {golden_path(sample).relative_to(FIXTURES.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(regenerate())
