"""SQLModel tables; importing this package registers every table on the metadata."""

from models.accounts import ApiToken, User
from models.alerts import Alert
from models.custody import Bag, ChainHead, CustodyEvent
from models.dossiers import Dossier, Parcel
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
from models.sites import Site, SitePublic

__all__ = [
    "Action", "Alert", "AlertKind", "AlertState", "ApiToken", "Bag", "BagState", "ChainHead",
    "CustodyEvent", "Direction", "Dossier", "Parcel", "ParcelState", "ReturnMethod", "Role",
    "Severity", "Site", "SiteKind", "SitePublic", "User",
]
