"""SQLModel tables; importing this package registers every table on the metadata."""

from models.accounts import ApiToken, User
from models.alerts import Alert
from models.changes import AdminChange
from models.collection import CollectionMethod, FeeCollection
from models.counter import LabelPrint, Procedure
from models.custody import Bag, ChainHead, CustodyEvent, DeliveryOtp, LedgerCheckpoint
from models.delivery import DeliveryKind, DeliveryRequest, DeliveryState, DeliveryStop, GeocodeCache, GeocodeSource, SlotPeriod
from models.dossiers import ApologySlip, Dossier, Parcel
from models.enums import (
    Action,
    AlertKind,
    AlertState,
    BagState,
    Direction,
    ParcelState,
    ReturnMethod,
    Role,
    Severity,
    SiteKind,
)
from models.onestop import OneStopUnit
from models.outbox import Channel, OutboxMessage, OutboxState, ZaloToken
from models.runs import ManifestEntry, Run, RunKind, RunState, RunStop, RunTemplate, RunTemplateStop
from models.scheduler import SchedulerBeat, SchedulerJob
from models.sites import Site, SitePublic

__all__ = [
    "CollectionMethod",
    "FeeCollection",
    "Action", "AdminChange", "Alert", "ApologySlip", "AlertKind", "AlertState", "ApiToken", "Bag", "BagState", "ChainHead",
    "CustodyEvent", "DeliveryOtp", "Direction", "Dossier", "LabelPrint", "LedgerCheckpoint", "ManifestEntry", "OneStopUnit", "Parcel",
    "ParcelState", "Procedure", "ReturnMethod", "Role",
    "Run", "RunKind", "RunState", "RunStop", "RunTemplate", "RunTemplateStop", "SchedulerBeat", "SchedulerJob",
    "Severity", "Site", "SiteKind", "SitePublic", "User",
    "Channel", "OutboxMessage", "OutboxState", "ZaloToken",
    "DeliveryKind", "DeliveryRequest", "DeliveryState", "DeliveryStop", "GeocodeCache", "GeocodeSource", "SlotPeriod",
]
