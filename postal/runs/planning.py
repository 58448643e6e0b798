"""Routes and times: planned arrivals along a route, and the order of a run's stops (OR-Tools)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from models import (
    Site,
)
from postal import routing
from postal.clock import LOCAL_TZ

SPEED_KMH = 25.0  # average speed between stops, town traffic included
DWELL_MIN = 5.0  # minutes at each stop to hand over and sign
DISTANCES: routing.DistanceSource = routing.GeodesicDistances()  # a road-distance source can replace it

Point = tuple[float, float]


@dataclass(frozen=True)
class Timing:
    """Planned arrival at each stop of a route from the post office, and the return to it."""

    arrivals: tuple[datetime, ...]
    back_at: datetime
    distance_km: float | None


def timing(depot: Site, route: Sequence[Site], depart_at: datetime) -> Timing:
    """Arrivals along a route driven in the given order from the post office and back."""
    points = [point(s) for s in (depot, *route)]
    if any(p is None for p in points):  # no coordinates: a stop every quarter hour, distance unknown
        step = timedelta(minutes=15)
        return Timing(tuple(depart_at + step * (i + 1) for i in range(len(route))), depart_at + step * (len(route) + 1), None)
    matrix = DISTANCES.matrix(points)
    order = list(range(1, len(points)))
    plan = routing.plan_arrivals(matrix, order, depart_at, speed_kmh=SPEED_KMH, dwell_min=DWELL_MIN)
    return Timing(plan.arrivals, plan.back_at, round(routing.tour_length(matrix, order), 3))


def point(site: Site) -> Point | None:
    return (site.lat, site.lon) if site.lat is not None and site.lon is not None else None


def solver_seconds(stops: int) -> float:
    """OR-Tools' time for a run's stops: a town's dozen stops settle in a fraction of a second."""
    return min(0.8, max(0.05, 0.02 * stops))


def optimise(depot: Site, first: Site | None, middle: Sequence[Site], last: Site | None) -> list[int]:
    """The order of the middle stops (indexes) for a route depot → [first] → middle → [last] → depot."""
    # The fixed ends fold into one virtual node 0 (leaving `first`, arriving at `last`): the tour that
    # routing.best_order finds through node 0 is the route, and it is never longer than as given.
    given = list(range(len(middle)))
    start, end = point(first or depot), point(last or depot)
    points = [point(s) for s in middle]
    if len(middle) < 2 or start is None or end is None or any(p is None for p in points):
        return given
    inner = DISTANCES.matrix(points)
    from_start = DISTANCES.matrix([start, *points])[0][1:]
    to_end = [row[0] for row in DISTANCES.matrix([end, *points])[1:]]
    matrix = [[0.0, *from_start]] + [[to_end[i], *inner[i]] for i in range(len(middle))]
    order = routing.best_order(matrix, [i + 1 for i in given], time_limit_s=solver_seconds(len(middle)))
    return [i - 1 for i in order]


HOURS_REFERENCE_DAY = date(2000, 1, 3)  # any working day: a line's times are the same every day


@dataclass(frozen=True)
class HoursBreach:
    """The first planned time of a line outside its site's working hours."""

    site: Site
    returning: bool  # the courier's return to the post office, not an arrival at a stop
    at: time  # local

    def describe(self) -> str:
        """In the operator's log and the command line's words."""
        what = "back at" if self.returning else "at"
        return (f"{what} {self.site.name} {self.at:%H:%M}, outside its hours "
                f"{self.site.opens_at:%H:%M}-{self.site.closes_at:%H:%M}")


def hours_breach(departs: time, stops: Sequence[tuple[Site, timedelta]], depot: Site, back: timedelta) -> HoursBreach | None:
    """Where a line leaving at `departs` breaks the sites' working hours, or None: every planned arrival
    (offsets from the departure) within its stop's hours, and the courier back at the post office before it closes."""
    start = datetime.combine(HOURS_REFERENCE_DAY, departs, tzinfo=LOCAL_TZ)
    for site, offset, returning in [*((s, o, False) for s, o in stops), (depot, back, True)]:
        here = (start + offset).time()
        if not site.opens_at <= here <= site.closes_at:
            return HoursBreach(site, returning, here)
    return None
