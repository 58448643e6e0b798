"""Stop order of a shuttle run (chuyến): distances, tour optimisation and planned arrivals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime, timedelta
from itertools import permutations
from typing import Protocol

from geopy.distance import geodesic
from ortools.constraint_solver import pywrapcp, routing_enums_pb2
from ortools.constraint_solver.routing_parameters_pb2 import RoutingSearchParameters

Point = tuple[float, float]  # (latitude, longitude) in degrees
Matrix = Sequence[Sequence[float]]  # km; matrix[i][j] from node i to node j, node 0 is the depot

# Up to three stops there are at most six tours: enumerate them rather than start a solver.
MAX_ENUMERATED_STOPS = 3

# OR-Tools' default is 0.1; on 40-stop runs at 0.8 s, 0.2 left fewer tours more than 1% long.
GLS_LAMBDA = 0.2


@lru_cache(maxsize=65_536)
def geodesic_km(a: Point, b: Point) -> float:
    """The geodesic distance between two points, in km: sites do not move between two runs' planning, so each
    pair is computed once (a month's generation asks for the same pairs for every line and every day)."""
    return geodesic(a, b).km


def geodesic_matrix(points: Sequence[Point]) -> list[list[float]]:
    """Geodesic distances in km between every pair of points."""
    n = len(points)
    matrix = [[0.0] * n for _ in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            a, b = tuple(points[i]), tuple(points[j])
            matrix[i][j] = matrix[j][i] = geodesic_km(*((a, b) if a <= b else (b, a)))
    return matrix


class DistanceSource(Protocol):
    """Where distances come from: geodesic today, a road-distance service when configured."""

    def matrix(self, points: Sequence[Point]) -> list[list[float]]:
        """Distances in km between every pair of points."""
        ...


class GeodesicDistances:
    """Straight-line distances on the WGS-84 ellipsoid; needs no network."""

    def matrix(self, points: Sequence[Point]) -> list[list[float]]:
        """Geodesic distances in km between every pair of points."""
        return geodesic_matrix(points)


def tour_length(matrix: Matrix, order: Sequence[int]) -> float:
    """Length in km of depot → stops in `order` → depot."""
    nodes = [0, *order, 0]
    return sum(matrix[a][b] for a, b in zip(nodes, nodes[1:]))


def order_stops(matrix: Matrix, *, time_limit_s: float = 0.8) -> list[int]:
    """A short tour from the depot through every stop and back, as the order of nodes 1..n-1."""
    n = _check_square(matrix)
    stops = range(1, n)
    if n - 1 <= MAX_ENUMERATED_STOPS:
        return list(min(permutations(stops), key=lambda order: tour_length(matrix, order)))
    return solve_tour(matrix, search_parameters(time_limit_s))


def best_order(matrix: Matrix, template_order: Sequence[int], *, time_limit_s: float = 0.8) -> list[int]:
    """The optimised order, unless the template's order is at least as short."""
    n = _check_square(matrix)
    if sorted(template_order) != list(range(1, n)):
        raise ValueError(f"template order must visit each of nodes 1..{n - 1} once")
    optimised = order_stops(matrix, time_limit_s=time_limit_s)
    if tour_length(matrix, optimised) < tour_length(matrix, template_order):
        return optimised
    return list(template_order)


@dataclass(frozen=True)
class ArrivalPlan:
    """Planned arrival at each stop, in visiting order, and the return to the depot."""

    arrivals: tuple[datetime, ...]
    back_at: datetime


def plan_arrivals(
    matrix: Matrix,
    order: Sequence[int],
    depart_at: datetime,
    *,
    speed_kmh: float = 25.0,
    dwell_min: float = 5.0,
) -> ArrivalPlan:
    """Arrival times along the order at a constant speed, with the same dwell at every stop."""
    if speed_kmh <= 0 or dwell_min < 0:
        raise ValueError("speed must be positive and dwell not negative")
    dwell = timedelta(minutes=dwell_min)
    arrivals = []
    here, clock = 0, depart_at
    for stop in order:
        clock += timedelta(hours=matrix[here][stop] / speed_kmh)
        arrivals.append(clock)
        clock += dwell
        here = stop
    back_at = clock + timedelta(hours=matrix[here][0] / speed_kmh)
    return ArrivalPlan(arrivals=tuple(arrivals), back_at=back_at)


def search_parameters(time_limit_s: float) -> RoutingSearchParameters:
    """Cheapest-arc start, then guided local search until the time limit."""
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.guided_local_search_lambda_coefficient = GLS_LAMBDA
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    return params


def solve_tour(matrix: Matrix, params: RoutingSearchParameters) -> list[int]:
    """The OR-Tools tour for one vehicle from node 0, as the order of nodes 1..n-1."""
    n = len(matrix)
    manager = pywrapcp.RoutingIndexManager(n, 1, 0)
    model = pywrapcp.RoutingModel(manager)
    # whole metres: the solver wants integers, and a metre is finer than any road
    metres = [[round(d * 1000) for d in row] for row in matrix]
    # a matrix callback stays in C++; a Python callback would cost a call per arc evaluated
    transit = model.RegisterTransitMatrix(metres)
    model.SetArcCostEvaluatorOfAllVehicles(transit)
    solution = model.SolveWithParameters(params)
    if solution is None:
        # The time ran out before a first tour (a busy machine, a tiny limit): the cheapest-arc start
        # with plain descent always ends, so take it rather than no order at all.
        fallback = pywrapcp.DefaultRoutingSearchParameters()
        fallback.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
        solution = model.SolveWithParameters(fallback)
    if solution is None:
        raise RuntimeError("OR-Tools found no tour")
    order = []
    index = model.Next(solution, model.Start(0))
    while not model.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = model.Next(solution, index)
    return order


def _check_square(matrix: Matrix) -> int:
    """The node count of a non-empty square matrix."""
    n = len(matrix)
    if n == 0 or any(len(row) != n for row in matrix):
        raise ValueError("distance matrix must be square with the depot at node 0")
    return n
