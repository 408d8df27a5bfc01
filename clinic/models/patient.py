"""Patients: identity, contact preferences and consent, escort, REMS enrollment."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..text import fold
from .base import Base, utcnow

# The search column's trigram index (PostgreSQL; SQLite keeps a plain index it scans).
SEARCH_INDEX = sa.Index(
    "ix_patient_search_text",
    "search_text",
    postgresql_using="gin",
    postgresql_ops={"search_text": "gin_trgm_ops"},
)


class Patient(Base):
    __tablename__ = "patient"
    __table_args__ = (
        sa.Index("ix_patient_family_given", "family_name", "given_name"),
        SEARCH_INDEX,
        sa.CheckConstraint("phone IS NULL OR phone LIKE '+%'", name="phone_e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(sa.String(32), unique=True)
    given_name: Mapped[str] = mapped_column(sa.String(80))
    family_name: Mapped[str] = mapped_column(sa.String(80))
    date_of_birth: Mapped[dt.date] = mapped_column(sa.Date, index=True)
    email: Mapped[str | None] = mapped_column(sa.String(254))
    # E.164, e.g. +15551234567; validated by the forms and the API.
    phone: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    # Contact preferences and consent: a reminder goes out on a channel only when both hold.
    email_opt_in: Mapped[bool] = mapped_column(default=True)
    sms_opt_in: Mapped[bool] = mapped_column(default=False)
    sms_consent_at: Mapped[dt.datetime | None]
    escort_name: Mapped[str | None] = mapped_column(sa.String(120))
    escort_phone: Mapped[str | None] = mapped_column(sa.String(20))
    rems_enrolled_on: Mapped[dt.date | None] = mapped_column(sa.Date)
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    # Secret for the patient's calendar feed URL; None when revoked.
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    # What the search box matches anywhere in: names, MRN, phone digits and email, folded
    # (lower case, no accents). Kept by ``search_text_of`` on every insert and update.
    search_text: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    @property
    def can_receive_email(self) -> bool:
        return bool(self.email) and self.email_opt_in

    @property
    def can_receive_sms(self) -> bool:
        return bool(self.phone) and self.sms_opt_in and self.sms_consent_at is not None


def search_text_of(
    *,
    given_name: str | None,
    family_name: str | None,
    mrn: str | None,
    phone: str | None,
    email: str | None,
) -> str:
    """The folded text a search matches in; the phone as bare digits ("+1 555" → "1555")."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    parts = (given_name, family_name, mrn, digits, email)
    return fold(" ".join(part for part in parts if part))


@sa.event.listens_for(Patient, "before_insert")
@sa.event.listens_for(Patient, "before_update")
def _keep_search_text(_mapper: object, _connection: object, patient: Patient) -> None:
    # Every writer (services, demo, builders, benchmarks) gets it right without knowing.
    patient.search_text = search_text_of(
        given_name=patient.given_name,
        family_name=patient.family_name,
        mrn=patient.mrn,
        phone=patient.phone,
        email=patient.email,
    )
