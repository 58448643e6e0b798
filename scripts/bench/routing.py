"""Benchmark: order_stops against OR-Tools guided local search given much longer (not a test)."""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run from anywhere without installing

from ortools.constraint_solver import pywrapcp, routing_enums_pb2  # noqa: E402

from postal.routing import geodesic_matrix, order_stops, solve_tour, tour_length  # noqa: E402

# A province-sized box, about 100 × 100 km, around (21.0, 107.0) in Quảng Ninh.
CENTER_LAT, CENTER_LON = 21.0, 107.0
HALF_LAT, HALF_LON = 0.45, 0.48  # 0.45° of latitude ≈ 50 km; 0.48° of longitude ≈ 50 km at 21°N

TARGET_GAP_PCT = 1.0
TARGET_SECONDS = 1.0


def random_points(rng: random.Random, stops: int) -> list[tuple[float, float]]:
    """The depot and `stops` agencies scattered uniformly over the box."""
    return [
        (CENTER_LAT + rng.uniform(-HALF_LAT, HALF_LAT), CENTER_LON + rng.uniform(-HALF_LON, HALF_LON))
        for _ in range(stops + 1)
    ]


def reference_parameters(seconds: float):
    """Plain OR-Tools guided local search (library defaults otherwise) for `seconds`."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(round(seconds * 1000))
    return params


def verdict(ok: bool) -> str:
    """How a target reads in the summary."""
    return "met" if ok else "NOT met"


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; exit status 0 when both targets are met."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--instances", type=int, default=20)
    parser.add_argument("--stops", type=int, default=40)
    parser.add_argument("--reference-seconds", type=float, default=30.0)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    gaps, seconds = [], []
    print(f"{args.instances} instances × {args.stops} stops, reference GLS {args.reference_seconds:g} s")
    print(f"{'#':>3} {'ours s':>7} {'ours km':>9} {'ref km':>9} {'gap %':>7}")
    for i in range(1, args.instances + 1):
        matrix = geodesic_matrix(random_points(rng, args.stops))
        started = time.perf_counter()
        ours = order_stops(matrix)
        elapsed = time.perf_counter() - started
        reference = solve_tour(matrix, reference_parameters(args.reference_seconds))
        ours_km, ref_km = tour_length(matrix, ours), tour_length(matrix, reference)
        gap = (ours_km / ref_km - 1) * 100
        gaps.append(gap)
        seconds.append(elapsed)
        print(f"{i:>3} {elapsed:>7.3f} {ours_km:>9.2f} {ref_km:>9.2f} {gap:>7.3f}", flush=True)

    median_gap, median_time = statistics.median(gaps), statistics.median(seconds)
    gap_ok, time_ok = median_gap <= TARGET_GAP_PCT, max(seconds) < TARGET_SECONDS
    print(f"median gap {median_gap:.3f} % (max {max(gaps):.3f} %), target ≤ {TARGET_GAP_PCT:g} %: {verdict(gap_ok)}")
    print(f"median time {median_time:.3f} s (max {max(seconds):.3f} s), target < {TARGET_SECONDS:g} s each: {verdict(time_ok)}")
    return 0 if gap_ok and time_ok else 1


if __name__ == "__main__":
    sys.exit(main())
