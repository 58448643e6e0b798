"""The vocabularies of the domain, stored as short strings."""

from __future__ import annotations

from enum import StrEnum


class SiteKind(StrEnum):
    CENTER = "center"
    COMMUNE_CENTER = "commune_center"
    AGENCY = "agency"
    POST_OFFICE = "post_office"


class Role(StrEnum):
    POSTAL_CLERK = "postal_clerk"
    COURIER = "courier"
    AGENCY_CLERK = "agency_clerk"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# Role groups, named once: who may do what. Frozensets, so `role in GROUP` and `*GROUP` both read.
STAFF = frozenset(Role)  # every account
OVERSEERS = frozenset({Role.SUPERVISOR, Role.ADMIN})  # act on any run, acknowledge alerts, the board and reports
CLERKS = frozenset({Role.POSTAL_CLERK, Role.AGENCY_CLERK})  # work at their own site, see what passes through it
SITED = CLERKS | {Role.COURIER}  # work from a home site: their account needs one
DRIVERS = OVERSEERS | {Role.COURIER}  # drive a run: its courier, or an overseer on the courier's behalf
REGISTRARS = CLERKS | OVERSEERS  # register dossiers and issue the apology slip (everyone but couriers)
REDIRECTORS = OVERSEERS | {Role.AGENCY_CLERK}  # give a parcel a new destination (an agency: to another agency)
# The post office's counter and those over it: full applicant contacts, fee exemptions, reading the alerts.
POSTAL_DESK = OVERSEERS | {Role.POSTAL_CLERK}
COUNTER_STAFF = frozenset({Role.POSTAL_CLERK, Role.SUPERVISOR})  # work at a center's counter: their site is one
RUN_READERS = POSTAL_DESK | {Role.COURIER}  # the run pages and a delivery run's doors (not agency clerks)
OFFICE_STAFF = frozenset({Role.POSTAL_CLERK, Role.COURIER})  # a post office's own: read its runs whole


class ReturnMethod(StrEnum):
    COUNTER = "counter"
    HOME = "home"


class Direction(StrEnum):
    TO_AGENCY = "to_agency"
    TO_CENTER = "to_center"
    TO_CITIZEN = "to_citizen"
    FROM_CITIZEN = "from_citizen"


class ParcelState(StrEnum):
    CREATED = "created"  # label printed, not yet accepted
    AT_SITE = "at_site"
    IN_TRANSIT = "in_transit"  # with a courier
    AWAITING_RECEIPT = "awaiting_receipt"  # handed to a site, not yet confirmed there
    MISSING = "missing"
    OUT_FOR_DELIVERY = "out_for_delivery"  # with a courier on the way to the citizen
    DELIVERED = "delivered"  # handed to the citizen: final


class Action(StrEnum):
    ACCEPT = "accept"
    PICKUP = "pickup"
    HANDOVER = "handover"
    RECEIVE = "receive"
    BAG = "bag"
    UNBAG = "unbag"
    REPORT_MISSING = "report_missing"
    FOUND = "found"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVER = "deliver"
    ATTEMPT_FAILED = "attempt_failed"
    REDIRECT = "redirect"  # a new destination, with a reason: a correction event, never an edit


class BagState(StrEnum):
    SEALED = "sealed"
    OPENED = "opened"


class AlertKind(StrEnum):
    MISSED_RUN = "missed_run"
    LATE_IN_TRANSIT = "late_in_transit"
    AWAITING_RECEIPT = "awaiting_receipt"
    SUSPECTED_LOSS = "suspected_loss"
    BAG_MISMATCH = "bag_mismatch"
    DUE_AT_RISK = "due_at_risk"
    OVERDUE = "overdue"
    MISROUTED = "misrouted"  # a handover, receipt or delivery tried somewhere the parcel is not addressed to
    PROOF_LOCKED = "proof_locked"  # too many wrong delivery codes or new codes: no code delivers it until resolved
    OVERDUE_AGAIN = "overdue_again"  # past the new day of the latest apology too, and still not returned
    GATEWAY_FAULT = "gateway_fault"  # a gateway refuses our configuration (401/403/404, no URL): messages kept back


class AlertState(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"
