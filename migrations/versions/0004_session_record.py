"""the session record: entries, day-of-care state, checkpoints and discharge limits

Revision ID: 0004_session_record
Revises: 0001
"""

import json

import sqlalchemy as sa
from alembic import op

revision = "0004_session_record"
down_revision = "0003_dose_spacing"
branch_labels = None
depends_on = None

DEFAULT_CHECKPOINTS = [
    {"label": "Baseline", "at": "before_start"},
    {"label": "Before discharge", "at": "before_discharge"},
]
DEFAULT_LIMITS = {
    "systolic_max": 160,
    "systolic_min": 90,
    "diastolic_max": 100,
    "heart_rate_max": 110,
    "heart_rate_min": 50,
    "spo2_min": 94,
}
IV_CHECKPOINTS = [
    {"label": "Baseline", "at": "before_start"},
    {"label": "15 min", "at": "after_start", "minutes": 15},
    {"label": "30 min", "at": "after_start", "minutes": 30},
    {"label": "End of infusion", "at": "after_start", "minutes": 45},
    {"label": "Before discharge", "at": "before_discharge"},
]
NASAL_CHECKPOINTS = [
    {"label": "Before dosing", "at": "before_start"},
    {"label": "40 min", "at": "after_start", "minutes": 40},
    {"label": "Before discharge", "at": "before_discharge"},
]


def upgrade():
    with op.batch_alter_table("treatment_type", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "checkpoints",
                sa.JSON(),
                nullable=False,
                server_default=sa.text(f"'{json.dumps(DEFAULT_CHECKPOINTS)}'"),
            )
        )
        batch_op.add_column(
            sa.Column("start_early_minutes", sa.Integer(), nullable=False, server_default="30")
        )
        batch_op.add_column(sa.Column("min_monitoring_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "discharge_limits",
                sa.JSON(),
                nullable=False,
                server_default=sa.text(f"'{json.dumps(DEFAULT_LIMITS)}'"),
            )
        )
        batch_op.add_column(
            sa.Column(
                "discharge_scale",
                sa.String(length=60),
                nullable=False,
                server_default="Modified Aldrete",
            )
        )
        batch_op.add_column(
            sa.Column("discharge_min_score", sa.Integer(), nullable=False, server_default="9")
        )
        batch_op.add_column(sa.Column("max_dose_mg", sa.Double(), nullable=True))
        batch_op.add_column(sa.Column("max_dose_mg_per_kg", sa.Double(), nullable=True))
    # Existing treatment types get the shipped protocol's checkpoints for their route.
    treatment = sa.table(
        "treatment_type",
        sa.column("route", sa.String),
        sa.column("checkpoints", sa.JSON),
        sa.column("min_monitoring_minutes", sa.Integer),
        sa.column("max_dose_mg", sa.Float),
        sa.column("max_dose_mg_per_kg", sa.Float),
    )
    op.execute(
        treatment.update()
        .where(treatment.c.route == "iv")
        .values(
            checkpoints=IV_CHECKPOINTS,
            min_monitoring_minutes=30,
            max_dose_mg=150,
            max_dose_mg_per_kg=1.0,
        )
    )
    op.execute(
        treatment.update()
        .where(treatment.c.route == "nasal")
        .values(checkpoints=NASAL_CHECKPOINTS, min_monitoring_minutes=120, max_dose_mg=84)
    )

    op.create_table(
        "session_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("treatment_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("override_conditions", sa.JSON(), nullable=True),
        sa.Column("override_reason", sa.String(length=300), nullable=True),
        sa.Column("override_by_id", sa.Integer(), nullable=True),
        sa.Column("override_by", sa.String(length=80), nullable=True),
        sa.Column("overridden_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rems_submitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rems_reference", sa.String(length=60), nullable=True),
        sa.Column("rems_submitted_by", sa.String(length=80), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_session_record_appointment_id_appointment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["override_by_id"],
            ["user.id"],
            name=op.f("fk_session_record_override_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_record")),
        sa.UniqueConstraint("appointment_id", name=op.f("uq_session_record_appointment_id")),
    )
    op.create_table(
        "record_entry",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "dose",
                "vitals",
                "observation",
                "note",
                "assessment",
                name="entrykind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_by", sa.String(length=80), nullable=False),
        sa.Column("amends_id", sa.Integer(), nullable=True),
        sa.Column("amend_reason", sa.String(length=300), nullable=True),
        sa.Column("weight_kg", sa.Double(), nullable=True),
        sa.Column("mg_per_kg", sa.Double(), nullable=True),
        sa.Column("total_mg", sa.Double(), nullable=True),
        sa.Column("infusion_ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("devices", sa.Integer(), nullable=True),
        sa.Column("device_times", sa.JSON(), nullable=True),
        sa.Column("systolic", sa.Integer(), nullable=True),
        sa.Column("diastolic", sa.Integer(), nullable=True),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("respiratory_rate", sa.Integer(), nullable=True),
        sa.Column("scale", sa.String(length=60), nullable=True),
        sa.Column("sedation_level", sa.Integer(), nullable=True),
        sa.Column("dissociation_level", sa.Integer(), nullable=True),
        sa.Column("side_effects", sa.JSON(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "systolic IS NULL OR (systolic BETWEEN 40 AND 300 AND diastolic < systolic)",
            name=op.f("ck_record_entry_blood_pressure_plausible"),
        ),
        sa.CheckConstraint(
            "heart_rate IS NULL OR heart_rate BETWEEN 20 AND 250",
            name=op.f("ck_record_entry_heart_rate_plausible"),
        ),
        sa.CheckConstraint(
            "spo2 IS NULL OR spo2 BETWEEN 50 AND 100", name=op.f("ck_record_entry_spo2_plausible")
        ),
        sa.ForeignKeyConstraint(
            ["amends_id"],
            ["record_entry.id"],
            name=op.f("fk_record_entry_amends_id_record_entry"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointment.id"],
            name=op.f("fk_record_entry_appointment_id_appointment"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user.id"],
            name=op.f("fk_record_entry_recorded_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_record_entry")),
    )
    with op.batch_alter_table("record_entry", schema=None) as batch_op:
        batch_op.create_index(
            "ix_record_entry_appointment_taken", ["appointment_id", "taken_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_record_entry_amends_id"), ["amends_id"], unique=True)


def downgrade():
    with op.batch_alter_table("record_entry", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_record_entry_amends_id"))
        batch_op.drop_index("ix_record_entry_appointment_taken")
    op.drop_table("record_entry")
    op.drop_table("session_record")
    with op.batch_alter_table("treatment_type", schema=None) as batch_op:
        for column in (
            "max_dose_mg_per_kg",
            "max_dose_mg",
            "discharge_min_score",
            "discharge_scale",
            "discharge_limits",
            "min_monitoring_minutes",
            "start_early_minutes",
            "checkpoints",
        ):
            batch_op.drop_column(column)
