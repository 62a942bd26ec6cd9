"""Write calibration/targets.csv from the observed data shipped in simulation/data.

    python calibration/make_targets.py

The figures are those of simulation/validation.py (the same files, the same tolerances where
validation.py sets one); each row names its source. Run again only if the data change; a
test checks that targets.csv matches what this script writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simulation.calibration import build_targets, write_targets  # noqa: E402


def main() -> int:
    path = ROOT / "calibration" / "targets.csv"
    write_targets(build_targets(), path)
    print(f"written {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
