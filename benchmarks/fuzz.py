"""Fuzz the preprocessing and prediction functions with generated inputs (default 10,000 cases).

Each case must end in a valid result or a ValueError with a message; anything else
is a failure. Uses the same strategy as tests/test_reliability.py, with more cases.

    python benchmarks/fuzz.py [--cases 10000]
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

from common import REPO, report
from hypothesis import HealthCheck, given, settings

from model import load_weights
from presentation import classify, served_from_metadata
from tests.test_reliability import ANYTHING, check_one


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=10000)
    args = parser.parse_args()
    served = served_from_metadata(*load_weights(REPO / "weights"), source="shipped")
    outcomes: Counter[str] = Counter()

    @settings(max_examples=args.cases, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(ANYTHING)
    def case(value):
        try:
            outcome = classify(value, served)
            outcomes["empty" if outcome.probabilities is None else "classified"] += 1
        except ValueError:
            outcomes["ValueError"] += 1
        check_one(value, served)  # raises (and hypothesis reports) on anything else

    start = time.perf_counter()
    case()
    seconds = time.perf_counter() - start
    report("fuzz", {"cases": sum(outcomes.values()), "outcomes": dict(outcomes), "failures": 0,
                    "seconds": round(seconds, 1)})


if __name__ == "__main__":
    main()
