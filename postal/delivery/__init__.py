"""Home delivery and pick-up (giao nhận tại nhà): citizens' requests, fees, geocoding and delivery runs.

A request names a dossier (code + the last four digits of the applicant's phone, as tracking does), an
address on the 2025 administrative units (street + 5-digit ward code of `vietnam-provinces`) and a slot
(a working day, morning or afternoon). It is geocoded with a Nominatim-protocol server when one is set
(answers cached in geocode_cache); without one, or when it fails, the request is still taken and routed by
its ward. The post office serving the ward takes it onto that slot's delivery run.

A delivery run is a Run of kind "delivery" whose RunStops are its post office only (first and last, the
hub), so everything that reads runs keeps working; the citizens' doors are DeliveryStop rows in visiting
order, chosen by routing.best_order over geodesic distances from the post office.

The parts: `wards` (the 2025 units and the fee), `geocoding` (where an address is), `requests` (taking a
request, an exemption, keeping requests in step with custody) and `runs` (the delivery runs and how one reads).
"""

from postal.delivery.requests import (
    SLOT_DAYS_AHEAD,
    AlreadyHandedIn,
    AlreadyReturned,
    exempt_fee,
    request_delivery,
    settle,
)
from postal.delivery.runs import (
    DayReport,
    delivery_run,
    generate_day,
    generate_delivery_runs,
)
from postal.delivery.wards import WardInfo, provinces, ward_of, wards_of

__all__ = [
    "SLOT_DAYS_AHEAD",
    "AlreadyHandedIn",
    "AlreadyReturned",
    "DayReport",
    "WardInfo",
    "delivery_run",
    "exempt_fee",
    "generate_day",
    "generate_delivery_runs",
    "provinces",
    "request_delivery",
    "settle",
    "ward_of",
    "wards_of",
]
