"""The one place that says what each role may do. Views and the API ask ``can(role, perm)``."""

from __future__ import annotations

import enum

from .models.user import Role


class Permission(enum.StrEnum):
    VIEW_SCHEDULE = "view_schedule"  # board, day sheet, appointment details
    VIEW_PATIENTS = "view_patients"  # search and open patient records
    EDIT_PATIENTS = "edit_patients"
    BOOK = "book"  # book, reschedule and cancel sessions and series
    CHECK_IN = "check_in"  # arrival and no-show
    CLINICAL_STATUS = "clinical_status"  # start treatment, start monitoring, discharge
    MANAGE_NOTIFICATIONS = "manage_notifications"  # see the outbox, retry failed messages
    CONFIGURE = "configure"  # chairs, staff, shifts, treatment types, protocols, locations
    MANAGE_USERS = "manage_users"  # users, roles, API tokens
    MANAGE_INTEGRATIONS = "manage_integrations"  # webhook endpoints and their deliveries
    VIEW_AUDIT = "view_audit"
    VIEW_REPORTS = "view_reports"  # utilisation, attendance, series, monitor load, messages


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.RECEPTIONIST: frozenset(
        {
            Permission.VIEW_SCHEDULE,
            Permission.VIEW_PATIENTS,
            Permission.EDIT_PATIENTS,
            Permission.BOOK,
            Permission.CHECK_IN,
            Permission.MANAGE_NOTIFICATIONS,
        }
    ),
    Role.NURSE: frozenset(
        {
            Permission.VIEW_SCHEDULE,
            Permission.VIEW_PATIENTS,
            Permission.CHECK_IN,
            Permission.CLINICAL_STATUS,
        }
    ),
    # A clinic manager reads the reports and the schedule; the board offers no action
    # without its own permission, so the schedule is read-only for them.
    Role.MANAGER: frozenset({Permission.VIEW_REPORTS, Permission.VIEW_SCHEDULE}),
}


def can(role: Role | str | None, permission: Permission) -> bool:
    if role is None:
        return False
    return permission in ROLE_PERMISSIONS.get(Role(role), frozenset())


# What each permission lets a person do, in the words README's role table uses
# (tests/test_newcomer.py keeps that table equal to ROLE_PERMISSIONS).
PERMISSION_TEXT: dict[Permission, str] = {
    Permission.VIEW_SCHEDULE: "see the board, day sheet and session details",
    Permission.VIEW_PATIENTS: "search and open patient records",
    Permission.EDIT_PATIENTS: "register and edit patients",
    Permission.BOOK: "book, reschedule and cancel sessions and series",
    Permission.CHECK_IN: "check patients in, mark no-shows",
    Permission.CLINICAL_STATUS: "start treatment and monitoring, record vitals, discharge",
    Permission.MANAGE_NOTIFICATIONS: "see the messages outbox, retry failed messages",
    Permission.CONFIGURE: "set up locations, chairs, staff, shifts, treatments, protocols",
    Permission.MANAGE_USERS: "manage users, roles and API tokens",
    Permission.VIEW_AUDIT: "read and export the audit trail",
    Permission.VIEW_REPORTS: "see and download the reports",
    Permission.MANAGE_INTEGRATIONS: "register webhook endpoints, resend deliveries",
}
