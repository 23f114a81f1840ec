"""Slider captcha: accuracy and time per challenge of the local solver on simulator challenges.

    python bench/slider.py [--n 500]

Prints solved/n (within 3 px of the gap) and the median, p99 and slowest solve time. The issue's
bar is ≥ 99 % and under 50 ms each; run it on a quiet machine for the times to mean something.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import time

from gradewatch.frontdoor.slider import find_gap
from gradewatch.sim.slider import make_challenge


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=20261202)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    times, solved = [], 0
    for _ in range(args.n):
        ch = make_challenge(rng)
        start = time.perf_counter()
        x = find_gap(ch.background, ch.piece, piece_y=ch.y)
        times.append(time.perf_counter() - start)
        solved += abs(x - ch.gap_x) <= 3
    times.sort()
    ms = [t * 1000 for t in times]
    print(f"solved {solved}/{args.n} ({100 * solved / args.n:.1f} %) · median {statistics.median(ms):.1f} ms · "
          f"p99 {ms[int(0.99 * (len(ms) - 1))]:.1f} ms · slowest {ms[-1]:.1f} ms · load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
