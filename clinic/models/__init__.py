"""Typed SQLAlchemy models, one module per aggregate."""

from .audit import AuditEvent
from .base import Base, UTCDateTime, utcnow
from .booking import (
    CANCELLABLE_STATUSES,
    FINISHED_STATUSES,
    LIVE_STATUSES,
    OPEN_STATUSES,
    RELEASED_STATUSES,
    Appointment,
    AppointmentStatus,
    Series,
    SeriesStatus,
)
from .idempotency import IdempotencyKey
from .location import Closure, Location, OpeningHours
from .monitoring import EntryKind, RecordEntry, SessionRecord
from .notification import Channel, Notification, NotificationKind, NotificationStatus
from .patient import Patient
from .rebooking import RebookingEntry
from .resources import Capability, Chair, ChairBlock
from .staff import (
    CERTIFICATION_WARNING_DAYS,
    Certification,
    Shift,
    ShiftTemplate,
    Staff,
    StaffRole,
    TimeOff,
)
from .treatment import NO_DRIVING_NOTICE, Protocol, Route, TreatmentType
from .two_factor import RecoveryCode, TwoFactor
from .user import MIN_PASSWORD_LENGTH, ApiToken, LoginAttempt, LoginSession, Role, User

__all__ = [
    "CANCELLABLE_STATUSES",
    "CERTIFICATION_WARNING_DAYS",
    "FINISHED_STATUSES",
    "LIVE_STATUSES",
    "MIN_PASSWORD_LENGTH",
    "NO_DRIVING_NOTICE",
    "OPEN_STATUSES",
    "RELEASED_STATUSES",
    "ApiToken",
    "Appointment",
    "AppointmentStatus",
    "AuditEvent",
    "Base",
    "Capability",
    "Certification",
    "Chair",
    "ChairBlock",
    "Channel",
    "Closure",
    "IdempotencyKey",
    "EntryKind",
    "Location",
    "LoginAttempt",
    "LoginSession",
    "Notification",
    "NotificationKind",
    "NotificationStatus",
    "OpeningHours",
    "Patient",
    "Protocol",
    "RebookingEntry",
    "RecordEntry",
    "RecoveryCode",
    "Role",
    "Route",
    "Series",
    "SeriesStatus",
    "SessionRecord",
    "Shift",
    "ShiftTemplate",
    "Staff",
    "StaffRole",
    "TimeOff",
    "TreatmentType",
    "TwoFactor",
    "User",
    "UTCDateTime",
    "utcnow",
]
