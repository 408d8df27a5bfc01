"""reports: the ``manager`` role, and notifications indexed by due time

The messages report reads the notifications due in a date range, whatever their status
(``ix_notification_due_at``).

A manager reads the reports (``clinic.reports``) and the schedule and changes nothing. The
role column is a portable enum (a CHECK constraint, ``ck_user_role``): the CHECK gains the
new value.

SQLite cannot alter a CHECK, and rebuilding ``user`` with foreign keys enforced would run the
``ON DELETE`` actions of every table that references it (sessions, tokens, the ``created_by``
of appointments). Widening a CHECK leaves every stored row valid, which is the one change
SQLite documents as safe to make by editing the stored schema text
(https://sqlite.org/lang_altertable.html, "other kinds of table schema changes").

Revision ID: 0010_reports
Revises: 0009_webhooks
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_reports"
down_revision = "0009_webhooks"
branch_labels = None
depends_on = None

OLD_ROLES = ("admin", "receptionist", "nurse")
NEW_ROLES = (*OLD_ROLES, "manager")


def _check(roles: tuple[str, ...]) -> str:
    return "role IN ({})".format(", ".join(f"'{role}'" for role in roles))


def _set_roles(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_user_role"), "user", type_="check")
        op.create_check_constraint(op.f("ck_user_role"), "user", _check(new))
        return
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    changed = bind.execute(
        sa.text(
            "UPDATE sqlite_master SET sql = replace(sql, :old, :new)"
            " WHERE type = 'table' AND name = 'user' AND instr(sql, :old) > 0"
        ),
        {"old": f"CHECK ({_check(old)})", "new": f"CHECK ({_check(new)})"},
    ).rowcount
    bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    bind.exec_driver_sql("PRAGMA writable_schema = OFF")
    if changed != 1:
        raise RuntimeError("the user table's role CHECK was not where 0001 put it")


def upgrade():
    _set_roles(OLD_ROLES, NEW_ROLES)
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index("ix_notification_due_at", ["due_at"], unique=False)


def downgrade():
    managers = op.get_bind().execute(
        sa.text("SELECT count(*) FROM \"user\" WHERE role = 'manager'")
    )
    if managers.scalar_one():
        raise RuntimeError(
            "Manager accounts exist: change their role or delete them before downgrading."
        )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_due_at")
    _set_roles(NEW_ROLES, OLD_ROLES)
