import math
import random
from datetime import datetime, timedelta
from itertools import permutations

import pytest

from postal import routing
from postal.routing import (
    GeodesicDistances,
    best_order,
    geodesic_matrix,
    order_stops,
    plan_arrivals,
    tour_length,
)
from postal.workdays import TZ

HA_NOI = (21.0285, 105.8542)
HO_CHI_MINH_CITY = (10.7769, 106.7009)


def plane_matrix(points):
    """Euclidean distances between points on a plane, in km."""
    return [[math.dist(a, b) for b in points] for a in points]


def shortest_by_enumeration(matrix):
    """The length of the best tour, by trying every order (fine for a handful of stops)."""
    return min(tour_length(matrix, order) for order in permutations(range(1, len(matrix))))


def random_matrix(rng, stops):
    return plane_matrix([(rng.uniform(0, 50), rng.uniform(0, 50)) for _ in range(stops + 1)])


def test_four_points_of_a_square_are_visited_around_not_across():
    matrix = plane_matrix([(0, 0), (0, 10), (10, 10), (10, 0)])
    assert order_stops(matrix) in ([1, 2, 3], [3, 2, 1])
    assert tour_length(matrix, order_stops(matrix)) == pytest.approx(40)


def test_points_on_a_square_perimeter_are_visited_in_turn():
    # eight points round a square: the solver path, the opposite corner must not be crossed to
    ring = [(0, 0), (0, 5), (0, 10), (5, 10), (10, 10), (10, 5), (10, 0), (5, 0)]
    order = order_stops(plane_matrix(ring), time_limit_s=0.1)
    assert order in ([1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1])


@pytest.mark.parametrize("stops", [0, 1, 2, 3])
def test_few_stops_are_ordered_without_the_solver(monkeypatch, stops):
    def no_solver(*args, **kwargs):
        raise AssertionError("solver called for a trivial run")

    monkeypatch.setattr(routing, "solve_tour", no_solver)
    matrix = random_matrix(random.Random(stops), stops)
    order = order_stops(matrix)
    assert sorted(order) == list(range(1, stops + 1))
    assert tour_length(matrix, order) == pytest.approx(shortest_by_enumeration(matrix))


def test_two_stops_in_a_one_way_matrix_take_the_shorter_direction():
    matrix = [[0, 1, 9], [9, 0, 1], [1, 9, 0]]
    assert order_stops(matrix) == [1, 2]


def test_malformed_matrix_is_refused():
    with pytest.raises(ValueError):
        order_stops([])
    with pytest.raises(ValueError):
        order_stops([[0, 1], [1, 0, 2]])


def test_solver_finds_the_optimum_of_a_small_run():
    matrix = random_matrix(random.Random(42), 7)
    order = order_stops(matrix, time_limit_s=0.2)
    assert sorted(order) == list(range(1, 8))
    assert tour_length(matrix, order) == pytest.approx(shortest_by_enumeration(matrix), rel=1e-3)


def test_tour_length_goes_out_and_back():
    matrix = plane_matrix([(0, 0), (3, 0), (3, 4)])
    assert tour_length(matrix, [1, 2]) == pytest.approx(3 + 4 + 5)
    assert tour_length(matrix, []) == 0


def test_best_order_is_never_longer_than_the_template():
    rng = random.Random(20250430)
    for _ in range(30):
        stops = rng.randint(4, 7)
        matrix = random_matrix(rng, stops)
        template = list(range(1, stops + 1))
        rng.shuffle(template)
        # half the templates are already optimal, so only the guard keeps them
        if rng.random() < 0.5:
            template = list(min(permutations(template), key=lambda o: tour_length(matrix, o)))
        chosen = best_order(matrix, template, time_limit_s=0.01)
        assert sorted(chosen) == sorted(template)
        assert tour_length(matrix, chosen) <= tour_length(matrix, template)


def test_best_order_keeps_the_template_when_the_solver_does_worse(monkeypatch):
    matrix = plane_matrix([(0, 0), (0, 10), (10, 10), (10, 0), (5, -1)])
    monkeypatch.setattr(routing, "order_stops", lambda matrix, **kwargs: [2, 4, 1, 3])
    assert best_order(matrix, [1, 2, 3, 4]) == [1, 2, 3, 4]


def test_best_order_refuses_a_template_missing_a_stop():
    matrix = random_matrix(random.Random(1), 4)
    with pytest.raises(ValueError):
        best_order(matrix, [1, 2, 3])


def test_arrivals_add_travel_and_dwell_time():
    matrix = plane_matrix([(0, 0), (10, 0), (10, 5)])
    depart = datetime(2025, 3, 4, 8, 0, tzinfo=TZ)
    plan = plan_arrivals(matrix, [1, 2], depart, speed_kmh=20, dwell_min=5)
    # 10 km at 20 km/h = 30 min; 5 min dwell; 5 km = 15 min; 5 min dwell; back √125 km
    assert plan.arrivals == (depart + timedelta(minutes=30), depart + timedelta(minutes=50))
    assert plan.back_at == depart + timedelta(minutes=55, hours=math.sqrt(125) / 20)


def test_arrivals_increase_along_the_run():
    matrix = random_matrix(random.Random(7), 6)
    depart = datetime(2025, 3, 4, 8, 0, tzinfo=TZ)
    order = [3, 1, 6, 2, 5, 4]
    plan = plan_arrivals(matrix, order, depart)
    times = [depart, *plan.arrivals, plan.back_at]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(gap > timedelta(0) for gap in gaps)
    assert all(gap >= timedelta(minutes=5) for gap in gaps[1:])  # dwell before every leg but the first
    longer_dwell = plan_arrivals(matrix, order, depart, dwell_min=10)
    assert longer_dwell.back_at - plan.back_at == timedelta(minutes=5 * len(order))
    slower = plan_arrivals(matrix, order, depart, speed_kmh=12.5)
    assert all(s > a for s, a in zip(slower.arrivals, plan.arrivals))


def test_a_run_without_stops_returns_at_once():
    depart = datetime(2025, 3, 4, 8, 0, tzinfo=TZ)
    plan = plan_arrivals([[0.0]], [], depart)
    assert plan.arrivals == () and plan.back_at == depart


def test_geodesic_matrix_is_symmetric_with_zero_diagonal():
    points = [HA_NOI, HO_CHI_MINH_CITY, (16.0544, 108.2022), (21.0, 107.0)]
    matrix = geodesic_matrix(points)
    for i in range(len(points)):
        assert matrix[i][i] == 0
        for j in range(len(points)):
            assert matrix[i][j] == matrix[j][i]
            assert i == j or matrix[i][j] > 0
    assert GeodesicDistances().matrix(points) == matrix


def test_ha_noi_to_ho_chi_minh_city_is_about_1140_km():
    assert geodesic_matrix([HA_NOI, HO_CHI_MINH_CITY])[0][1] == pytest.approx(1140, abs=30)
