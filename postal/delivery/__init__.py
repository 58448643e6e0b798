"""Home delivery and pick-up (giao nhận tại nhà): citizens' requests, fees, geocoding and delivery runs.

A request names a dossier (code + the last four digits of the applicant's phone, as tracking does), an
address on the 2025 administrative units (street + 5-digit ward code of `vietnam-provinces`) and a slot
(a working day, morning or afternoon). It is geocoded with a Nominatim-protocol server when one is set
(answers cached in geocode_cache); without one, or when it fails, the request is still taken and routed by
its ward. The post office serving the ward takes it onto that slot's delivery run.

A delivery run is a Run of kind "delivery" whose RunStops are its post office only (first and last, the
hub), so everything that reads runs keeps working; the citizens' doors are DeliveryStop rows in visiting
order, chosen by routing.best_order over geodesic distances from the post office.

One request per dossier and kind is active at a time: a second booking is refused naming the first, which the
citizen changes instead (never charged twice). Until a courier has it out, the citizen (code + phone, then a
code by SMS) or the counter may cancel it.

The parts: `wards` (the 2025 units and the fee), `geocoding` (where an address is), `form` (the fields as the
citizen sees them, and how to fix each refusal), `requests` (taking a request, an exemption, keeping requests in
step with custody), `booking` (changing and cancelling one, what is owed) and `runs` (the delivery runs and how
one reads).
"""

from postal.delivery.booking import (
    BookingClosed,
    OutForDelivery,
    StaffBooking,
    cancel_by_citizen,
    cancel_by_clerk,
    change_booking,
    dossier_bookings,
    record_fee_paid,
    record_refund,
    send_cancel_code,
)
from postal.delivery.form import FIELD_NAMES, SLOT_DAYS_AHEAD, InvalidField, bookable_days, missing_field, refusal
from postal.delivery.requests import (
    AlreadyHandedIn,
    AlreadyReturned,
    BookingExists,
    Slot,
    exempt_fee,
    fee_status,
    request_delivery,
    settle,
    take_request,
)
from postal.delivery.runs import (
    DayReport,
    delivery_run,
    generate_day,
    generate_delivery_runs,
)
from postal.delivery.wards import WardInfo, provinces, ward_of, wards_of

__all__ = [
    "FIELD_NAMES",
    "SLOT_DAYS_AHEAD",
    "AlreadyHandedIn",
    "AlreadyReturned",
    "BookingClosed",
    "BookingExists",
    "DayReport",
    "InvalidField",
    "OutForDelivery",
    "Slot",
    "StaffBooking",
    "WardInfo",
    "bookable_days",
    "cancel_by_citizen",
    "cancel_by_clerk",
    "change_booking",
    "delivery_run",
    "dossier_bookings",
    "exempt_fee",
    "fee_status",
    "missing_field",
    "record_fee_paid",
    "record_refund",
    "refusal",
    "send_cancel_code",
    "generate_day",
    "generate_delivery_runs",
    "provinces",
    "request_delivery",
    "settle",
    "take_request",
    "ward_of",
    "wards_of",
]
