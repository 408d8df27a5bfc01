"""impact of world changes: the "Needs rebooking" worklist

Revision ID: 0006_impact
Revises: 0005_security
"""

import sqlalchemy as sa
from alembic import op


revision = "0006_impact"
down_revision = "0005_security"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rebooking_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("change", sa.String(length=60), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=20), nullable=True),
        sa.Column("override_reason", sa.String(length=300), nullable=True),
        sa.Column("overridden_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_rebooking_entry_appointment_id_appointment"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_rebooking_entry_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["overridden_by_id"],
            ["user.id"],
            name=op.f("fk_rebooking_entry_overridden_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rebooking_entry")),
    )
    with op.batch_alter_table("rebooking_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_rebooking_entry_appointment_id", ["appointment_id"], unique=False
        )
        batch_op.create_index(
            "ux_rebooking_entry_open",
            ["appointment_id"],
            unique=True,
            sqlite_where=sa.text("resolved_at IS NULL"),
            postgresql_where=sa.text("resolved_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("rebooking_entry", schema=None) as batch_op:
        batch_op.drop_index("ux_rebooking_entry_open")
        batch_op.drop_index("ix_rebooking_entry_appointment_id")
    op.drop_table("rebooking_entry")
